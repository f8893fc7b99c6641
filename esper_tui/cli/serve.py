"""``esper-tui --serve``: the dashboard in browsers, read-only, one viewer process per visitor.

What is served: a record (``--replay`` / ``--follow``), the runs screen of a folder
(``--runs DIR``, or ``runs/``), or, with ``--model``, a run that trains here, headless, writing
its record while each visitor follows it. Everything is checked, and the port bound, before
anything starts; each problem is one sentence and exit 2. SIGINT, SIGTERM and SIGHUP end every
visitor's process and stop the training the way ``q`` does (a ``stopped`` event, the record
flushed and closed).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import os
import shlex
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, Protocol

from esper_tui.cli.common import add_run_flags, bounded_int
from esper_tui.cli.common import fail as _fail
from esper_tui.stop_signals import STOP_SIGNALS, exit_code, signal_name

if TYPE_CHECKING:
    from esper_tui.sources import DataSource
    from esper_tui.store import TelemetryStore


class Launch(Protocol):
    """What ``esper_tui.cli.tui.prepare`` builds for a training run (passed in, so that this
    module does not import the command line that imports it)."""

    store: TelemetryStore
    session: DataSource | None
    record_path: Path | None


DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
RUNS_DIR = Path("runs")
JOIN_TIMEOUT_S = 15.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def fail(message: str) -> NoReturn:
    _fail(message, "esper-tui")


def add_serve_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "serving to browsers",
        "esper-tui --serve shows read-only views in a web browser; each visitor gets its own "
        "viewer process, which cannot train, command the trainer or write a file",
    )
    group.add_argument(
        "--serve",
        action="store_true",
        help="serve the dashboard to browsers: --replay/--follow FILE, the runs screen of --runs DIR "
        "(default runs/), or with --model train here, headless, while visitors watch",
    )
    group.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address --serve listens on (default {DEFAULT_HOST}, this machine only; any "
        "other address has no authentication: prefer an SSH tunnel)",
    )
    group.add_argument(
        "--port",
        type=bounded_int(0, 65535, "--port"),
        default=DEFAULT_PORT,
        help=f"port --serve listens on (default {DEFAULT_PORT}; 0: any free port, printed)",
    )
    # the viewer process of one visitor (started by --serve): read-only, never a trainer
    group.add_argument("--served", action="store_true", help=argparse.SUPPRESS)


@dataclass
class Plan:
    """What the server serves, decided and checked before it starts."""

    what: str  # for the printed line and the page title
    viewer: Callable[[], list[str]]  # the viewer's arguments after ``esper-tui``, per visit
    trains: bool = False


def plan(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Plan:
    """Check the flags and the record or folder; exits 2 on the first problem."""
    from esper_tui.record_open import ReplayError, check_readable

    if args.served:
        fail("--served is the viewer that --serve starts for each visitor; use --serve")
    given = {"--replay": args.replay, "--follow": args.follow, "--runs": args.runs}
    sources = [flag for flag, value in given.items() if value]
    if len(sources) > 1:
        fail(f"{' and '.join(sources)} cannot be combined; serve one record or one folder")
    if sources and args.model:
        fail(f"--model trains a new run; it cannot be combined with {sources[0]}")
    shown = ["--refresh", f"{args.refresh:g}"]
    if args.model:
        if args.no_record:
            fail("visitors follow the record of the run, so --serve cannot train with --no-record")
        return Plan("a training run", lambda: shown, trains=True)
    unused = _training_flags_given(args, parser)
    if unused:
        fail(
            f"{unused} only applies to a new training run; add --model FILE to train while serving"
        )
    if args.replay or args.follow:
        try:
            path = check_readable(args.replay or args.follow).resolve()
        except ReplayError as exc:
            fail(str(exc))
        if args.replay:
            speed = ["--speed", f"{args.speed:g}"]
            return Plan(f"a replay of {path}", lambda: [*shown, *speed, "--replay", str(path)])
        return Plan(f"a follow of {path}", lambda: [*shown, "--follow", str(path)])
    from training.util.safe_io import PathError, check_input_dir

    try:
        folder = check_input_dir(Path(args.runs or RUNS_DIR).expanduser(), "runs folder")
    except PathError as exc:
        fail(f"{exc}; pass --runs DIR, --follow FILE or --replay FILE")
    listed = [*shown, "--speed", f"{args.speed:g}", "--runs", str(folder.resolve())]
    return Plan(f"the runs in {folder.resolve()}", lambda: listed)


def _training_flags_given(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str | None:
    """The first flag given that only a training run would use, as the user wrote it."""
    probe = argparse.ArgumentParser(add_help=False)
    add_run_flags(probe)
    only_training = [*vars(probe.parse_args([])), "mode", "record", "no_record", "force"]
    for dest in only_training:
        if getattr(args, dest) != parser.get_default(dest):
            return "--" + dest.replace("_", "-")
    return None


def end_with_the_server() -> None:
    """In a visitor's viewer: a SIGTERM when the server goes, even by SIGKILL (Linux's
    ``PR_SET_PDEATHSIG``), so that no viewer outlives it; the signal ends the app like ``q``."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the server's own shutdown ends its viewers
        return
    if os.getppid() != parent or parent == 1:  # the server is already gone
        os.kill(os.getpid(), signal.SIGTERM)


def viewer_command(arguments: list[str]) -> str:
    """The shell command of one visitor's viewer; ``exec`` so the process is the viewer."""
    argv = [sys.executable, "-m", "esper_tui.cli", "--served", *arguments]
    return "exec " + shlex.join(argv)


def serve_main(
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    prepare: Callable[[argparse.Namespace], Launch],
) -> int:
    """``esper-tui --serve``: check, bind, (train,) serve until a stop signal; the exit code."""
    from esper_tui.heap import freeze_startup_heap
    from esper_tui.serve import ServeError, bind, is_loopback, no_auth_warning

    served = plan(args, parser)
    try:
        loopback = is_loopback(args.host)
        sock = bind(args.host, args.port)
    except ServeError as exc:
        fail(str(exc))
    try:
        launch = None
        if served.trains:
            launch = prepare(args)  # loads the models, creates and locks the record
            record = launch.record_path
            assert record is not None  # --no-record was refused
            follow = ["--follow", str(record.resolve())]
            base = served.viewer()
            served = Plan(f"training into {record}", lambda: [*base, *follow], trains=True)
        if not loopback:
            sys.stderr.write(no_auth_warning(args.host, sock.getsockname()[1]) + "\n")
        freeze_startup_heap()  # the trainer thread shares the GIL with the server's collections
        return asyncio.run(_serve(served, sock, launch))
    finally:
        sock.close()


async def _serve(served: Plan, sock, launch: Launch | None) -> int:
    from esper_tui.serve import ViewerServer

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    caught: list[int] = []
    server = ViewerServer(lambda: viewer_command(served.viewer()), sock, f"Esper · {served.what}")

    def on_signal(signum: int) -> None:
        caught.append(signum)
        stop.set()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal, int(sig))
    await server.start()
    trainer = launch.session if launch is not None else None
    watcher = None
    if launch is not None and trainer is not None:
        trainer.start()
        watcher = asyncio.create_task(_announce_end(launch, stop))
    stops = "the training and the server" if trainer is not None else "the server"
    print(
        f"esper-tui: serving {served.what} at {server.url} (read-only views, one process per "
        f"visitor); ctrl+c stops {stops}",
        flush=True,
    )
    await stop.wait()
    signum = caught[0]
    await asyncio.gather(server.close(), _stop_training(launch, f"by {signal_name(signum)}"))
    if watcher is not None:
        watcher.cancel()
    code = exit_code(signum)
    if launch is not None:
        code = _report(launch) or code
    return code


async def _announce_end(launch: Launch, stop: asyncio.Event) -> None:
    """One line when the training ends by itself; the server goes on serving its record."""
    trainer = launch.session
    assert trainer is not None
    while trainer.is_alive():
        await asyncio.sleep(0.5)
    if stop.is_set():
        return
    view = launch.store.view()
    how = f"crashed ({view.crash.message})" if view.crash is not None else "finished"
    print(
        f"esper-tui: training {how}; visitors still see its record {launch.record_path}; "
        "ctrl+c stops the server",
        flush=True,
    )


async def _stop_training(launch: Launch | None, reason: str) -> None:
    """Like ``q``: the trainer stops at a batch boundary with a ``stopped`` event, then the
    record is flushed and closed."""
    if launch is None:
        return
    trainer = launch.session
    if trainer is not None:
        await asyncio.to_thread(trainer.stop, JOIN_TIMEOUT_S, reason)  # type: ignore[call-arg]
    launch.store.flush()
    launch.store.close()


def _report(launch: Launch) -> int:
    """The line printed after a served training run: its record and the paired result."""
    view = launch.store.view()
    result = "; ".join(p.summary() for p in view.paired) or "no paired result yet"
    print(f"esper-tui: record: {launch.record_path} · {result}", flush=True)
    error = launch.store.record_error
    if error is None:
        return 0
    rescued = launch.store.rescue_record()
    where = f"the whole run was saved to {rescued} instead" if rescued else "it was not saved"
    sys.stderr.write(f"esper-tui: {error}; {where}\n")
    return 1
