"""SVG snapshots of the runs screen, the comparison and their help, over a folder made from the
recorded fixtures (no live run: its pid would change). Regenerate on purpose with
``pytest tests/tui/test_workspace_snapshots.py --snapshot-update`` and look at the report."""

import time

import pytest

from esper_tui.app import EsperApp
from tests.tui.workspace_support import make_runs_folder

SIZES = [(120, 40), (80, 24)]
IDS = ["120x40", "80x24"]


@pytest.fixture
def runs_app(tmp_path, monkeypatch):
    """The runs screen of ``runs/`` (a relative path, so the title is the same everywhere),
    start times in UTC, scanned once on the UI thread, no clock."""
    make_runs_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield EsperApp.for_runs("runs", clock=None, rescan_s=0)
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_runs_screen(snap_compare, runs_app, size):
    # the stopped run highlighted and the finished and crashed runs selected, in their colours
    keys = ["down", "down", "space", "down", "space", "up", "up"]
    assert snap_compare(runs_app, terminal_size=size, press=keys)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_comparison(snap_compare, runs_app, size):
    keys = ["down", "down", "space", "down", "space", "c"]
    assert snap_compare(runs_app, terminal_size=size, press=keys)


def test_runs_help(snap_compare, runs_app):
    assert snap_compare(runs_app, terminal_size=(120, 40), press=["question_mark"])


def test_filtered(snap_compare, runs_app):
    assert snap_compare(runs_app, terminal_size=(120, 40), press=["slash", *"finished"])
