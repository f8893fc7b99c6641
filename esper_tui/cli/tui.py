"""``esper-tui``: watch an IQL controller and the heuristic grow seeds, live.

Everything that can be checked before the terminal is taken over is checked here; each bad
input ends with one sentence on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import signal
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from esper_tui.cli.common import (
    OneLineParser,
    UsageError,
    add_run_flags,
    bounded_float,
    check_distinct,
    escaping_streams,
    positive_float,
    run_config_from_args,
    say,
    warn,
)
from esper_tui.cli.common import fail as _fail
from esper_tui.cli.serve import add_serve_flags
from esper_tui.stop_signals import exit_code, leave_now

if TYPE_CHECKING:  # imported where used, to keep --help fast
    from esper_tui.sources import DataSource
    from esper_tui.store import TelemetryStore

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "assets" / "default_iql.pt"
RUNS_DIR = Path("runs")


def fail(message: str) -> NoReturn:
    """One sentence on stderr and exit code 2."""
    _fail(message, "esper-tui")


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="esper-tui",
        description="Watch an IQL seed controller against the heuristic, live, per seed. With no "
        "arguments: the bundled policy against the heuristic on the synthetic task, head-to-head.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="keys: space pause/resume training · arrows or h j k l select a seed · p pause/resume "
        "seed · c cull seed · enter seed detail · tab next panel · s screenshot · r runs · ? help · q quit",
    )
    parser.add_argument(
        "--model",
        action="append",
        metavar="PATH",
        help="an IQL checkpoint (esper-iql train, or the plan's format); give it twice "
        "for two IQL lanes beside the heuristic (default: the bundled policy)",
    )
    parser.add_argument(
        "--mode",
        choices=("head-to-head", "shadow"),
        default="head-to-head",
        help="head-to-head: each lane trains its own identical copy; shadow: the "
        "heuristic trains and the models' choices on the same state are shown beside it",
    )
    add_run_flags(parser, epochs=25, episodes=3)
    parser.add_argument(
        "--record",
        metavar="FILE",
        help="write every record to FILE (JSON lines; default: a new runs/esper-<timestamp>.jsonl)",
    )
    parser.add_argument("--no-record", action="store_true", help="do not write a record file")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace an existing --record file (never one another run is writing)",
    )
    parser.add_argument(
        "--replay", metavar="FILE", help="replay a recorded run instead of training"
    )
    parser.add_argument(
        "--follow",
        metavar="FILE",
        help="watch a record file that another process is still writing "
        "(e.g. esper-iql compare --record FILE)",
    )
    parser.add_argument(
        "--runs",
        nargs="?",
        const=str(RUNS_DIR),
        metavar="DIR",
        help="list the record files in DIR and one level below (default runs/), newest first; "
        "open one (enter), select runs (space) and compare them (c)",
    )
    parser.add_argument(
        "--speed",
        type=bounded_float(0.01, 10_000.0),
        default=4.0,
        metavar="EPOCHS_PER_S",
        help="replay speed in epoch records per second, 0.01-10000 (default 4)",
    )
    parser.add_argument(
        "--refresh",
        type=positive_float,
        default=4.0,
        metavar="HZ",
        help="screen refresh rate, 0.5-30 Hz (default 4)",
    )
    add_serve_flags(parser)
    return parser


@dataclass
class Launch:
    """What the app needs, everything already validated."""

    store: TelemetryStore
    session: DataSource | None
    refresh: float
    record_path: Path | None
    controls: bool  # False for replay/follow: there is no trainer to command
    runs_folder: Path | None = None  # --runs: the workspace instead of one run
    speed: float = 4.0


def prepare(args: argparse.Namespace) -> Launch:
    """Validate every input and build the store and its feeder; exits 2 on the first problem,
    and on a missing terminal once the inputs are checked, before anything is made."""
    from esper_tui.store import TelemetryStore

    if not 0.5 <= args.refresh <= 30:
        fail(f"--refresh {args.refresh:g} Hz is outside 0.5-30")
    if args.runs is not None:
        return _prepare_runs(args)
    source = args.replay or args.follow
    if args.served and not source:
        fail("--served is the read-only viewer of --serve; it shows a record and never trains")
    if args.replay and args.follow:
        fail("--replay and --follow cannot be combined; choose one file to watch")
    if source:
        if args.model:
            fail("--model trains a new run; it cannot be combined with --replay or --follow")
        if args.record:
            fail("--record writes a new run; a replayed run is already recorded")
        from esper_tui.record_open import ReplayError, check_readable
        from esper_tui.replay import RecordFeeder

        try:
            path = check_readable(source, follow=bool(args.follow))
        except ReplayError as exc:
            fail(str(exc))
        _require_terminal(args)
        store = TelemetryStore(source="follow" if args.follow else "replay")
        feeder = RecordFeeder(path, store, speed=args.speed, follow=bool(args.follow), linger=True)
        return Launch(store, feeder, args.refresh, None, controls=False)
    return _prepare_live(args)


def _prepare_runs(args: argparse.Namespace) -> Launch:
    """--runs DIR: a folder to list; nothing trains and nothing is written."""
    from esper_tui.store import TelemetryStore
    from training.util.safe_io import PathError, check_input_dir

    for flag, given in (
        ("--model", args.model),
        ("--replay", args.replay),
        ("--follow", args.follow),
        ("--record", args.record),
    ):
        if given:
            fail(f"--runs lists recorded runs; it cannot be combined with {flag}")
    try:
        folder = check_input_dir(args.runs, "runs folder")
    except PathError as exc:
        hint = (
            "; start a run first (esper-tui) or pass --runs DIR"
            if args.runs == str(RUNS_DIR)
            else ""
        )
        fail(f"{exc}{hint}")
    return Launch(
        TelemetryStore(source="replay"),
        None,
        args.refresh,
        None,
        controls=False,
        runs_folder=folder,
        speed=args.speed,
    )


def _prepare_live(args: argparse.Namespace) -> Launch:
    from esper_tui.cli.lanes import load_model_lanes
    from esper_tui.session import TrainerThread
    from esper_tui.store import TelemetryStore
    from training.runs.lanes import Lane

    try:
        check_distinct([("--record", args.record)], [("--model", m) for m in args.model or ()])
        config = run_config_from_args(args, args.mode)
    except UsageError as exc:
        fail(str(exc))
    models = args.model or [str(DEFAULT_MODEL)]
    if not args.model and not DEFAULT_MODEL.is_file():
        fail(
            f"the bundled policy {DEFAULT_MODEL} is missing; reinstall, run 'make default-policy', or pass --model"
        )
    try:
        lanes = [Lane.heuristic()] + load_model_lanes(models, config.env.device)
    except UsageError as exc:
        fail(str(exc))
    if args.no_record and args.record:
        fail("--record and --no-record contradict each other; choose one")
    if args.record:
        from training.util.safe_io import PathError, check_output_file

        try:
            check_output_file(args.record, "the record", args.force)  # refused now, created below
        except PathError as exc:
            fail(str(exc))
    _require_terminal(args)
    writer = None if args.no_record else _record_file(args.record, args.force)
    store = TelemetryStore(writer=writer)
    return Launch(
        store, TrainerThread(config, lanes, store), args.refresh, store.record_path, controls=True
    )


def _record_file(requested: str | None, force: bool):
    """The record, created exclusively and locked (a second run on the same file is refused)."""
    from esper_tui.record_writer import RecordFile
    from training.util.safe_io import PathError

    if requested:
        path = Path(requested).expanduser()
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        try:
            RUNS_DIR.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            fail(
                f"cannot create the folder {RUNS_DIR} for the record: {exc.strerror}; pass --record or --no-record"
            )
        path = RUNS_DIR / f"esper-{stamp}.jsonl"
        n = 1
        while path.exists() or path.is_symlink():
            n += 1
            path = RUNS_DIR / f"esper-{stamp}-{n}.jsonl"
    try:
        return RecordFile(path, force=force)
    except PathError as exc:
        fail(str(exc))


def main(argv: list[str] | None = None) -> int:
    escaping_streams()
    try:
        return _main(argv)
    except KeyboardInterrupt:  # ctrl+c while loading, before the app owns the terminal
        warn("interrupted before the run started", "esper-tui")
        return exit_code(signal.SIGINT)


def missing_terminal() -> str | None:
    """The TUI reads keys from stdin, takes its size from stdout and draws on stderr: without a
    terminal on each (a job scheduler, ``</dev/null >out 2>err``) it would fill a file with
    escape codes and never read a key. One sentence saying what to run instead, or None."""
    missing = [
        name for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")) if not os.isatty(fd)
    ]
    if not missing:
        return None
    if len(missing) == 1:
        which = f"its {missing[0]} is not one"
    else:
        which = f"its {', '.join(missing[:-1])} and {missing[-1]} are not terminals"
    return (
        f"esper-tui needs a terminal, and {which}; to run without a screen use esper-iql compare "
        "--record FILE, and watch that run from a terminal with esper-tui --follow FILE"
    )


def _require_terminal(args: argparse.Namespace) -> None:
    """After every input is checked, before anything is made (a record, a thread). Serving needs
    none: --serve trains headless and draws nothing, and each --served viewer draws for a
    browser through textual-serve's pipes."""
    if args.serve or args.served:
        return
    problem = missing_terminal()
    if problem is not None:
        fail(problem)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.serve:
        from esper_tui.cli.serve import serve_main

        return serve_main(args, parser, prepare)
    launch = prepare(args)
    if args.served:
        from esper_tui.cli.serve import end_with_the_server

        end_with_the_server()
    from esper_tui.app import EsperApp
    from esper_tui.heap import freeze_startup_heap

    if launch.runs_folder is not None:
        app = EsperApp.for_runs(
            launch.runs_folder, launch.speed, launch.refresh, served=args.served
        )
    else:
        app = EsperApp(
            launch.store,
            launch.session,
            refresh_hz=launch.refresh,
            record_path=launch.record_path,
            controls=launch.controls,
            replay_speed=launch.speed,
            served=args.served,
        )
    freeze_startup_heap()  # the trainer thread shares the GIL with the UI's collections
    app.run()
    code = app.return_code or 0
    try:
        code = _after_exit(app, launch, code, served=args.served)
    except OSError:  # the terminal went away (a hangup): the lines have nowhere to go
        for fd in (1, 2):
            os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
        error = getattr(launch.store, "record_error", None)
        code = code or (1 if error is not None else 0)
    if code > 128:  # a signal or a hangup: all is written and closed, and torch's teardown is slow
        leave_now(code)
    return code


def _after_exit(app, launch, code: int, served: bool = False) -> int:
    """The exit line; a record that could not be written is rescued (first: the lines may
    have nowhere to go) and named. A served viewer prints no exit line: its stdout is the
    browser's channel."""
    error = getattr(launch.store, "record_error", None)
    problem = None
    if error is not None:
        rescued = launch.store.rescue_record()
        where = (
            f"the whole run was saved to {rescued} instead"
            if rescued
            else "the run could not be saved elsewhere either"
        )
        problem = f"{error}; {where}"
    summary = app.exit_summary()
    if summary and not served:
        say(summary)
    if problem is not None:
        warn(problem, "esper-tui")
        return code or 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
