"""Reading records: lines per second for (a) ``json.loads`` alone, (b) the record decoder alone,
(c) the decoder and the store together (what replay does at speed 0), on an 8,000-line record
(200 episodes, made by repeating the epoch lines of ``tests/fixtures/run.jsonl``); and the time
to summarise a folder of 50 such records. Measured side by side in one run; the ratios against
``json.loads`` are the claim, the absolute figures depend on the machine and its load.

The implementation before issue 17 (dataclasses checked field by field) can no longer be
imported; its figures, measured on the same 2-core machine, are printed beside ours.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._timing import interleaved  # noqa: E402
from esper_tui.replay import replay_all  # noqa: E402
from esper_tui.store import TelemetryStore  # noqa: E402
from training.records import record_from_line  # noqa: E402
from training.records.summary import FINISHED, read_summary  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "run.jsonl"
EPISODES = 200
FOLDER_RUNS = 50
# Issue 17, measured on main before the change (same machine): lines per second.
BEFORE = {"json.loads": 8_700, "decoder + store": 2_000}


def make_record(path: Path, episodes: int = EPISODES) -> int:
    """A finished record of ``episodes`` episodes; returns its number of lines."""
    lines = FIXTURE.read_text().splitlines()
    run = lines[0]
    epochs = [json.loads(line) for line in lines if '"kind":"epoch"' in line]
    episode_end = json.loads(next(x for x in lines if '"event":"episode_finished"' in x))
    finished = next(x for x in lines if '"event":"finished"' in x)
    per_episode = epochs  # both episodes of the fixture: 40 epoch lines
    count = 1
    with open(path, "w") as out:
        out.write(run + "\n")
        for episode in range(1, episodes + 1):
            for epoch in per_episode:
                epoch = dict(epoch, episode=episode)
                epoch["decision"] = epoch["decision"] and dict(epoch["decision"], episode=episode)
                out.write(json.dumps(epoch, separators=(",", ":")) + "\n")
            end = dict(episode_end, episode=episode)
            out.write(json.dumps(end, separators=(",", ":")) + "\n")
            count += len(per_episode) + 1
        out.write(finished + "\n")
    return count + 1


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="esper-bench-records-"))
    try:
        path = folder / "run.jsonl"
        count = make_record(path)
        blob = path.read_bytes()
        lines = blob.splitlines()
        untyped = msgspec.json.Decoder()
        epoch_lines = sum(b'"kind":"epoch"' in line for line in lines)
        print(f"record: {count} lines, {epoch_lines} epoch lines, {len(blob) / 2**20:.1f} MiB")

        def store_replay() -> None:
            replay_all(path, TelemetryStore(source="replay"))

        times = interleaved(
            {
                "json.loads": lambda: [json.loads(line) for line in lines],
                "msgspec untyped": lambda: [untyped.decode(line) for line in lines],
                "decoder": lambda: [record_from_line(line) for line in lines],
                "decoder + store": store_replay,
            },
            repeats=5,
            inner=1,
        )
        base = times["json.loads"]
        print(f"{'':22}{'lines/s':>10}{'MB/s':>8}{'× json.loads':>14}{'before (issue 17)':>20}")
        for name, seconds in times.items():
            before = BEFORE.get(name)
            was = f"{before:,} lines/s" if before else ""
            print(
                f"{name:22}{count / seconds:>10,.0f}{len(blob) / seconds / 1e6:>8.1f}"
                f"{base / seconds:>14.2f}{was:>20}"
            )
        print(
            f"decoder + store vs json.loads alone: {base / times['decoder + store']:.2f} "
            f"(before issue 17: {BEFORE['decoder + store'] / BEFORE['json.loads']:.2f})"
        )

        runs = folder / "runs"
        runs.mkdir()
        for i in range(FOLDER_RUNS):  # hard links: 50 names, one copy of the bytes on disk
            os.link(path, runs / f"run-{i:02d}.jsonl")
        start = time.perf_counter()
        summaries = [read_summary(p) for p in sorted(runs.iterdir())]
        took = time.perf_counter() - start
        assert all(s.status == FINISHED and s.episodes_done == EPISODES for s in summaries)
        share = summaries[0].bytes_read / len(blob)
        print(
            f"summaries of {FOLDER_RUNS} records of {count} lines: {took * 1000:.1f} ms in all "
            f"(each read {summaries[0].bytes_read / 1024:.0f} KiB, {share:.2%} of its file)"
        )
        full = times["decoder + store"] * FOLDER_RUNS
        print(f"  vs replaying each to its end: {full / took:,.0f}× faster")
        print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
