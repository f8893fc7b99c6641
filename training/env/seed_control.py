"""What changes a seed in the environment: the lifecycle it runs at each epoch's start and end,
a policy's action and an operator's command, and the seed optimizers that follow each move.

``SeedControl`` is a part of ``MorphogeneticEnv`` (which inherits it), kept apart because it
decides what happens to the seeds while the environment trains and observes them; the state it
shares with the environment is declared below.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from training.env.actions import ACTION_DIM, Action, Command, CommandType
from training.env.config import EnvConfig
from training.env.data import ImageTask
from training.env.signals import SignalTracker
from training.seeds.gates import GateResult
from training.seeds.gradients import NOT_MEASURED, GradientStats
from training.seeds.host import MorphogeneticModel
from training.seeds.lifecycle import SeedStage
from training.seeds.slot import Refusal, SeedSlot


@dataclass(frozen=True)
class ActionOutcome:
    action: int
    executed: bool
    reason: str
    slot: int | None = None
    gate: GateResult | None = None


@dataclass(frozen=True)
class CommandOutcome:
    command: Command
    applied: bool
    reason: str


class SeedControl:
    """The seeds' side of ``MorphogeneticEnv``: epoch-boundary transitions, actions, commands."""

    config: EnvConfig
    task: ImageTask
    model: MorphogeneticModel
    tracker: SignalTracker
    host_optimizer: torch.optim.Optimizer
    seed_optimizers: dict[int, torch.optim.Optimizer]
    epoch: int
    _gradients: dict[int, GradientStats]

    # ----------------------------------------------------------------------- lifecycle
    def _begin_epoch(self, epoch: int) -> None:
        for slot in self.model.seed_slots():
            if slot.stage is SeedStage.GERMINATED and not slot.is_paused:
                self._move(slot, SeedStage.TRAINING, epoch, "germinated seed starts training")

    def _end_epoch(self, val_acc: float, stats: dict[int, GradientStats]) -> None:
        epoch, cfg = self.epoch, self.config.lifecycle
        self._gradients = {}
        for slot in self.model.seed_slots():
            state = slot.state
            if state is None:
                continue
            g = stats.get(slot.index, NOT_MEASURED)
            self._gradients[slot.index] = g
            state.gradients_measured = g.measured
            state.gradient_epochs += int(g.measured)
            state.metrics.record_accuracy(val_acc, advance_clock=not state.is_paused)
            if not state.is_paused:
                m = state.metrics
                if state.stage is SeedStage.BLENDING and state.alpha >= 1.0:
                    self._move(slot, SeedStage.SHADOWING, epoch, "alpha reached 1")
                elif (
                    state.stage is SeedStage.SHADOWING
                    and m.epochs_in_current_stage >= cfg.shadow_epochs
                ):
                    self._move(slot, SeedStage.PROBATIONARY, epoch, "shadowing complete")
                elif state.stage is SeedStage.CULLED:
                    self._move(slot, SeedStage.EMBARGOED, epoch, "embargo begins")
                elif (
                    state.stage is SeedStage.EMBARGOED
                    and m.epochs_in_current_stage >= cfg.embargo_epochs
                ):
                    self._move(slot, SeedStage.RESETTING, epoch, "embargo served")
                elif state.stage is SeedStage.RESETTING:
                    self._move(slot, SeedStage.DORMANT, epoch, "slot reset")
                    continue
            t = state.telemetry
            if g.measured:
                state.sync_telemetry(
                    g.gradient_norm,
                    g.gradient_health,
                    g.has_vanishing,
                    g.has_exploding,
                    epoch,
                    self.config.max_epochs,
                )
            else:  # the last measured norm and health are kept (stale, flagged "not measured"
                # in the record); no gradient this epoch means no vanishing/exploding event either
                state.sync_telemetry(
                    t.gradient_norm, t.gradient_health, False, False, epoch, self.config.max_epochs
                )

    def _move(self, slot: SeedSlot, to: SeedStage, epoch: int, reason: str) -> None:
        try:
            slot.move(to, epoch, reason, self.config.lifecycle)
        except Refusal:
            return  # the failed gate is kept on the seed and shown; the seed stays where it is
        if to in (SeedStage.CULLED, SeedStage.FOSSILIZED, SeedStage.DORMANT):
            self._release_optimizer(slot, join_host=to is SeedStage.FOSSILIZED)

    def _release_optimizer(self, slot: SeedSlot, join_host: bool) -> None:
        if not join_host and slot.state is not None:
            slot.state.gradients_measured = False  # the module is gone: nothing left to measure
        opt = self.seed_optimizers.pop(slot.index, None)
        if opt is not None:
            opt.zero_grad(set_to_none=True)
            opt.state.clear()
        if join_host and slot.seed is not None:
            self.host_optimizer.add_param_group({"params": list(slot.seed.parameters())})

    # ----------------------------------------------------------------------- decisions
    def action_mask(self) -> tuple[bool, ...]:
        """What a policy may choose now. ADVANCE/CULL act on the focus seed."""
        model = self.model
        focus = model.focus_seed()
        can_germinate = model.first_dormant() is not None
        movable = focus is not None and not focus.is_paused
        mask = [False] * ACTION_DIM
        mask[Action.WAIT] = True
        for a in (
            Action.GERMINATE_CONV,
            Action.GERMINATE_ATTENTION,
            Action.GERMINATE_NORM,
            Action.GERMINATE_DEPTHWISE,
        ):
            mask[a] = can_germinate
        mask[Action.ADVANCE] = (
            movable
            and focus is not None
            and focus.stage in (SeedStage.TRAINING, SeedStage.PROBATIONARY)
        )
        mask[Action.CULL] = movable
        return tuple(mask)

    def apply(self, action: int | Action) -> ActionOutcome:
        """Carry out a policy's action. Invalid or refused actions change nothing; never raises."""
        try:
            act = Action(int(action))
        except (ValueError, TypeError):
            return ActionOutcome(
                int(action) if isinstance(action, int) else -1, False, f"unknown action {action!r}"
            )
        model, epoch = self.model, self.epoch
        try:
            if act is Action.WAIT:
                return ActionOutcome(act, True, "waited")
            if (blueprint := act.get_blueprint_id()) is not None:  # a GERMINATE action
                slot, gate = model.germinate(
                    blueprint, epoch, self.config.seed, self.tracker.last.val_accuracy
                )
                assert slot.state is not None and slot.seed is not None  # germinate fills the slot
                # the plan's defaults for the gradient signals, flagged "not measured" until it trains
                slot.state.sync_telemetry(0.0, 1.0, False, False, epoch, self.config.max_epochs)
                self.seed_optimizers[slot.index] = torch.optim.Adam(
                    slot.seed.parameters(), lr=self.config.seed_lr
                )
                return ActionOutcome(
                    act, True, f"germinated {blueprint} in {slot.slot_id}", slot.index, gate
                )
            focus = model.focus_seed()
            if focus is None:
                return ActionOutcome(act, False, f"no live seed to {act.name.lower()}")
            if act is Action.ADVANCE:
                gate = model.advance(focus, epoch)
                if focus.stage is SeedStage.BLENDING:
                    focus.start_blending(
                        self.config.lifecycle.blend_epochs * self.task.batches_per_epoch
                    )
                elif focus.stage is SeedStage.FOSSILIZED:
                    self._release_optimizer(focus, join_host=True)
                return ActionOutcome(
                    act, True, f"{focus.slot_id} → {focus.stage.name}", focus.index, gate
                )
            gate = model.cull(focus, epoch)
            self._release_optimizer(focus, join_host=False)
            return ActionOutcome(act, True, f"culled {focus.slot_id}", focus.index, gate)
        except Refusal as refusal:
            focus = model.focus_seed()
            last_gate = (
                focus.state.last_gate if focus is not None and focus.state is not None else None
            )
            return ActionOutcome(
                act, False, str(refusal), None if focus is None else focus.index, last_gate
            )

    def apply_command(self, command: Command) -> CommandOutcome:
        """An operator command on this lane's seeds; refusals come back with a reason."""
        try:
            if command.type in (CommandType.PAUSE_SEED, CommandType.RESUME_SEED):
                assert command.slot is not None  # Command.__post_init__: seed commands name a slot
                slot = self.model.slot(command.slot)
                slot.set_paused(command.type is CommandType.PAUSE_SEED)
                verb = "paused" if command.type is CommandType.PAUSE_SEED else "resumed"
                return CommandOutcome(command, True, f"{verb} the seed in {slot.slot_id}")
            if command.type is CommandType.CULL:
                assert command.slot is not None  # Command.__post_init__: seed commands name a slot
                slot = self.model.slot(command.slot)
                self.model.cull(slot, self.epoch, by_operator=True)
                self._release_optimizer(slot, join_host=False)
                return CommandOutcome(command, True, f"culled the seed in {slot.slot_id}")
        except Refusal as refusal:
            return CommandOutcome(command, False, str(refusal))
        return CommandOutcome(command, False, f"{command.type.value} is not a seed command")
