"""The paired result of a comparison: a record the training core computes and the UI shows.

The UI's view models (``StoreView``, ``LaneView``, ...) live in ``widgets/model.py``."""

from __future__ import annotations

import msgspec

from training.seeds.bounds import Count, Text


class PairedResult(msgspec.Struct, frozen=True, gc=False):
    """A lane against the reference lane over paired episodes (same seed each pair).

    It travels inside an event's free-form ``data`` as a plain object, hence ``to_dict`` and
    ``from_dict`` (the decoder's own checks, through ``msgspec.convert``)."""

    lane: Text
    reference: Text
    episodes: Count
    mean_difference: float  # accuracy points, lane minus reference
    ci_low: float | None  # 95 % CI of the mean difference; None with fewer than 2 pairs
    ci_high: float | None
    wins: Count
    ties: Count
    losses: Count
    sign_test_p: float
    # Power (``training.runs.stats.paired_power``): the paired sd, the smallest effect these
    # episodes detect (two-sided 0.05, power 0.8) and the episodes that detect ``effect`` points.
    # None where not computable (fewer than 2 pairs, no spread) and in records from before them.
    sd: float | None = None
    effect: float | None = None
    detectable_effect: float | None = None
    episodes_needed: int | None = None
    # The anytime-valid 95 % confidence sequence of the mean difference (None: not yet bounded),
    # and whether it excludes 0.
    cs_low: float | None = None
    cs_high: float | None = None
    decided: bool = False

    def to_dict(self) -> dict:
        return msgspec.to_builtins(self)

    @classmethod
    def from_dict(cls, d: dict) -> PairedResult:
        return msgspec.convert(d, cls)

    def ci_text(self, digits: int = 2, label: str = "") -> str:
        """ " [+0.12, +1.98]" (" [95% CI +0.12, +1.98]" with that ``label``); "" with no interval."""
        if self.ci_low is None or self.ci_high is None:
            return ""
        return f" [{label}{self.ci_low:+.{digits}f}, {self.ci_high:+.{digits}f}]"

    def difference_text(self, ci_digits: int = 2) -> str:
        """The mean paired difference and its interval: "+1.05 [+0.12, +1.98]"."""
        return f"{self.mean_difference:+.2f}{self.ci_text(ci_digits)}"

    @property
    def no_spread(self) -> bool:
        """Every paired difference is 0: the lane played exactly as the reference did."""
        return self.sd == 0.0 and self.mean_difference == 0.0 and self.episodes >= 2

    @property
    def status(self) -> str:
        """ "decided", "undecided", or "" in records from before confidence sequences."""
        if self.effect is None:
            return ""
        return "decided" if self.decided else "undecided"

    def cs_text(self, digits: int = 2) -> str:
        """ "anytime 95% CS [+0.12, +1.98]", or why there is none yet."""
        if self.cs_low is None or self.cs_high is None:
            return "anytime 95% CS not bounded yet"
        return f"anytime 95% CS [{self.cs_low:+.{digits}f}, {self.cs_high:+.{digits}f}]"

    def power_text(self) -> str:
        """ "sd 1.05, detects ±0.69, ±0.5 needs 37 episodes" ("" in records without power)."""
        if self.effect is None:
            return ""
        if self.sd is None:
            return "sd, detectable effect and episodes needed after 2 episodes"
        if self.sd == 0.0:
            return "sd 0: no spread to size a test on"
        detects = f"±{self.detectable_effect:.2f}" if self.detectable_effect is not None else "—"
        needed = (
            f"{self.episodes_needed} episodes" if self.episodes_needed is not None else "too many"
        )
        return f"sd {self.sd:.2f}, detects {detects}, ±{self.effect:g} needs {needed}"

    def verdict_text(self) -> str:
        """ "decided: ..." or "undecided: ..." with the episodes the data says are still needed
        ("" in records from before confidence sequences)."""
        if self.effect is None:
            return ""
        if self.decided:
            return f"decided: {self.cs_text()} excludes 0"
        if self.no_spread:
            return (
                f"undecided: all {self.episodes} paired differences are 0 (every episode ended "
                "level with the reference), so there is nothing to decide"
            )
        if self.episodes_needed is None:
            more = ""
        elif self.episodes_needed > self.episodes:
            more = f", ~{self.episodes_needed - self.episodes} more episodes for ±{self.effect:g}"
        else:
            more = f", enough episodes to detect ±{self.effect:g}"
        return f"undecided: {self.cs_text()}{more}"

    def summary(self) -> str:
        ci = self.ci_text(label="95% CI ") or " [CI needs 2+ episodes]"
        text = (
            f"{self.lane} vs {self.reference}: {self.mean_difference:+.2f} points{ci}, "
            f"W/T/L {self.wins}/{self.ties}/{self.losses}, sign test p={self.sign_test_p:.3f} "
            f"over {self.episodes} episode(s)"
        )
        if self.effect is not None:
            text += f"; {self.power_text()}; {self.verdict_text()}"
        return text
