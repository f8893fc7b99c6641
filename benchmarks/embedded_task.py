"""Is the embedded task worth watching? For 3 seeds, side by side in one run:

- host alone: the epoch at which it plateaus (3 epochs without a 1-point gain), final accuracy;
- the same seed with one conv_enhance seed germinated at the plateau, advanced after 2 epochs
  of isolated training, blended, shadowed and fossilized: final accuracy and the lift over the
  host alone (final = mean of the last 5 epochs, which damps validation noise);
- the wall time of one lane-epoch (train + validate) with no seed and with three live seeds.

    python benchmarks/embedded_task.py [--seeds 0 1 2] [--epochs 25]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.env.actions import Action  # noqa: E402
from training.env.data import DataConfig, load_task  # noqa: E402
from training.env.environment import EnvConfig, MorphogeneticEnv  # noqa: E402
from training.seeds.lifecycle import SeedStage  # noqa: E402


def episode(env: MorphogeneticEnv, grow: bool) -> tuple[int | None, float, list[float]]:
    accs, plateau = [], None
    for _ in range(env.config.max_epochs):
        result = env.train_epoch()
        accs.append(result.val_accuracy)
        if plateau is None and env.signals.plateau_epochs >= 3:
            plateau = result.epoch
        focus, action = env.model.focus_seed(), Action.WAIT
        if grow and plateau == result.epoch and focus is None:
            action = Action.GERMINATE_CONV
        elif (
            focus is not None
            and focus.stage is SeedStage.TRAINING
            and focus.state.metrics.epochs_in_current_stage >= 2
        ):
            action = Action.ADVANCE
        elif focus is not None and focus.stage is SeedStage.PROBATIONARY:
            action = Action.ADVANCE
        env.apply(action)
    return plateau, statistics.mean(accs[-5:]), accs


def epoch_seconds(task, seed: int) -> tuple[float, float]:
    env = MorphogeneticEnv(EnvConfig(seed=seed), task)
    env.train_epoch()
    start = time.perf_counter()
    env.train_epoch()
    alone = time.perf_counter() - start
    for action in (Action.GERMINATE_CONV, Action.GERMINATE_ATTENTION, Action.GERMINATE_NORM):
        env.apply(action)
        env.train_epoch()
    for slot in env.model.seed_slots():  # blend all three: the costliest stage
        slot.state.gradient_epochs = max(slot.state.gradient_epochs, 1)
        if slot.stage is SeedStage.TRAINING:
            env.model.advance(slot, env.epoch)
            slot.start_blending(env.config.lifecycle.blend_epochs * env.task.batches_per_epoch)
    start = time.perf_counter()
    env.train_epoch()
    return alone, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=25)
    args = parser.parse_args()
    lifts, plateaus = [], []
    task = load_task(DataConfig())  # the embedded task: data seed 0, whatever the run seed
    for seed in args.seeds:
        cfg = EnvConfig(seed=seed, max_epochs=args.epochs)
        plateau, host, _ = episode(MorphogeneticEnv(cfg, task), grow=False)
        _, grown, _ = episode(MorphogeneticEnv(cfg, task), grow=True)
        alone, three = epoch_seconds(task, seed)
        lifts.append(grown - host)
        plateaus.append(plateau)
        print(
            f"seed {seed}: host plateaus at epoch {plateau}, final {host:.2f}%; with a seed {grown:.2f}% "
            f"(lift {grown - host:+.2f}); lane-epoch {alone:.2f}s alone, {three:.2f}s with 3 blending seeds "
            f"({three / alone:.2f}x)"
        )
    spread = statistics.stdev(lifts) if len(lifts) > 1 else 0.0
    print(
        f"plateau epochs {plateaus} (goal: all <= 10); lift {statistics.mean(lifts):+.2f} ± {spread:.2f} "
        f"points (mean ± sd over {len(lifts)} seeds; min {min(lifts):+.2f})"
    )


if __name__ == "__main__":
    main()
