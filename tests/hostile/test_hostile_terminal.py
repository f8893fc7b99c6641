"""Terminal escape injection, at the terminal: the bytes the app writes to a real terminal
driver carry no sequence from the data, a lane name the terminal cannot encode still quits
cleanly with its summary, and every command-line message shows foreign text escaped, on one
line. What the panels draw is test_hostile_text.py."""

import io
import json
import re
import sys

import pytest
from hypothesis import given

from esper_tui.app import EsperApp
from esper_tui.replay import RecordFeeder
from esper_tui.store import TelemetryStore
from tests.hostile.text_support import ANY_TEXT, ATTACK, FIXTURE, ROOT, SETTINGS, unsafe


@SETTINGS
@given(ANY_TEXT)
def test_every_command_line_message_shows_foreign_text_escaped(hostile):
    from esper_tui.cli.common import fail, say, warn

    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        say(f"wrote {hostile}")
        warn(f"the record {hostile} can no longer be written", "esper-iql")
        with pytest.raises(SystemExit) as exit_info:
            fail(f"model file {hostile} does not exist", "esper-tui")
    finally:
        sys.stdout, sys.stderr = saved
    assert exit_info.value.code == 2
    for line in (out.getvalue() + err.getvalue()).splitlines():
        assert not unsafe(line)
    assert len(err.getvalue().splitlines()) == 2  # each message is one line


class Terminal:
    """A Textual driver that keeps what the app writes to the terminal."""

    from textual.drivers.headless_driver import HeadlessDriver as _Base

    class Driver(_Base):
        written: list[str] = []

        @property
        def is_headless(self) -> bool:  # so the app renders and writes, as to a real terminal
            return False

        def write(self, data: str) -> None:
            Terminal.Driver.written.append(data)


def foreign_sequences(output: str) -> list[str]:
    """What is left of the app's output once its own sequences are taken out: cursor moves and
    colours (CSI …H, CSI …m) and the pointer shape (OSC 22). Anything left came from the data."""
    rest = re.sub(r"\x1b\[[0-9;]*[Hm]|\x1b\]22;[a-z-]*\x07", "", output)
    return [
        rest[max(m.start() - 20, 0) : m.start() + 20]
        for m in re.finditer(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", rest)
    ]


async def test_a_replayed_lane_name_with_escape_codes_never_reaches_the_terminal(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # where a replay's screenshot goes
    record = tmp_path / "hostile.jsonl"
    record.write_text(FIXTURE.read_text().replace("tiny_iql", json.dumps("tiny" + ATTACK)[1:-1]))
    store = TelemetryStore(source="replay")
    app = EsperApp(
        store,
        RecordFeeder(record, store, speed=0, linger=True),
        refresh_hz=10,
        controls=False,
        clock=None,
    )
    app.driver_class = Terminal.Driver
    Terminal.Driver.written = []
    async with app.run_test(headless=False, size=(120, 40)) as pilot:
        for _ in range(50):  # the replay ends and its summary dialog opens
            await pilot.pause(0.1)
            if store.view().finished is not None:
                break
        await pilot.pause(0.3)
        for key in (
            "escape",
            "l",
            "j",
            "enter",
            "escape",
            "slash",
            "down",
            "escape",
            "g",
            "escape",
            "question_mark",
            "escape",
            "s",
        ):
            await pilot.press(key)
            await pilot.pause(0.1)
        await pilot.press("q")
    output = "".join(Terminal.Driver.written)
    assert "tiny\\x1b]0;pwned\\x07" in output  # the name is shown, escaped
    assert foreign_sequences(output) == []
    assert "\x1b]0;" not in output and "\x1b[2J" not in output and "\x1b[?1049l" not in output
    assert len(list(tmp_path.glob("*.svg"))) == 1  # the screenshot, named after no lane


def test_a_lane_name_with_a_lone_surrogate_quits_with_q_and_prints_its_summary(tmp_path):
    from ptyrun import run_in_pty

    record = tmp_path / "surrogate.jsonl"
    record.write_text(FIXTURE.read_text().replace("tiny_iql", "tiny\\ud800"))
    env = {
        "PYTHONPATH": str(ROOT),
        "TERM": "xterm-256color",
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
    }
    argv = [sys.executable, "-m", "esper_tui.cli", "--replay", str(record), "--speed", "10000"]
    result = run_in_pty(argv, env, lambda screen: b"FINISHED" in screen, b"q", timeout=90)
    tail = result.screen.split(b"\x1b[?1049l")[-1].decode("utf-8")
    assert result.code == 0, tail
    assert "Traceback" not in tail and "UnicodeEncodeError" not in tail
    assert "tiny\\ud800 vs heuristic: -3.44 points" in tail
