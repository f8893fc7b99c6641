"""Serving the dashboard to browsers with textual-serve: one read-only app process per visitor.

textual-serve's ``Server`` runs one command per browser visit (through ``AppService``) and pipes
the visitor's keys and terminal size to it. This module adds what a server on a training box
needs on top: the listening socket is bound before anything starts (so a port in use or a bad
host is one sentence, not a traceback later), each visit's command is chosen when the visitor
arrives (the newest record of a folder), the page's websocket address comes from the address the
browser used (so an SSH tunnel on another local port works), and every visitor's process is
tracked so that shutting down ends each one: asked to quit first, then terminated, then killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import json
import logging
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp_jinja2
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server

log = logging.getLogger("esper_tui.serve")

QUIT_GRACE_S = 3.0  # a visitor's process gets this long to quit when asked, then SIGTERM
TERM_GRACE_S = 2.0  # and then this long before SIGKILL
MAX_CELLS = 500  # a browser claiming a wider or taller terminal than this is clamped


class ServeError(Exception):
    """The server cannot start; one sentence for the user."""


HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def resolve(host: str, port: int) -> list[tuple[Any, ...]]:
    """``getaddrinfo`` for a listening TCP socket; ``ServeError`` for a host that is no address
    (a name that cannot be a host name is refused without asking DNS)."""
    problem = f"--host {host!r} is neither an IP address nor a known host name"
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        if len(host) > 253 or not HOST_NAME.fullmatch(host):
            raise ServeError(problem) from None
    try:
        return socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError, ValueError):
        raise ServeError(
            f"--host {host!r} is neither an IP address nor a known host name"
        ) from None


def is_loopback(host: str) -> bool:
    """True when every address ``host`` names is a loopback address (127.0.0.0/8, ::1)."""
    addresses = {info[4][0] for info in resolve(host, 0)}
    try:
        return all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (port 0: any free port), or ``ServeError``."""
    family, kind, proto, _, address = resolve(host, port)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # not a second listener
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ServeError(_bind_problem(host, port, exc)) from None
    sock.setblocking(False)
    return sock


def _bind_problem(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use; choose another with --port"
    if exc.errno == errno.EACCES:
        return f"port {port} needs administrator rights; choose one above 1023 with --port"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this machine; choose another --host"
    return f"cannot listen on {host} port {port}: {exc.strerror}"


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def no_auth_warning(host: str, port: int) -> str:
    """The one line printed when the server listens beyond this machine."""
    return (
        f"esper-tui: warning: serving on {host} port {port} with no authentication: anyone who "
        f"can reach it can watch; keep the default 127.0.0.1 and use an SSH tunnel "
        f"(ssh -L {port}:127.0.0.1:{port} THIS_HOST), or put it behind an authenticating proxy"
    )


class Visitor(AppService):
    """One visitor's app process. ``process`` is the subprocess textual-serve opened (it keeps
    it in ``_process``; textual-serve is pinned to 1.1.3, whose attribute this reads)."""

    @property
    def process(self) -> asyncio.subprocess.Process | None:
        return self._process


@dataclass(eq=False)  # kept in a set: identity, not value
class Visit:
    service: Visitor
    websocket: web.WebSocketResponse
    ending: asyncio.Event = field(default_factory=asyncio.Event)


class ViewerServer(Server):
    """textual-serve's server, run on an already bound socket, with one tracked process per
    visit. ``command`` is called at each visit and returns the shell command of its viewer."""

    def __init__(self, command: Callable[[], str], sock: socket.socket, title: str) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(command="", host=host, port=port, title=title)
        self.sock = sock
        self.url = url_of(sock)
        self.visitor_command = command
        self.visits: set[Visit] = set()
        self.visits_started = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Serve on the bound socket (no request is answered before this)."""
        app = await self._make_app()
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, self.sock, shutdown_timeout=1.0).start()

    async def on_startup(self, app: web.Application) -> None:
        """textual-serve prints a logo here; the command line prints its own line instead."""

    @aiohttp_jinja2.template("app_index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        """The page, its websocket at the address the browser used (a tunnel may map another
        port); ``fontsize`` from the query as in textual-serve."""
        try:
            font_size = max(6, min(int(request.query.get("fontsize", "16")), 48))
        except ValueError:
            font_size = 16
        secure = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
        return {
            "font_size": font_size,
            "app_websocket_url": f"{'wss' if secure else 'ws'}://{request.host}/ws",
            "config": {"static": {"url": "/static/"}},
            "application": {"name": self.title},
        }

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One visit: a websocket and its own viewer process, ended together."""
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        width = _cells(request.query.get("width"), 80)
        height = _cells(request.query.get("height"), 24)

        async def close() -> None:  # the viewer said it exited
            await websocket.close()

        service = Visitor(
            self.visitor_command(),
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=close,
            download_manager=self.download_manager,
        )
        visit = Visit(service, websocket)
        self.visits.add(visit)
        self.visits_started += 1
        watcher: asyncio.Task[None] | None = None
        try:
            await service.start(width, height)
            watcher = asyncio.create_task(self._close_when_viewer_ends(visit))
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # noqa: BLE001 - a visitor's bad message ends only that visit
            log.warning("a visit ended on %s: %s", type(exc).__name__, exc)
        finally:
            await self._end(visit)
            self.visits.discard(visit)
            if watcher is not None:
                watcher.cancel()
        return websocket

    async def _close_when_viewer_ends(self, visit: Visit) -> None:
        """A viewer that exits (``q``, or a record it could not open) closes its page's socket,
        so the page says "Session ended" instead of waiting forever."""
        process = visit.service.process
        if process is not None:
            await process.wait()
            await visit.websocket.close()

    async def _process_messages(
        self, websocket: web.WebSocketResponse, service: AppService
    ) -> None:
        """The browser's messages to its viewer: keys, sizes (clamped: a forged size must not
        make the viewer allocate a screen of millions of cells), focus and pings. Anything
        else, or anything malformed, is dropped."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
            except (ValueError, RecursionError):
                continue
            if not isinstance(envelope, list) or not envelope:
                continue
            kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            if kind == "stdin" and isinstance(data, str):
                await service.send_bytes(data.encode("utf-8", "replace"))
            elif kind == "resize" and isinstance(data, dict):
                width, height = _cells(data.get("width"), 80), _cells(data.get("height"), 24)
                await service.set_terminal_size(width, height)
            elif kind == "ping" and isinstance(data, str):
                await websocket.send_json(["pong", data[:64]])
            elif kind == "blur":
                await service.blur()
            elif kind == "focus":
                await service.focus()

    async def _end(self, visit: Visit) -> None:
        """Ask the viewer to quit; terminate it, then kill it, if it does not; close the socket."""
        if visit.ending.is_set():
            return
        visit.ending.set()
        process = visit.service.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(Exception):
                await visit.service.send_meta({"type": "quit"})
            for grace, end in ((QUIT_GRACE_S, process.terminate), (TERM_GRACE_S, process.kill)):
                try:
                    await asyncio.wait_for(process.wait(), grace)
                    break
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        end()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), TERM_GRACE_S)
        with contextlib.suppress(Exception):
            await visit.websocket.close()

    def viewer_pids(self) -> list[int]:
        """The processes of the visits now open."""
        return [
            v.service.process.pid
            for v in self.visits
            if v.service.process is not None and v.service.process.returncode is None
        ]

    async def close(self) -> None:
        """End every visit and stop listening."""
        await asyncio.gather(*(self._end(visit) for visit in list(self.visits)))
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def _cells(value: object, default: int) -> int:
    """A terminal dimension from the browser, as a whole number in 1..MAX_CELLS."""
    try:
        return max(1, min(int(value or default), MAX_CELLS))  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return default
