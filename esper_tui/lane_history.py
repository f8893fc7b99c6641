"""What the store keeps of one lane while records arrive, and the ``LaneView`` drawn from it.

One ``LaneHistory`` per lane: the current episode's epochs and seed records (bounded), the
finished episodes' curves and finals, the focus seed per epoch, the seeds fossilised and culled
this episode, agreement with the reference, and the operator commands not yet confirmed by an
epoch record. The store holds the lock while it calls these; no Textual here.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from types import MappingProxyType

from esper_tui.saturation import SaturationTracker, focus_record
from training.records import DecisionRecord, EpochRecord
from training.seeds.lifecycle import SeedStage, is_failure_stage
from widgets.model import Agreement, EpisodeCurve, FocusPoint, InputOutlier, LaneView

EPOCH_HISTORY = 200  # epochs kept per lane (the current episode's curve)
SEED_HISTORY = 60  # records kept per lane and slot (alpha / gradient history, detail screen)
PAST_EPISODES = 20  # finished episodes' curves kept per lane (the charts draw them)


@dataclass
class LaneHistory:
    """What the store keeps of one lane while records arrive; views are built from it."""

    name: str
    kind: str = "heuristic"
    model_path: str | None = None
    state_dim: int | None = None
    telemetry_type: str | None = None
    feature_names: tuple[str, ...] = ()
    episode: int = 0
    epochs: deque = field(default_factory=lambda: deque(maxlen=EPOCH_HISTORY))
    finals: list[float] = field(default_factory=list)
    seeds: dict[int, deque] = field(default_factory=dict)
    saturation: SaturationTracker = field(init=False)
    outliers: tuple[InputOutlier, ...] = ()
    pending: dict[int, str] = field(default_factory=dict)
    fossilized: set[str] = field(default_factory=set)  # seed ids, this episode
    culled: set[str] = field(default_factory=set)
    past: deque = field(default_factory=lambda: deque(maxlen=PAST_EPISODES))
    focus: deque = field(default_factory=lambda: deque(maxlen=EPOCH_HISTORY))
    agreed: int = 0
    decided: int = 0
    agreement_episode: int = 0
    episode_agreed: int = 0
    episode_decided: int = 0
    choices: deque = field(default_factory=lambda: deque(maxlen=EPOCH_HISTORY))  # advising lanes
    final_params: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.saturation = SaturationTracker(self.name)

    def add_epoch(self, record: EpochRecord) -> None:
        """One epoch record of this lane: a new episode first keeps the old one's curve and
        forgets its seeds; then the epoch, its focus seed and its seed records are kept."""
        if record.episode != self.episode:
            if self.epochs:
                self.past.append(
                    EpisodeCurve(
                        self.episode,
                        tuple(r.epoch for r in self.epochs),
                        tuple(r.val_accuracy for r in self.epochs),
                        tuple(r.val_loss for r in self.epochs),
                    )
                )
            self.focus.clear()
            self.episode = record.episode
            self.epochs.clear()
            self.seeds.clear()
            self.saturation.reset()
            self.fossilized.clear()
            self.culled.clear()
        self.epochs.append(record)
        focus = focus_record(record.seeds)
        self.focus.append(
            FocusPoint(record.epoch, None, 0.0, None)
            if focus is None
            else FocusPoint(
                record.epoch,
                focus.seed_id,
                focus.alpha,
                focus.telemetry.gradient_norm if focus.gradients_measured else None,
            )
        )
        for seed in record.seeds:
            self.seeds.setdefault(seed.slot_index, deque(maxlen=SEED_HISTORY)).append(seed)
            if seed.seed_id is not None:
                if seed.stage == SeedStage.FOSSILIZED:
                    self.fossilized.add(seed.seed_id)
                elif is_failure_stage(seed.stage):
                    self.culled.add(seed.seed_id)
        self.saturation.add(record)
        self.pending.clear()  # the record now tells the truth about every slot

    def add_final(self, accuracy: float, episode: int | None) -> None:
        """The final accuracy of a finished episode, and the seed parameters it ended with (0
        when this lane's newest epoch is not of that episode)."""
        self.finals.append(accuracy)
        latest = self.epochs[-1] if self.epochs else None
        ended = latest is not None and latest.episode == episode
        self.final_params.append(latest.seed_params if ended and latest is not None else 0)

    def count_agreement(self, decision: DecisionRecord) -> None:
        if decision.episode != self.agreement_episode:
            self.agreement_episode, self.episode_agreed, self.episode_decided = (
                decision.episode,
                0,
                0,
            )
            self.choices.clear()
        agrees = decision.agrees
        if agrees is None:
            return
        self.agreed += agrees
        self.decided += 1
        self.episode_agreed += agrees
        self.episode_decided += 1

    def agreement(self) -> Agreement:
        return Agreement(self.agreed, self.decided, self.episode_agreed, self.episode_decided)

    def view(self, advising: bool) -> LaneView:
        """An immutable copy of what is kept (``advising``: shadow mode, the lane only advises)."""
        return LaneView(
            self.name,
            self.kind,
            self.model_path,
            self.state_dim,
            self.telemetry_type,
            tuple(self.epochs),
            tuple(self.finals),
            MappingProxyType({slot: tuple(h) for slot, h in sorted(self.seeds.items())}),
            self.saturation.rows(),
            self.outliers,
            MappingProxyType(dict(self.pending)),
            len(self.fossilized),
            len(self.culled),
            tuple(self.past),
            tuple(self.focus),
            self.agreement(),
            advising,
            tuple(self.choices),
            tuple(self.final_params),
            self.epochs[-1].host_params if self.epochs else 0,
        )
