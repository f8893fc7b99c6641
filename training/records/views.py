"""The paired result of a comparison: a record the training core computes and the UI shows.

The UI's view models (``StoreView``, ``LaneView``, ...) live in ``widgets/model.py``."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class PairedResult:
    """A lane against the reference lane over paired episodes (same seed each pair)."""

    lane: str
    reference: str
    episodes: int
    mean_difference: float  # accuracy points, lane minus reference
    ci_low: float | None  # 95 % CI of the mean difference; None with fewer than 2 pairs
    ci_high: float | None
    wins: int
    ties: int
    losses: int
    sign_test_p: float

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> PairedResult:
        return cls(**d)

    def ci_text(self, digits: int = 2, label: str = "") -> str:
        """ " [+0.12, +1.98]" (" [95% CI +0.12, +1.98]" with that ``label``); "" with no interval."""
        if self.ci_low is None or self.ci_high is None:
            return ""
        return f" [{label}{self.ci_low:+.{digits}f}, {self.ci_high:+.{digits}f}]"

    def difference_text(self, ci_digits: int = 2) -> str:
        """The mean paired difference and its interval: "+1.05 [+0.12, +1.98]"."""
        return f"{self.mean_difference:+.2f}{self.ci_text(ci_digits)}"

    def summary(self) -> str:
        ci = self.ci_text(label="95% CI ") or " [CI needs 2+ episodes]"
        return (
            f"{self.lane} vs {self.reference}: {self.mean_difference:+.2f} points{ci}, "
            f"W/T/L {self.wins}/{self.ties}/{self.losses}, sign test p={self.sign_test_p:.3f} "
            f"over {self.episodes} episode(s)"
        )
