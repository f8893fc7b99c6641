"""``esper-tui``: watch an IQL controller and the heuristic grow seeds, live.

Everything that can be checked before the terminal is taken over is checked here; each bad
input ends with one sentence on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from esper_tui.cli_common import (
    OneLineParser,
    UsageError,
    add_run_flags,
    positive_float,
    run_config_from_args,
)
from esper_tui.cli_common import fail as _fail

DEFAULT_MODEL = Path(__file__).resolve().parent / "assets" / "default_iql.pt"
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
        "seed · c cull seed · enter seed detail · tab next panel · s screenshot · ? help · q quit",
    )
    parser.add_argument("--model", action="append", metavar="PATH",
                        help="an IQL checkpoint (esper-iql train, or the plan's format); give it twice "
                        "for two IQL lanes beside the heuristic (default: the bundled policy)")
    parser.add_argument("--mode", choices=("head-to-head", "shadow"), default="head-to-head",
                        help="head-to-head: each lane trains its own identical copy; shadow: the "
                        "heuristic trains and the models' choices on the same state are shown beside it")
    add_run_flags(parser, epochs=25, episodes=3)
    parser.add_argument("--record", metavar="FILE", help="write every record to FILE (JSON lines; "
                        "default: a new runs/esper-<timestamp>.jsonl)")
    parser.add_argument("--no-record", action="store_true", help="do not write a record file")
    parser.add_argument("--replay", metavar="FILE", help="replay a recorded run instead of training")
    parser.add_argument("--follow", metavar="FILE",
                        help="watch a record file that another process is still writing "
                        "(e.g. esper-iql compare --record FILE)")
    parser.add_argument("--speed", type=positive_float, default=4.0, metavar="EPOCHS_PER_S",
                        help="replay speed in epoch records per second (default 4)")
    parser.add_argument("--refresh", type=positive_float, default=4.0, metavar="HZ",
                        help="screen refresh rate, 0.5-30 Hz (default 4)")
    return parser


@dataclass
class Launch:
    """What the app needs, everything already validated."""

    store: object
    session: object | None
    refresh: float
    record_path: Path | None
    controls: bool  # False for replay/follow: there is no trainer to command


def prepare(args: argparse.Namespace) -> Launch:
    """Validate every input and build the store and its feeder; exits 2 on the first problem."""
    from esper_tui.store import TelemetryStore

    if not 0.5 <= args.refresh <= 30:
        fail(f"--refresh {args.refresh:g} Hz is outside 0.5-30")
    source = args.replay or args.follow
    if args.replay and args.follow:
        fail("--replay and --follow cannot be combined; choose one file to watch")
    if source:
        if args.model:
            fail("--model trains a new run; it cannot be combined with --replay or --follow")
        if args.record:
            fail("--record writes a new run; a replayed run is already recorded")
        from esper_tui.replay import RecordFeeder, ReplayError, check_readable

        try:
            path = check_readable(source)
        except ReplayError as exc:
            fail(str(exc))
        store = TelemetryStore(source="follow" if args.follow else "replay")
        feeder = RecordFeeder(path, store, speed=args.speed, follow=bool(args.follow))
        return Launch(store, feeder, args.refresh, None, controls=False)
    return _prepare_live(args)


def _prepare_live(args: argparse.Namespace) -> Launch:
    from esper_tui.lanes import load_model_lanes
    from esper_tui.session import TrainerThread
    from esper_tui.store import TelemetryStore
    from training.comparison import Lane

    try:
        config = run_config_from_args(args, args.mode)
    except UsageError as exc:
        fail(str(exc))
    models = args.model or [str(DEFAULT_MODEL)]
    if not args.model and not DEFAULT_MODEL.is_file():
        fail(f"the bundled policy {DEFAULT_MODEL} is missing; reinstall, run 'make default-policy', or pass --model")
    try:
        lanes = [Lane.heuristic()] + load_model_lanes(models, config.env.device)
    except UsageError as exc:
        fail(str(exc))
    record_path = None if args.no_record else _record_path(args.record)
    store = TelemetryStore(record_path)
    return Launch(store, TrainerThread(config, lanes, store), args.refresh, record_path, controls=True)


def _record_path(requested: str | None) -> Path:
    if requested:
        path = Path(requested).expanduser()
    else:
        path = RUNS_DIR / f"esper-{datetime.now().strftime('%Y%m%d-%H%M%S')}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        fail(f"--record {path} is a folder, not a file")
    if not path.parent.is_dir():
        fail(f"cannot write the record {path}: folder {path.parent} does not exist")
    if path.exists() and path.stat().st_size > 0:
        fail(f"the record {path} already exists; choose a new file so that no run is lost")
    try:
        path.touch()
    except OSError as exc:
        fail(f"cannot write the record {path}: {exc.strerror}")
    return path


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    launch = prepare(args)
    from esper_tui.app import EsperApp

    app = EsperApp(launch.store, launch.session, refresh_hz=launch.refresh,
                   record_path=launch.record_path, controls=launch.controls)  # fmt: skip
    app.run()
    summary = app.exit_summary()
    if summary:
        print(summary)
    return app.return_code or 0


if __name__ == "__main__":
    raise SystemExit(main())
