"""Where the comparison loop is inside an epoch, for a live view (the dashboard's header).

Not recorded: a replay or a follow has only the epoch records. ``ProgressSink`` hears
(phase, lane, episode, epoch, batches done, batches per epoch), phase being "loading",
"training", "validating" or "deciding"; it is called per batch, so it must be cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from training.env.environment import BatchHook, MorphogeneticEnv, PhaseHook

ProgressSink = Callable[[str, str, int, int, int, int], None]


def reporting_hooks(
    progress: ProgressSink, control: BatchHook, lane: str, episode: int, env: MorphogeneticEnv
) -> tuple[BatchHook, PhaseHook]:
    """The batch and phase hooks of one lane's epoch: they tell ``progress`` where it is, and
    the batch hook still runs ``control`` (operator commands, the stop flag) before each batch."""
    epoch, batches = env.epoch + 1, env.task.batches_per_epoch
    progress("training", lane, episode, epoch, 0, batches)

    def batch_hook(e: MorphogeneticEnv, batch: int) -> None:
        progress("training", lane, episode, epoch, batch, batches)
        control(e, batch)

    def phase_hook(phase: str) -> None:
        progress(phase, lane, episode, epoch, batches, batches)

    return batch_hook, phase_hook
