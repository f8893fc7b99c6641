"""``esper-iql compare``: the heuristic against each model on the same paired episodes, headless,
with the paired result, agreement on the same states, and a JSON report and a record if asked.
"""

from __future__ import annotations

import json

from esper_tui.cli.common import UsageError, add_run_flags, say, warn
from esper_tui.cli.headless import open_record, output, record_problem
from esper_tui.cli.iql_steps import (
    PROG,
    begin_work,
    checked_backend,
    checked_distinct,
    checked_run_config,
    deliver,
    ended_by_signal,
    fail,
    failed_exit,
)
from esper_tui.cli.parallel import EpisodeProgress, add_parallel_flags, record_sink
from esper_tui.cli.until_decided import (
    add_until_decided_flags,
    resolve_episodes,
    stopping_report,
    with_stopping,
)

COMPARE_EPISODES = 3  # compare's --episodes by default


def add_compare_parser(sub) -> None:
    m = sub.add_parser(
        "compare", help="headless paired comparison: the heuristic against each model"
    )
    m.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="FILE.pt",
        help="an IQL checkpoint; repeat it to compare several models",
    )
    m.add_argument(
        "--mode",
        choices=("head-to-head", "shadow"),
        default="head-to-head",
        help="head-to-head: every lane trains its own copy; shadow: the heuristic trains and the models only choose",
    )
    m.add_argument(
        "--report", metavar="FILE.json", help="write the paired result and action counts as JSON"
    )
    m.add_argument(
        "--record",
        metavar="FILE.jsonl",
        help="write every record (replay it with esper-tui --replay)",
    )
    m.add_argument("--force", action="store_true", help="replace an existing report or record file")
    add_run_flags(m, episodes=COMPARE_EPISODES)
    add_parallel_flags(m)
    add_until_decided_flags(m)


def run_compare(args) -> int:
    from esper_tui.cli.lanes import load_model_lanes
    from training.runs.driver import run_episodes
    from training.runs.lanes import Lane
    from training.runs.tally import PolicyTally

    checked_distinct(
        [("--report", args.report), ("--record", args.record)], [("--model", m) for m in args.model]
    )
    try:
        resolve_episodes(args, COMPARE_EPISODES)
    except UsageError as exc:
        fail(str(exc))
    config = with_stopping(checked_run_config(args, args.mode), args)
    report_path = output(args.report, "the report", args.force) if args.report else None
    failure = None
    try:
        # On the CPU when the episodes run on a cluster's GPUs, which this machine may lack.
        device = "cpu" if args.gpus_per_episode else config.env.device
        lanes = [Lane.heuristic()] + load_model_lanes(args.model, device, limit=None)
    except UsageError as exc:
        fail(str(exc))
    backend = checked_backend(args, config)
    begin_work(args, config)
    writer = open_record(args.record, args.force)
    tally, write = PolicyTally(), record_sink(writer)

    def sink(record) -> None:
        tally(record)  # agreement per lane, as the dashboard counts it
        write(record)

    try:
        with backend, EpisodeProgress("compare", args.episodes) as progress:
            result = run_episodes(
                config,
                lanes,
                sink,
                backend,
                progress=progress,
                threads=args.threads,
                stop=args.signals.stop,
            ).result
    finally:
        problem = record_problem(writer)
    for lane in result.lanes:
        accs = ", ".join(f"{a:.1f}" for a in result.accuracies(lane))
        say(
            f"{lane:>12}: final accuracy per episode [{accs}]; actions {result.action_counts(lane)}"
        )
    for paired in result.paired:
        say(paired.summary())
    if config.until_decided:
        say(f"until decided: {result.stop_reason(config.episodes)}")
    rate = result.agreement_rate()
    reference = "the executing lane (heuristic)" if args.mode == "shadow" else "the heuristic"
    agreement = {
        lane: tally.agreement(lane) for lane in result.lanes if tally.agreement(lane) is not None
    }
    for lane, share in agreement.items():
        hits, total = tally.agree[lane]
        say(
            f"{lane:>12}: agrees with {reference} on the same states {100 * (share or 0):.1f}% ({hits} of {total})"
        )
    if report_path is not None:
        report = {
            "run_id": result.run_id,
            "mode": result.mode,
            "episodes": len(result.episodes),
            "epochs": args.epochs,
            "preset": args.preset,
            "seed": args.seed,
            "lanes": {
                lane: {
                    "final_accuracy": result.accuracies(lane),
                    "actions": result.action_counts(lane),
                }
                for lane in result.lanes
            },
            "paired": [p.to_dict() for p in result.paired],
            "effect": config.effect,
            "until_decided": stopping_report(result, config) if config.until_decided else None,
            "agreement_rate": rate,
            "agreement_by_lane": agreement,
            "models": [str(m) for m in args.model],
            "stopped": result.stopped,
            "failed_episodes": result.failed,
        }
        failure = deliver(
            report_path,
            lambda tmp: tmp.write_text(json.dumps(report, indent=2) + "\n"),
            "the report",
            args.force,
        )
        if failure is None:
            say(f"wrote {report_path}")
        else:
            warn(failure, PROG)
    if args.signals.signum is not None:
        if problem is not None:  # the record failed too: where its lines went, first
            warn(problem, PROG)
        closed = f"; record {writer.path} closed" if writer is not None and problem is None else ""
        return ended_by_signal(args, f"{len(result.episodes)} episode(s) had finished{closed}")
    if problem is not None:  # the run finished but its record did not: say so, exit 1
        warn(problem, PROG)
    if failure is not None or problem is not None:
        return 1
    return failed_exit(result.errors, args.record)
