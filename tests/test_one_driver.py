"""One episode driver: the dashboard's live run and ``esper-iql compare`` write the same record
for the same flags, and a model file is read from disk, and parsed, once per process."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import torch

from esper_tui.cli import iql, tui
from esper_tui.replay import read_records
from training.policies import checkpoint
from training.records import record_to_line

MODEL = Path(__file__).parent / "fixtures" / "tiny_iql.pt"
FLAGS = [
    "--model",
    str(MODEL),
    *"--preset tiny --episodes 2 --epochs 3 --device cpu --seed 7 --slots 2".split(),
]
WALL_CLOCK = {"wall_seconds", "samples_per_second", "created_at", "captured_at", "vitals"}


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in WALL_CLOCK}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def comparable_file(path: Path) -> list[dict]:
    records, corrupt = read_records(path)
    assert corrupt == 0
    return [_strip(json.loads(record_to_line(r))) for r in records]


def test_the_dashboards_record_equals_what_compare_writes_for_the_same_flags(tmp_path, monkeypatch):
    # esper-tui's live path as its command line builds it: the trainer thread writing the record
    # through the store (the app only watches the store, so it is left out here; pytest holds
    # stdin and stdout, so the terminal check stands aside).
    monkeypatch.setattr(tui, "missing_terminal", lambda: None)
    launch = tui.prepare(
        tui.build_parser().parse_args(FLAGS + ["--record", str(tmp_path / "live.jsonl")])
    )
    thread = launch.session
    thread.start()
    thread.join(timeout=600)
    assert not thread.is_alive() and thread.error is None
    launch.store.close()
    live = comparable_file(tmp_path / "live.jsonl")
    # The same flags headless, in one torch thread as the dashboard's run here (tests/conftest.py).
    assert torch.get_num_threads() == 1
    code = iql.main(
        ["compare", *FLAGS, "--run-id", thread.run_id, "--record", str(tmp_path / "compare.jsonl")]
    )
    assert code == 0
    compare = comparable_file(tmp_path / "compare.jsonl")
    # two lanes, two episodes, three epochs
    assert [r["kind"] for r in live].count("epoch") == 2 * 2 * 3
    assert live[-1]["event"] == "finished"
    assert live == compare


def test_a_model_file_is_read_and_parsed_once_for_a_whole_compare(tmp_path, monkeypatch):
    checkpoint.shared_model.cache_clear()
    opened, parsed = [], []
    real_open, real_load = builtins.open, torch.load

    def counting_open(file, *args, **kwargs):
        if Path(str(file)).name == MODEL.name:
            opened.append(file)
        return real_open(file, *args, **kwargs)

    def counting_load(*args, **kwargs):
        parsed.append(args[0])
        return real_load(*args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(checkpoint.torch, "load", counting_load)
    flags = "--preset tiny --episodes 3 --epochs 1 --device cpu".split()
    code = iql.main(
        ["compare", "--model", str(MODEL), *flags, "--record", str(tmp_path / "r.jsonl")]
    )
    assert code == 0
    assert len(opened) == 1  # the checks before it only stat the file and peek at one byte
    assert len(parsed) == 1  # three episodes, one parse
