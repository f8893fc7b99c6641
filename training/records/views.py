"""Derived views the store hands to widgets: plain, frozen, torch-free."""

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

    def summary(self) -> str:
        ci = (
            f" [95% CI {self.ci_low:+.2f}, {self.ci_high:+.2f}]"
            if self.ci_low is not None and self.ci_high is not None
            else " [CI needs 2+ episodes]"
        )
        return (
            f"{self.lane} vs {self.reference}: {self.mean_difference:+.2f} points{ci}, "
            f"W/T/L {self.wins}/{self.ties}/{self.losses}, sign test p={self.sign_test_p:.3f} "
            f"over {self.episodes} episode(s)"
        )


@dataclass(frozen=True)
class SaturationRow:
    """One normalised seed feature of one lane: what the agent saw last, and how often recently
    the raw value sat at a clip bound (the feature then stops telling the agent anything)."""

    lane: str
    feature: str
    raw_field: str
    raw: float
    normalised: float
    bound: str  # e.g. "≤10", "±10", "—" when the normalisation does not clip
    pegged_share: float  # of the recent window, 0..1
    window: int  # epochs in the window
    raw_median: float
    warning: str = ""  # non-empty when a constant blinds the agent


@dataclass(frozen=True)
class InputOutlier:
    """An IQL input far outside the distribution the checkpoint was trained on."""

    lane: str
    feature: str
    raw: float
    z: float
