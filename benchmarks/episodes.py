"""Episodes per minute: ``--workers 1``, ``--workers 2`` and a local Ray at 2 CPUs, side by side.

Each candidate runs the same behaviour episodes (the heuristic with ε-random actions, one torch
thread per episode, as ``esper-iql collect`` runs them) through ``training.runs.driver``'s driver.
Throughput is measured once the backend is up: the worker processes (or Ray's workers) are
started and have built the image task in a warm-up round, which is timed apart as start-up.
Candidates alternate round by round so that drift in the machine's load hits them alike.
Prints ratios; the rates are this machine in this run, not a claim.

Goals on a quiet 2-core machine: workers 2 >= 1.6x workers 1; Ray within 15 % of workers 2.

    python benchmarks/episodes.py [--presets tiny,synthetic] [--episodes 4] [--rounds 2]
                                  [--tiny-epochs 10] [--synthetic-epochs 3] [--no-ray]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.env.environment import EnvConfig  # noqa: E402
from training.runs.config import RunConfig  # noqa: E402
from training.runs.driver import (  # noqa: E402
    Backend,
    InProcessBackend,
    ProcessBackend,
    run_episodes,
)
from training.runs.episodes import cached_task  # noqa: E402
from training.runs.lanes import Lane  # noqa: E402

LANES = [Lane.behaviour(0.3, "seed")]


def episodes_per_minute(backend: Backend, config: RunConfig) -> float:
    start = time.perf_counter()
    run = run_episodes(config, LANES, lambda record: None, backend)
    seconds = time.perf_counter() - start
    assert not run.result.failed, run.result.failed
    return 60.0 * len(run.result.episodes) / seconds


def warm_up(backend: Backend, config: RunConfig, width: int) -> float:
    """Start the backend's workers and build their task: ``width`` one-epoch episodes at once."""
    start = time.perf_counter()
    run_episodes(
        replace(config, episodes=width, env=replace(config.env, max_epochs=1)),
        LANES,
        lambda record: None,
        backend,
    )
    return time.perf_counter() - start


def bench_preset(
    preset: str, epochs: int, args: argparse.Namespace, backends: dict[str, Backend]
) -> None:
    config = RunConfig(
        env=EnvConfig(preset=preset, max_epochs=epochs, seed=500), episodes=args.episodes
    )
    cached_task(config.env.data_config())  # the in-process candidate builds its task once too
    startup = {
        name: warm_up(backend, config, backend.capacity) for name, backend in backends.items()
    }
    rates: dict[str, list[float]] = {name: [] for name in backends}
    for _ in range(args.rounds):
        for name, backend in backends.items():
            rates[name].append(episodes_per_minute(backend, config))
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(
        f"\n{preset}: {args.episodes} episodes of {epochs} epochs per round, {args.rounds} round(s)"
    )
    for name, rate in median.items():
        print(f"  {name:<10} {rate:7.2f} episodes/min   (warm-up {startup[name]:5.1f} s)")
    w1, w2 = median["workers 1"], median["workers 2"]
    print(f"  workers 2 / workers 1: {w2 / w1:.2f}x (goal >= 1.60x)")
    if "ray" in median:
        print(f"  ray / workers 2:       {median['ray'] / w2:.2f}x (goal >= 0.85x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="tiny,synthetic")
    parser.add_argument("--episodes", type=int, default=4, help="episodes per round (default 4)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    parser.add_argument("--tiny-epochs", type=int, default=10)
    parser.add_argument("--synthetic-epochs", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true", help="leave Ray out")
    args = parser.parse_args()
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    use_ray = not args.no_ray and importlib.util.find_spec("ray") is not None
    if not use_ray and not args.no_ray:
        print(
            "ray is not installed (pip install -e '.[cluster]'): measuring the worker processes only"
        )
    import torch

    torch.set_num_threads(1)
    for preset in presets:
        epochs = args.tiny_epochs if preset == "tiny" else args.synthetic_epochs
        data = EnvConfig(preset=preset).data_config()
        backends: dict[str, Backend] = {
            "workers 1": InProcessBackend(),
            "workers 2": ProcessBackend(2, 1, data),
        }
        if use_ray:
            import ray

            from training.runs.cluster import RayBackend

            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            backends["ray"] = RayBackend(cpus_per_episode=1)
        try:
            bench_preset(preset, epochs, args, backends)
        finally:
            for backend in backends.values():
                backend.close()
            if use_ray:
                ray.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
