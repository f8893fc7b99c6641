"""The view models the panels render: plain, frozen, torch-free and Textual-free.

``esper_tui.store.TelemetryStore`` fills them from the records; widgets only read them. They
live beside the widgets because only the UI uses them (the training core never does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from training.records import (
    DecisionRecord,
    EpochRecord,
    PairedResult,
    RunEvent,
    RunInfo,
    SeedRecord,
    Vitals,
)

OUTLIER_Z = 3.0  # an IQL input this many standard deviations from its training mean is an outlier
# A plan-format input (no statistics) is "far outside" its training range when it lies more than
# this many range-widths beyond esper-lite's own range (the decisions' ``range_excess``): epoch
# 200 of a 100-epoch range is 1 width out; 0.2 where 5 was learned is not out at all, which is
# why the features themselves must be the plan's.
PLAN_RANGE_WIDTHS = 1.0


class RunStatus(StrEnum):
    """Where the run stands, as far as its records say."""

    WAITING = "WAITING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    FINISHED = "FINISHED"
    CRASHED = "CRASHED"
    STOPPED = "STOPPED"
    ENDED = (
        "ENDED"  # a recording that ends without an ending event: its writer stopped or was killed
    )
    NO_RUN = "NO_RUN"  # a recording with no usable run line


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


def input_outliers(decision: DecisionRecord, names: tuple[str, ...]) -> tuple[InputOutlier, ...]:
    """The decision's inputs far outside its model's training distribution, worst first: by
    z-score (our checkpoints) or by range-widths beyond esper-lite's range (plan format)."""
    if decision.features is None:
        return ()
    if decision.z_scores is not None:
        scores, limit, measure = decision.z_scores, OUTLIER_Z, "z"
    elif decision.range_excess is not None:
        scores, limit, measure = decision.range_excess, PLAN_RANGE_WIDTHS, "range"
    else:
        return ()
    out = [
        InputOutlier(decision.lane, names[i] if i < len(names) else f"x{i}", raw, z, measure)
        for i, (raw, z) in enumerate(zip(decision.features, scores, strict=False))
        if abs(z) > limit
    ]
    return tuple(sorted(out, key=lambda o: -abs(o.z)))


@dataclass(frozen=True)
class EpisodeCurve:
    """One finished episode of one lane, epoch by epoch (the charts draw these under the
    current episode)."""

    episode: int
    epochs: tuple[int, ...]
    val_accuracy: tuple[float, ...]
    val_loss: tuple[float, ...]


@dataclass(frozen=True)
class FocusPoint:
    """The focus seed (the one the agent's seed features describe) at the end of an epoch."""

    epoch: int
    seed_id: str | None  # None: no live seed, the agent saw a dormant slot
    alpha: float
    gradient_norm: float | None  # None: not measured this epoch


@dataclass(frozen=True)
class Agreement:
    """How often a lane's choice equalled the reference's on the same state (the heuristic's
    in head-to-head, the executing lane's in shadow mode)."""

    agreed: int = 0
    decided: int = 0
    episode_agreed: int = 0
    episode_decided: int = 0

    @property
    def rate(self) -> float | None:
        return self.agreed / self.decided if self.decided else None

    @property
    def episode_rate(self) -> float | None:
        return self.episode_agreed / self.episode_decided if self.episode_decided else None


# What the event log holds, in the order its filter offers them: (kind, what it covers).
LOG_KINDS: tuple[tuple[str, str], ...] = (
    ("run", "started, finished, stopped, crashed"),
    ("pause", "training paused and resumed"),
    ("command", "operator commands applied"),
    ("refused", "operator commands refused, with the reason"),
    ("stage", "seed stage transitions and their gate"),
    ("gate", "a quality gate failed (the seed stayed where it was)"),
    ("cull", "seeds culled"),
    ("fossil", "seeds fossilized"),
    ("episode", "episodes finished, with the paired result so far"),
    ("failed", "episodes that failed"),
    ("unreadable", "record lines skipped as unreadable"),
    ("record", "the record file could not be written"),
)


@dataclass(frozen=True)
class LogEntry:
    """One line of the event log: something that happened to the run, a lane or a seed, told
    in full (the strip on the main screen and the log screen show the same words)."""

    seq: int  # order of arrival in this store
    kind: str  # one of LOG_KINDS
    text: str
    episode: int | None = None
    epoch: int | None = None
    lane: str | None = None
    slot: int | None = None  # set when the event is about a seed: enter opens its detail
    level: str = "info"  # info, good, warn or bad: how the line is coloured


PHASES = ("loading", "training", "validating", "deciding")


@dataclass(frozen=True)
class Progress:
    """Where the trainer is inside an epoch. Live only: it is not in the records, so a replay
    or a follow has none (their header shows epochs and time per epoch)."""

    phase: str  # one of PHASES
    lane: str = ""
    episode: int = 0
    epoch: int = 0  # the epoch in progress
    batch: int = 0  # batches done this epoch
    batches: int = 0  # batches in an epoch (0: unknown)


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
    outliers: tuple[InputOutlier, ...]  # latest decision's inputs with |z| > OUTLIER_Z
    pending: Mapping[int, str]  # slot -> operator command applied since the last epoch record
    fossilized: int = 0  # seeds fossilised this episode, counted once per seed id, all of it
    culled: int = 0  # seeds culled this episode (however long: not limited to the history)
    past: tuple[EpisodeCurve, ...] = ()  # finished episodes, oldest first (bounded)
    focus: tuple[FocusPoint, ...] = ()  # the focus seed per epoch, this episode
    agreement: Agreement = Agreement()
    advising: bool = False  # shadow mode: the lane only advises; its choices are never executed
    choices: tuple[DecisionRecord, ...] = ()  # an advising lane's decisions, this episode
    final_params: tuple[int, ...] = ()  # seed parameters added by each finished episode's end
    host_params: int = 0  # the host's parameters (the share the seeds add is of this)

    @property
    def latest(self) -> EpochRecord | None:
        return self.epochs[-1] if self.epochs else None


@dataclass(frozen=True)
class StoreView:
    """Everything the UI draws, immutable: built by ``esper_tui.store.TelemetryStore.view()``."""

    version: int
    run: RunInfo | None
    status: RunStatus
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
    record_seconds: float = 0.0  # training time the records account for (sum of epoch wall times)
    generation: int = 0  # how many times the store was reset (a followed file replaced): a new run
    vitals: Vitals | None = None  # what the newest epoch record carried (None: none carried any)
    vitals_history: tuple[
        Vitals, ...
    ] = ()  # distinct samples, oldest first by their time (bounded)
    log: tuple[LogEntry, ...] = ()  # the event log, oldest first (bounded)
    ending: str = (
        ""  # a recording read to its end that does not say how it ended: says so, in a sentence
    )

    def lane(self, name: str) -> LaneView | None:
        return next((lane for lane in self.lanes if lane.name == name), None)

    def feature_names(self, lane: str) -> tuple[str, ...]:
        """The names of a lane's policy inputs, as its run record gives them."""
        info = next((li for li in (self.run.lanes if self.run else ()) if li.name == lane), None)
        return info.feature_names if info is not None else ()

    @property
    def agreement(self) -> Agreement | None:
        """All lanes' agreement together (None when no lane has a reference to agree with)."""
        lanes = [lane.agreement for lane in self.lanes if lane.agreement.decided]
        if not lanes:
            return None
        return Agreement(
            sum(a.agreed for a in lanes),
            sum(a.decided for a in lanes),
            sum(a.episode_agreed for a in lanes),
            sum(a.episode_decided for a in lanes),
        )
