"""Derived views the store hands to widgets: plain, frozen, torch-free."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from training.records.decision import DecisionRecord
from training.records.run import EpochRecord, RunEvent, RunInfo
from training.records.seed import SeedRecord


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
    """An IQL input far outside the distribution the checkpoint was trained on: by its z-score
    under our checkpoint's statistics, or, for a plan-format model (no statistics), by how many
    range-widths it lies beyond the range esper-lite's pipeline produced."""

    lane: str
    feature: str
    raw: float
    z: float  # the z-score, or the signed range-widths when ``measure`` is "range"
    measure: str = "z"


@dataclass(frozen=True)
class LaneView:
    """One lane as the UI sees it: bounded history of the current episode plus derived stats."""

    name: str
    kind: str
    model_path: str | None
    state_dim: int | None
    telemetry_type: str | None
    epochs: tuple[EpochRecord, ...]  # this episode, oldest first
    finals: tuple[float, ...]  # final accuracy of each finished episode
    seed_history: Mapping[int, tuple[SeedRecord, ...]]  # slot index -> recent records, this episode
    saturation: tuple[SaturationRow, ...]
    outliers: tuple[InputOutlier, ...]  # latest decision's inputs with |z| > 3
    pending: Mapping[int, str]  # slot -> operator command applied since the last epoch record
    fossilized: int = 0  # seeds fossilised this episode, counted once per seed id, all of it
    culled: int = 0  # seeds culled this episode (however long: not limited to the history)

    @property
    def latest(self) -> EpochRecord | None:
        return self.epochs[-1] if self.epochs else None


@dataclass(frozen=True)
class StoreView:
    """Everything the UI draws, immutable: built by ``esper_tui.store.TelemetryStore.view()``."""

    version: int
    run: RunInfo | None
    status: str
    lanes: tuple[LaneView, ...]
    decisions: tuple[DecisionRecord, ...]
    events: tuple[RunEvent, ...]
    paired: tuple[PairedResult, ...]
    episode: int
    epoch: int
    corrupt_lines: int
    last_record_at: float | None  # store clock; the UI shows data freshness from it
    crash: RunEvent | None
    finished: RunEvent | None
    source: str  # "live", "replay" or "follow"

    def lane(self, name: str) -> LaneView | None:
        return next((lane for lane in self.lanes if lane.name == name), None)
