"""Dashboard overhead, measured side by side in one run:

1. training throughput of the heuristic lane beside the bundled IQL lane, with the store and
   the app running headless at 120x40 (polling at the default
   4 Hz) against the trainer alone, alternating A/B runs (goal >= 0.95). Each run is its own
   child process: torch's OpenMP pool is per thread that uses it, and a process whose main thread
   ever ran a parallel op trains ~30 % slower in a second thread, so one process cannot host both
   fairly. Like ``esper-tui``, the dashboard child never runs torch on its main (UI) thread
   and freezes its start-up heap before the app runs. The dashboard child also reports the UI
   thread's CPU as a share of one core and its longest garbage collection: the trainer waits for
   the GIL through both, and they vary far less between runs than the throughput ratio does;
2. responsiveness under training load: a key press until the screen shows its effect, p50/p95
   (goal p95 <= 100 ms);
3. memory: the store's size after 1,000 / 10,000 / 100,000 records (it must stay bounded).

    python benchmarks/dashboard.py [--epochs 5] [--rounds 5] [--presses 40]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from esper_tui.app import EsperApp  # noqa: E402
from esper_tui.heap import freeze_startup_heap  # noqa: E402
from esper_tui.replay import read_records  # noqa: E402
from esper_tui.session import TrainerThread  # noqa: E402
from esper_tui.store import TelemetryStore  # noqa: E402
from training.env.environment import EnvConfig  # noqa: E402
from training.records import EpochRecord  # noqa: E402
from training.runs.config import RunConfig  # noqa: E402
from training.runs.driver import run_in_process  # noqa: E402
from training.runs.lanes import Lane  # noqa: E402
from widgets import SeedGrid  # noqa: E402


def throughput(records) -> tuple[float, float]:
    """Median samples/s of the heuristic lane over the epochs after the first (warm-up), and the
    median wall time of those epochs (which, unlike samples/s, includes the batch hooks: operator
    commands and the progress the header shows)."""
    mine = [
        r for r in records if isinstance(r, EpochRecord) and r.epoch > 1 and r.lane == "heuristic"
    ]
    return statistics.median(r.samples_per_second for r in mine), statistics.median(
        r.wall_seconds for r in mine
    )


BUNDLED = ROOT / "esper_tui" / "assets" / "default_iql.pt"


def lanes() -> list[Lane]:
    """The heuristic and the bundled IQL policy, as ``esper-tui`` runs by default: the decision
    pane then draws Q bars, V and the advantage for every other row."""
    from training.policies.iql_policy import IQLPolicy

    policy = IQLPolicy(BUNDLED, name="default_iql")
    return [Lane.heuristic(), Lane.playing(policy, policy.lane_info())]


def trainer_alone(config: RunConfig) -> tuple[float, float]:
    """What ``esper-iql compare`` does: the loop on the main thread, records to a sink."""
    records: list = []
    run_in_process(config, lanes(), records.append)
    return throughput(records)


def with_dashboard(config: RunConfig) -> tuple[float, float, float, float]:
    """What ``esper-tui`` does: the trainer thread (telling the header where each epoch is), the
    store and the app polling at 4 Hz, at 120x40 with the decision pane and the event strip.
    Besides the throughput: the UI thread's CPU as a share of one core while the run lasted,
    and its longest garbage collection (the trainer waits for the GIL through both)."""
    store = TelemetryStore()
    thread = TrainerThread(config, lanes(), store)
    app = EsperApp(store, thread, refresh_hz=4.0)
    freeze_startup_heap()  # as esper-tui does before its app runs
    pauses: list[float] = []
    started: list[float] = []

    def timed(phase: str, info: dict) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            pauses.append(time.perf_counter() - started[0])

    share: list[float] = []

    async def drive() -> None:
        # Only wait: ``pilot.pause`` would also post a callback to every widget ten times a
        # second to wait for the screen, work the real app never does (it doubled the UI
        # thread's CPU time in this loop).
        async with app.run_test(headless=True, size=(120, 40)):
            cpu, wall = time.thread_time(), time.perf_counter()
            while thread.is_alive():
                await asyncio.sleep(0.1)
            share.append((time.thread_time() - cpu) / (time.perf_counter() - wall))

    gc.callbacks.append(timed)
    asyncio.run(drive())
    gc.callbacks.remove(timed)
    rate, wall = throughput(store.view().lane("heuristic").epochs)
    return rate, wall, share[0], max(pauses, default=0.0)


def child(kind: str, epochs: int) -> list[float]:
    """Run one measurement in a fresh process and read back its samples/s and epoch seconds
    (and, for the dashboard, the UI thread's share of a core and longest collection)."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--epochs", str(epochs)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [float(value) for value in out.stdout.strip().splitlines()[-1].split()]


def responsiveness(config: RunConfig, presses: int) -> list[float]:
    store = TelemetryStore()
    thread = TrainerThread(config, [Lane.heuristic()], store)
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
                # as the terminal would deliver it (pilot.press also waits for idle)
                app.simulate_key("l")
                while not (
                    grid.card_at(*target) is not None
                    and grid.card_at(*target).has_class("-selected")
                ):
                    await asyncio.sleep(0.0005)
                await asyncio.sleep(0)  # let the refresh it scheduled run
                latencies.append(time.perf_counter() - start)
                await asyncio.sleep(0.1)
            thread.stop()

    asyncio.run(drive())
    return latencies


def store_memory(sizes: tuple[int, ...]) -> list[tuple[int, float]]:
    records, _ = read_records(ROOT / "tests" / "fixtures" / "run.jsonl")
    template = next(
        r for r in records if isinstance(r, EpochRecord) and r.lane == "tiny_iql" and r.epoch == 5
    )
    out = []
    for size in sizes:
        tracemalloc.start()
        store = TelemetryStore()
        for i in range(size):  # distinct objects, as a real run makes them
            seeds = tuple(
                msgspec.structs.replace(s, alpha=s.alpha + 1e-9 * i) for s in template.seeds
            )
            decision = msgspec.structs.replace(
                template.decision, epoch=i + 1, features=tuple(template.decision.features)
            )
            store.add(
                msgspec.structs.replace(
                    template, epoch=i + 1, episode=1 + i // 1000, seeds=seeds, decision=decision
                )
            )
        store.view()
        current, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out.append((size, current / 2**20))
        del store
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--presses", type=int, default=40)
    parser.add_argument("--child", choices=("alone", "dashboard"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    config = RunConfig(env=EnvConfig(max_epochs=args.epochs), episodes=1)
    if args.child:
        measure = {"alone": trainer_alone, "dashboard": with_dashboard}[args.child]
        print(*measure(config))
        return
    alone, dashed, alone_wall, dashed_wall, ui_share, gc_max = [], [], [], [], [], []
    for _ in range(args.rounds):  # A/B alternated so drift hits both
        rate, wall = child("alone", args.epochs)
        alone.append(rate)
        alone_wall.append(wall)
        rate, wall, share, pause = child("dashboard", args.epochs)
        dashed.append(rate)
        dashed_wall.append(wall)
        ui_share.append(share)
        gc_max.append(pause)
    ratio = statistics.median(dashed) / statistics.median(alone)
    # Each round's own ratio (its two children ran back to back): the spread says how far one
    # number can be trusted on this machine.
    rounds = sorted(d / a for d, a in zip(dashed, alone, strict=True))
    print(
        f"throughput with the dashboard / trainer alone: {ratio:.3f} (goal >= 0.95; {args.rounds} "
        f"alternating rounds, median samples/s per epoch: {statistics.median(dashed):.0f} vs "
        f"{statistics.median(alone):.0f})"
    )
    print(
        f"  per round: min {rounds[0]:.3f}, median {statistics.median(rounds):.3f}, max {rounds[-1]:.3f}"
        + (f", sd {statistics.stdev(rounds):.3f}" if len(rounds) > 1 else "")
    )
    print(
        f"  epoch wall time, trainer alone / with the dashboard (batch hooks included): "
        f"{statistics.median(alone_wall) / statistics.median(dashed_wall):.3f}"
    )
    # Steadier than the ratio on a shared machine: what the UI thread itself took.
    print(
        f"  UI thread while training: {100 * statistics.median(ui_share):.1f} % of a core "
        f"(median of rounds); longest garbage collection on it {1000 * max(gc_max):.0f} ms"
    )
    latencies = sorted(
        responsiveness(RunConfig(env=EnvConfig(max_epochs=50), episodes=1), args.presses)
    )
    p50 = latencies[len(latencies) // 2] * 1000
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] * 1000
    print(
        f"key press -> screen under training load: p50 {p50:.1f} ms, p95 {p95:.1f} ms (goal p95 <= 100 ms, "
        f"{len(latencies)} presses)"
    )
    for size, mb in store_memory((1_000, 10_000, 100_000)):
        print(f"store after {size:>7,} records: {mb:6.2f} MB")


if __name__ == "__main__":
    main()
