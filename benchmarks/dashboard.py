"""Dashboard overhead, measured side by side in one run:

1. training throughput with the store and the app running headless (polling at the default
   4 Hz) against the trainer alone, alternating A/B runs on the same task (goal >= 0.95);
2. responsiveness under training load: a key press until the screen shows its effect, p50/p95
   (goal p95 <= 100 ms);
3. memory: the store's size after 1,000 / 10,000 / 100,000 records (it must stay bounded).

    python benchmarks/dashboard.py [--epochs 3] [--rounds 2] [--presses 40]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from esper_tui.app import EsperApp  # noqa: E402
from esper_tui.session import TrainerThread  # noqa: E402
from esper_tui.store import TelemetryStore  # noqa: E402
from training.comparison import Lane, RunConfig, run  # noqa: E402
from training.data import DataConfig, load_task  # noqa: E402
from training.env import EnvConfig  # noqa: E402
from training.recordio import read_records  # noqa: E402
from training.records import EpochRecord  # noqa: E402
from widgets import SeedGrid  # noqa: E402


def throughput(records) -> float:
    """Median samples/s over the epochs after the first (which includes warm-up)."""
    rates = [r.samples_per_second for r in records if isinstance(r, EpochRecord) and r.epoch > 1]
    return statistics.median(rates)


def trainer_alone(config: RunConfig, task) -> float:
    records: list = []
    run(config, [Lane.heuristic()], records.append, task=task)
    return throughput(records)


def with_dashboard(config: RunConfig, task) -> float:
    store = TelemetryStore()
    thread = TrainerThread(config, [Lane.heuristic()], store, task=task)
    app = EsperApp(store, thread, refresh_hz=4.0)

    async def drive() -> None:
        async with app.run_test(headless=True, size=(140, 45)) as pilot:
            while thread.is_alive():
                await pilot.pause(0.1)
            await pilot.press("escape")

    asyncio.run(drive())
    lane = store.view().lane("heuristic")
    return throughput(lane.epochs)


def responsiveness(config: RunConfig, task, presses: int) -> list[float]:
    store = TelemetryStore()
    thread = TrainerThread(config, [Lane.heuristic()], store, task=task)
    app = EsperApp(store, thread, refresh_hz=4.0)
    latencies: list[float] = []

    async def drive() -> None:
        async with app.run_test(headless=True, size=(140, 45)) as pilot:
            while not store.view().lanes or not store.view().lanes[0].epochs:
                await pilot.pause(0.05)
            grid = app.query_one(SeedGrid)
            for _ in range(presses):
                lane, slot = app.selected
                target = (lane, (slot + 1) % 3)
                start = time.perf_counter()
                await pilot.press("l")
                while not (grid.card_at(*target) is not None and grid.card_at(*target).has_class("-selected")):
                    await asyncio.sleep(0.001)
                latencies.append(time.perf_counter() - start)
                await pilot.pause(0.05)
            thread.stop()

    asyncio.run(drive())
    return latencies


def store_memory(sizes: tuple[int, ...]) -> list[tuple[int, float]]:
    records, _ = read_records(ROOT / "tests" / "fixtures" / "run.jsonl")
    template = next(r for r in records if isinstance(r, EpochRecord) and r.lane == "tiny_iql" and r.epoch == 5)
    out = []
    for size in sizes:
        tracemalloc.start()
        store = TelemetryStore()
        for i in range(size):
            store.add(dataclasses.replace(template, epoch=i + 1, episode=1 + i // 1000))
        store.view()
        current, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out.append((size, current / 2**20))
        del store
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--presses", type=int, default=40)
    args = parser.parse_args()
    task = load_task(DataConfig())
    config = RunConfig(env=EnvConfig(max_epochs=args.epochs), episodes=1)
    alone, dashed = [], []
    for _ in range(args.rounds):  # A/B alternated so drift hits both
        alone.append(trainer_alone(config, task))
        dashed.append(with_dashboard(config, task))
    ratio = statistics.median(dashed) / statistics.median(alone)
    print(f"throughput with the dashboard / trainer alone: {ratio:.3f} (goal >= 0.95; "
          f"{args.rounds} alternating rounds, median samples/s per epoch)")
    latencies = sorted(responsiveness(RunConfig(env=EnvConfig(max_epochs=50), episodes=1), task, args.presses))
    p50 = latencies[len(latencies) // 2] * 1000
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] * 1000
    print(f"key press -> screen under training load: p50 {p50:.1f} ms, p95 {p95:.1f} ms (goal p95 <= 100 ms, "
          f"{len(latencies)} presses)")
    for size, mb in store_memory((1_000, 10_000, 100_000)):
        print(f"store after {size:>7,} records: {mb:6.2f} MB")


if __name__ == "__main__":
    main()
