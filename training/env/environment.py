"""One controlled training run: a host with seed slots, trained epoch by epoch, that a policy
steers with one action per epoch and an operator with commands between batches.

Everything per batch stays on the device; each epoch is read back once, at its end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from training.env.config import EnvConfig
from training.env.data import ImageTask, load_task
from training.env.diagnostics import last_batch_gradients, sharpness_of
from training.env.seed_control import SeedControl
from training.env.signals import Diagnostics, SignalTracker, TrainingSignals, TrainingSnapshot
from training.records import SeedRecord
from training.seeds.gradients import NOT_MEASURED, EpochGradientTelemetry, GradientStats
from training.seeds.host import HostCNN, MorphogeneticModel
from training.seeds.lifecycle import SeedStage
from training.seeds.telemetry import SeedTelemetry

__all__ = [
    "EnvConfig",
    "EpochResult",
    "MorphogeneticEnv",
    "StopEpoch",
]


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    train_loss: float
    val_loss: float
    train_accuracy: float
    val_accuracy: float
    reward: float
    wall_seconds: float
    samples_per_second: float  # per second of training and validation; operator pauses excluded
    gradients: dict[int, GradientStats]
    done: bool


class StopEpoch(Exception):
    """Raised by a batch hook to abandon the epoch at a batch boundary."""


BatchHook = Callable[["MorphogeneticEnv", int], None]
PhaseHook = Callable[[str], None]  # told "validating" once the epoch's batches are done


class MorphogeneticEnv(SeedControl):
    """A host CNN with seed slots on one image task. Identical configs give identical numbers.
    What happens to its seeds (lifecycle, actions, commands) is ``SeedControl``'s."""

    def __init__(self, config: EnvConfig, task: ImageTask | None = None) -> None:
        self.config = config
        self.device = torch.device(config.device)
        self.task = (task or load_task(config.data_config())).to(self.device)
        self.reset()

    # ----------------------------------------------------------------------- setup
    def reset(self) -> TrainingSnapshot:
        cfg = self.config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            host = HostCNN(cfg.width, num_classes=self.task.num_classes)
        self.model = MorphogeneticModel(host, cfg.slots, cfg.lifecycle).to(self.device)
        self.host_optimizer = torch.optim.Adam(self.model.host.parameters(), lr=cfg.host_lr)
        self.seed_optimizers: dict[int, torch.optim.Optimizer] = {}
        self.tracker = SignalTracker()
        self.epoch = 0
        self.global_step = 0
        self.reward = 0.0
        self._gradients: dict[int, GradientStats] = {}
        self._diagnostics = Diagnostics()
        self._host_params = self.model.host_param_count()
        return self.observe()

    @property
    def done(self) -> bool:
        return self.epoch >= self.config.max_epochs

    @property
    def signals(self) -> TrainingSignals:
        return self.tracker.last

    # ----------------------------------------------------------------------- training
    def train_epoch(
        self,
        batch_hook: BatchHook | None = None,
        phase_hook: PhaseHook | None = None,
        stop_check: Callable[[], None] | None = None,
    ) -> EpochResult:
        """Train one epoch, validate, then run the lifecycle and sync every seed's telemetry.

        ``batch_hook(env, batch_index)`` runs before each batch: the place where operator
        commands apply. It may raise ``StopEpoch``; the epoch then ends without side effects
        on the lifecycle, and the exception propagates. ``phase_hook("validating")`` runs when
        the batches are done (the dashboard shows where the epoch is). ``stop_check()`` runs
        between validation batches (a stop is then answered within a batch, not a whole
        validation); it may raise ``StopEpoch`` too, and never changes the model.
        """
        start = time.perf_counter()
        epoch = self.epoch + 1
        self._begin_epoch(epoch)
        for group in self.host_optimizer.param_groups:
            group["lr"] = self.config.host_lr_at(epoch)
        model, dev = self.model, self.device
        model.train()
        groups: dict = {
            s.index: list(s.seed.parameters()) for s in model.seed_slots() if s.seed is not None
        }
        for name, layer in model.host.named_layers():
            groups[name] = list(layer.parameters())
        grads = EpochGradientTelemetry(groups, dev, expected_batches=self.task.batches_per_epoch)
        sums = torch.zeros(3, dtype=torch.float64, device=dev)  # loss, loss², correct
        batches = count = 0
        held = 0.0  # time spent in the hook (operator pause included): not training time
        try:
            for b, (x, y) in enumerate(self.task.train_batches(epoch, self.config.seed)):
                if batch_hook is not None:
                    hook_start = time.perf_counter()
                    batch_hook(self, b)
                    held += time.perf_counter() - hook_start
                measured = self._measured_groups(grads.keys)
                # measured gradients live in one buffer (CPU); cheap when unchanged
                grads.bind(measured)
                for slot in model.seed_slots():
                    slot.step_alpha()  # before the forward: the first blending batch already has alpha > 0
                out = model(x)
                loss = F.cross_entropy(out, y)
                self._zero_grad(grads)
                loss.backward()
                grads.accumulate(measured)
                self.host_optimizer.step()
                for index, opt in self.seed_optimizers.items():
                    if model.slot(index).trains_seed:
                        opt.step()
                with torch.no_grad():
                    lv = loss.detach().double()
                    sums += torch.stack([lv, lv * lv, (out.argmax(1) == y).sum().double()])
                batches += 1
                count += y.shape[0]
            last_batch = last_batch_gradients(model.host)  # still in place until the zeroing below
        finally:
            grads.release()
            self._zero_grad()
        self.global_step += batches
        loss_sum, loss_sq, correct = sums.cpu().tolist()
        if phase_hook is not None:
            phase_hook("validating")
        val_loss, val_acc, per_class = self._validate(stop_check)
        stats = grads.materialize()
        sharpness = sharpness_of(model, self.task, self.config, epoch)
        train_loss = loss_sum / max(batches, 1)
        train_acc = 100.0 * correct / max(count, 1)
        prev_acc = self.tracker.last.val_accuracy if self.epoch > 0 else None
        self.epoch = epoch
        self._end_epoch(val_acc, {k: v for k, v in stats.items() if isinstance(k, int)})
        self.tracker.update(epoch, self.global_step, train_loss, val_loss, train_acc, val_acc)
        self._diagnostics = Diagnostics(
            *last_batch, per_class_accuracy=per_class, sharpness=sharpness
        )
        rent = self.config.param_rent * self.model.seed_param_count() / self._host_params
        self.reward = (val_acc - prev_acc if prev_acc is not None else 0.0) - rent
        wall = time.perf_counter() - start
        busy = wall - held
        return EpochResult(
            epoch,
            train_loss,
            val_loss,
            train_acc,
            val_acc,
            self.reward,
            wall,
            count / busy if busy > 0 else 0.0,
            dict(self._gradients),
            self.done,
        )

    def _measured_groups(self, keys: list) -> tuple[bool, ...]:
        model = self.model
        return tuple(model.slot(k).measures_gradients if isinstance(k, int) else True for k in keys)

    def _zero_grad(self, grads: EpochGradientTelemetry | None = None) -> None:
        """Gradients to None, except those bound to ``grads``' buffer, which are zeroed in place.

        A parameter that gets no gradient keeps None, so an optimizer skips it instead of
        stepping on a zero gradient (momentum and weight decay would still move it). Only the
        gradients of measured seeds and host layers are bound, and every one of them is in the
        forward each batch, so zero and None never differ for them.
        """
        owned = grads.bound_ids if grads is not None else frozenset()
        if owned and grads is not None:
            grads.zero_grad()
        for opt in (self.host_optimizer, *self.seed_optimizers.values()):
            for group in opt.param_groups:
                for p in group["params"]:
                    if id(p) not in owned:
                        p.grad = None

    @torch.no_grad()
    def _validate(
        self, stop_check: Callable[[], None] | None = None
    ) -> tuple[float, float, tuple[float, ...]]:
        self.model.eval()
        k, dev = self.task.num_classes, self.device
        loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
        hits = torch.zeros(k, dtype=torch.float64, device=dev)
        totals = torch.zeros(k, dtype=torch.float64, device=dev)
        for x, y in self.task.val_batches():
            if stop_check is not None:
                try:
                    stop_check()
                except StopEpoch:
                    self.model.train()
                    raise
            out = self.model(x)
            loss_sum += F.cross_entropy(out, y, reduction="sum").double()
            hits += torch.bincount(y[out.argmax(1) == y], minlength=k).double()
            totals += torch.bincount(y, minlength=k).double()
        self.model.train()
        values = torch.cat([loss_sum[None], hits, totals]).cpu().tolist()
        n = sum(values[1 + k :])
        per_class = tuple(
            100.0 * h / t if t else 0.0
            for h, t in zip(values[1 : 1 + k], values[1 + k :], strict=True)
        )
        return values[0] / max(n, 1), 100.0 * sum(values[1 : 1 + k]) / max(n, 1), per_class

    # ----------------------------------------------------------------------- observation
    def observe(self) -> TrainingSnapshot:
        s, model = self.tracker.last, self.model
        focus = model.focus_seed()
        max_epochs = self.config.max_epochs
        if focus is not None and focus.state is not None:
            st = focus.state
            telemetry = st.telemetry
            seed_fields = (
                True,
                int(st.stage),
                st.metrics.epochs_in_current_stage,
                st.alpha,
                st.metrics.contribution,
            )
        else:
            telemetry = SeedTelemetry.dormant(self.epoch, max_epochs)
            seed_fields = (False, int(SeedStage.DORMANT), 0, 0.0, 0.0)
        return TrainingSnapshot(
            self.epoch,
            self.global_step,
            s.train_loss,
            s.val_loss,
            s.loss_delta,
            s.train_accuracy,
            s.val_accuracy,
            s.accuracy_delta,
            s.plateau_epochs,
            s.best_val_accuracy,
            s.best_val_loss,
            s.loss_history_5,
            s.accuracy_history_5,
            *seed_fields,
            model.available_slots(),
            max_epochs=max_epochs,
            num_slots=len(model.slots),
            focus_slot=None if focus is None else focus.index,
            focus_paused=focus is not None and focus.is_paused,
            seed_telemetry=telemetry,
            diagnostics=self._diagnostics,
        )

    def seed_records(self, lane: str) -> tuple[SeedRecord, ...]:
        records = []
        for slot in self.model.seed_slots():
            if slot.state is None:
                records.append(
                    SeedRecord.dormant(
                        lane,
                        slot.slot_id,
                        slot.index,
                        slot.layer_id,
                        slot.layer_index,
                        self.epoch,
                        self.config.max_epochs,
                    )
                )
                continue
            batches = self._gradients.get(slot.index, NOT_MEASURED).batches
            records.append(
                SeedRecord.from_state(
                    slot.state,
                    lane=lane,
                    slot_index=slot.index,
                    layer_index=slot.layer_index,
                    gradient_batches=batches,
                    epoch=self.epoch,
                )
            )
        return tuple(records)

    def param_counts(self) -> tuple[int, int]:
        return self._host_params, self.model.seed_param_count()
