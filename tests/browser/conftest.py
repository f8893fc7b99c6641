"""A real headless Chromium (Debian's ``chromium`` package, never Playwright's download) in
front of a real ``esper-tui --serve``. Without Chromium these tests skip and say how to get it.

The page draws the terminal with xterm.js on a canvas, so its text is not in the DOM. The page
script keeps its xterm.js ``Terminal`` in a property named ``terminal``; an init script catches
that assignment and keeps the object, and the tests read the screen from its buffer through
xterm.js's public API (``buffer.active.getLine(i).translateToString()``): the text the browser
shows, not anything our process says about itself.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
INSTALL = (
    "Chromium is not installed, so the browser tests are skipped: install Debian's package "
    "(sudo apt-get install chromium) or point ESPER_CHROMIUM at a Chrome or Chromium binary"
)
START_S = 90.0  # a served training run loads torch and the model before it listens

KEEP_TERMINAL = """
Object.defineProperty(Object.prototype, 'terminal', {
  configurable: true,
  set(value) {
    Object.defineProperty(this, 'terminal', {value, writable: true, configurable: true, enumerable: true});
    if (value && typeof value === 'object' && 'buffer' in value && !window.__esperTerminal) {
      window.__esperTerminal = value;
    }
  },
});
"""
SCREEN_TEXT = """() => {
  const terminal = window.__esperTerminal;
  if (!terminal) return '';
  const buffer = terminal.buffer.active, rows = [];
  for (let y = 0; y < terminal.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : '');
  }
  return rows.join('\\n');
}"""


def chromium() -> str | None:
    for candidate in (os.environ.get("ESPER_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


@pytest.fixture(scope="module")
def web_browser():
    """Debian's Chromium, headless, for one test module. Playwright's sync API runs an event
    loop in this thread while it is open, so it is closed at the end of the module: a
    session-wide browser (pytest-playwright's ``browser``) would leave that loop running and
    break every asyncio test that comes after."""
    from playwright.sync_api import sync_playwright

    path = chromium()
    if path is None:
        if os.environ.get("ESPER_REQUIRE_BROWSER"):  # .ci/run installed it: it must be there
            pytest.fail(INSTALL)
        pytest.skip(INSTALL)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def context(web_browser):
    """A fresh browser context (its own pages and storage) per test."""
    context = web_browser.new_context()
    yield context
    context.close()


def screen_text(page) -> str:
    return page.evaluate(SCREEN_TEXT)


def wait_for_text(page, *texts: str, timeout_s: float = 60.0) -> str:
    """Wait until the page's terminal shows every one of ``texts``; the screen's text."""
    check = f"() => {{ const s = ({SCREEN_TEXT})(); return {list(texts)!r}.every(t => s.includes(t)); }}"
    page.wait_for_function(check, timeout=timeout_s * 1000)
    return screen_text(page)


def open_page(context, url: str, width: int = 1400, height: int = 900):
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": height})
    page.add_init_script(KEEP_TERMINAL)
    page.goto(url)
    return page


@dataclass
class Server:
    """``esper-tui --serve`` on a free loopback port (``--port 0``; the URL is read from its
    first line)."""

    process: subprocess.Popen
    url: str = ""
    stdout: list[str] = field(default_factory=list)

    def viewers(self) -> list:
        import psutil

        return [p for p in psutil.Process(self.process.pid).children() if p.is_running()]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


def _start(argv: list[str], cwd: Path) -> Server:
    process = subprocess.Popen(
        [sys.executable, "-m", "esper_tui.cli", "--serve", "--port", "0", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    server = Server(process)
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            server.stdout.append(line)
            if not server.url and (found := re.search(r"http://\S+", line)):
                server.url = found.group(0)
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(START_S) or not server.url:
        process.kill()
        _, err = process.communicate(timeout=10)
        pytest.fail(f"esper-tui --serve did not start: {''.join(server.stdout)}{err}")
    return server


@pytest.fixture
def serve(tmp_path) -> Iterator:
    """Start servers; every one still running at the end is stopped, and none is left behind."""
    started: list[Server] = []

    def start(*argv: str) -> Server:
        server = _start(list(argv), tmp_path)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(10)
