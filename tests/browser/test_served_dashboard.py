"""``esper-tui --serve`` in a real headless Chromium: the dashboard, its keys and sizes, one
viewer process per tab, a single trainer, no process left behind, and the warning of a
non-loopback bind."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import psutil

from tests.browser.conftest import FIXTURES, open_page, screen_text, wait_for_text

RUN = FIXTURES / "run.jsonl"
MODEL = FIXTURES / "tiny_iql.pt"
PANELS = ("Seed lifecycle", "Gradient health", "Normalisation saturation", "Decisions")


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def none_alive(pids: list[int]) -> bool:
    return not any(psutil.pid_exists(pid) for pid in pids)


def test_the_served_dashboard_shows_its_panels_and_help(serve, context, tmp_path):
    server = serve("--follow", str(RUN))
    page = open_page(context, server.url)
    wait_for_text(page, *PANELS, "FOLLOW", "tiny_iql")
    page.locator(".xterm-helper-textarea").focus()
    page.keyboard.press("?")
    help_screen = wait_for_text(page, "Esper — keys", "this help", "quit from any screen")
    assert "space" in help_screen
    page.keyboard.press("Escape")
    wait_until(lambda: "Esper — keys" not in screen_text(page), "escape did not close the help")
    wait_for_text(page, *PANELS)
    shot = tmp_path / "served-dashboard.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_two_tabs_of_a_training_run_get_two_viewers_and_one_trainer(serve, context, tmp_path):
    record = tmp_path / "run.jsonl"
    server = serve(
        "--model", str(MODEL), "--preset", "tiny", "--epochs", "3", "--episodes", "40",
        "--record", str(record),
    )  # fmt: skip
    wide = open_page(context, server.url)
    narrow = open_page(context, server.url, width=820, height=520)  # about 90×28 cells
    wide_text = wait_for_text(wide, *PANELS, "FOLLOW")
    narrow_text = wait_for_text(narrow, "Seed lifecycle", "Decisions", "FOLLOW")
    # the same app at the narrow size class: one lower panel at a time
    assert "Gradient health" in wide_text and "Gradient health" not in narrow_text
    wide.locator(".xterm-helper-textarea").focus()  # Textual shows the footer once focused
    footer = wait_for_text(wide, "? Help", "q Quit").splitlines()[-1]
    assert "Pause" not in footer and "Cull" not in footer  # no training keys for visitors
    wide.keyboard.press("Space")  # would pause training in a terminal

    viewers = server.viewers()
    assert len(viewers) == 2
    for viewer in viewers:
        argv = viewer.cmdline()
        assert "--served" in argv and argv[-2:] == ["--follow", str(record)]
        assert "--model" not in argv
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert sum(line["kind"] == "run" for line in lines) == 1  # one trainer, however many tabs
    narrow.close()  # a closed tab ends its viewer
    wait_until(lambda: len(server.viewers()) == 1, "the closed tab's viewer lives on")

    pids = [viewer.pid for viewer in viewers] + [server.process.pid]
    assert server.stop() == 143
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert lines[-1]["event"] == "stopped" and "SIGTERM" in lines[-1]["message"]
    events = {line.get("event") for line in lines}
    assert not events & {"paused", "command_applied", "command_refused"}  # space reached nobody
    wait_until(lambda: none_alive(pids), "a process outlived the server", 10)


def test_a_non_loopback_bind_warns_and_its_viewers_end_with_the_server(serve, context, tmp_path):
    record = tmp_path / "copy.jsonl"
    record.write_bytes(RUN.read_bytes())
    server = serve("--host", "0.0.0.0", "--replay", str(record), "--speed", "1000")
    port = server.url.rsplit(":", 1)[1]
    page = open_page(context, f"http://127.0.0.1:{port}")  # the page's websocket follows suit
    wait_for_text(page, "Seed lifecycle", "REPLAY")
    viewers = [viewer.pid for viewer in server.viewers()]
    assert len(viewers) == 1
    record.unlink()  # the next visitor's viewer cannot open it: the page says the session ended
    late = open_page(context, f"http://127.0.0.1:{port}")
    late.wait_for_selector("body.-closed", timeout=30_000)
    server.process.kill()  # even a server killed outright leaves no viewer behind
    server.process.wait(10)
    wait_until(lambda: none_alive(viewers), "a viewer outlived its killed server", 10)
    stderr = server.process.stderr.read().splitlines()
    said = [line for line in stderr if "no authentication" in line]
    assert len(said) == 1, stderr
    assert "ssh -L" in said[0] and "authenticating proxy" in said[0]
