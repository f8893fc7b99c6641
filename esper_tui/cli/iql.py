"""``esper-iql``: collect offline data, train IQL on it, compare policies headless.

esper-iql collect -o data.npz --episodes 8 --epochs 25 --epsilon 0.2 --features seed
esper-iql train data.npz -o iql.pt --steps 20000
esper-iql compare --model iql.pt --episodes 5 --report report.json --record run.jsonl
esper-iql compare --model iql.pt --until-decided --max-episodes 40 --workers 2
esper-iql ablate -o ablation/ --workers 2
esper-iql summarize runs/*.jsonl --json table.json
"""

from __future__ import annotations

import os
import sys

from esper_tui.cli.ablate import add_ablate_parser, run_ablate
from esper_tui.cli.collect import add_collect_parser, run_collect
from esper_tui.cli.common import OneLineParser, escaping_streams, warn
from esper_tui.cli.compare import add_compare_parser, run_compare
from esper_tui.cli.headless import PathError
from esper_tui.cli.iql_steps import PROG, fail
from esper_tui.cli.summarize import add_summarize_parser, run_summarize
from esper_tui.cli.train import add_train_parser, run_train
from esper_tui.stop_signals import StopSignals, leave_now


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="esper-iql", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    add_collect_parser(sub)
    add_train_parser(sub)
    add_compare_parser(sub)
    add_ablate_parser(sub)
    add_summarize_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    escaping_streams()
    args = build_parser().parse_args(argv)
    try:
        with (
            StopSignals() as args.signals
        ):  # SIGINT/SIGTERM/SIGHUP: at once in setup, then at the next batch
            code = _command(args)
        if args.signals.signum is not None:
            # everything is written and closed; the interpreter's teardown takes seconds
            leave_now(code)
        return code
    except (
        BrokenPipeError
    ):  # stdout closed early (| head): the outputs are written, say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:  # a second signal: stop waiting
        warn("interrupted again; stopped without waiting for the current step", PROG)
        return 130
    except PathError as exc:
        fail(str(exc))


def _command(args) -> int:
    if args.command == "collect":
        return run_collect(args)
    if args.command == "train":
        return run_train(args)
    if args.command == "ablate":
        return run_ablate(args, fail)
    if args.command == "summarize":
        return run_summarize(args, fail)
    return run_compare(args)


if __name__ == "__main__":
    raise SystemExit(main())
