"""``esper-iql collect``: the heuristic, with a share of uniformly random valid actions, plays
episodes whose transitions go to an .npz under every feature set (and, if asked, its records
to a replayable .jsonl).
"""

from __future__ import annotations

from collections import Counter

from esper_tui.cli.common import add_run_flags, probability, say, warn
from esper_tui.cli.headless import open_record, output, record_problem
from esper_tui.cli.iql_steps import (
    PROG,
    action_histogram,
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


def add_collect_parser(sub) -> None:
    c = sub.add_parser(
        "collect", help="record heuristic behaviour with ε-random actions to an .npz"
    )
    c.add_argument(
        "-o", "--output", required=True, metavar="FILE.npz", help="where to write the transitions"
    )
    c.add_argument(
        "--epsilon",
        type=probability,
        default=0.2,
        help="share of uniformly random valid actions (default 0.2)",
    )
    c.add_argument(
        "--features",
        choices=("seed", "none", "full"),
        default="seed",
        help="state features: seed (37, default), none (27) or full (54)",
    )
    c.add_argument(
        "--record", metavar="FILE.jsonl", help="also write the behaviour run's records (replayable)"
    )
    c.add_argument("--force", action="store_true", help="replace an existing output or record file")
    add_run_flags(c, episodes=4)
    add_parallel_flags(c)


def run_collect(args) -> int:
    from dataclasses import replace

    from training.runs.collect import collect

    if args.epochs < 2:
        fail("collect needs at least 2 epochs per episode to form a transition")
    checked_distinct([("-o", args.output), ("--record", args.record)])
    path = output(args.output, "the dataset", args.force)
    config = checked_run_config(args)
    backend = checked_backend(args, config)
    begin_work(args, config)
    writer = open_record(args.record, args.force)
    try:
        with backend, EpisodeProgress("collect", args.episodes) as progress:
            transitions, metadata = collect(
                config,
                args.epsilon,
                args.features,
                record_sink(writer),
                stop_event=args.signals.stop,
                backend=backend,
                progress=progress,
                threads=args.threads,
            )
    finally:
        problem = record_problem(writer)
    errors = {int(k): v for k, v in metadata.pop("errors").items()}
    stopped = args.signals.signum is not None
    if stopped and problem is not None:  # the record failed too: where its lines went, first
        warn(problem, PROG)
    if len(transitions) == 0:
        if stopped:
            return ended_by_signal(args, "no episode had finished, so nothing was written")
        failed_exit(errors, args.record)
        warn(f"no episode finished, so {path} was not written", PROG)
        return 1
    kept = replace(transitions, metadata=metadata)  # without the errors, which went to stderr
    failure = deliver(path, kept.to_npz, "the dataset", args.force)
    counts = Counter(transitions.actions.tolist())
    if failure is None:
        say(
            f"wrote {len(transitions)} transitions ({metadata['state_dim']} features, '{args.features}'; "
            f"all of {', '.join(metadata['feature_sets'])} stored) to {path}"
        )
    say(f"action histogram: {action_histogram(counts)}")
    if stopped:
        if failure is not None:
            return ended_by_signal(
                args, f"the {metadata['episodes']} finished episode(s) were kept, but {failure}"
            )
        return ended_by_signal(
            args,
            f"wrote the {metadata['episodes']} finished episode(s), {len(transitions)} "
            f"transitions, to {path}",
        )
    if failure is not None:  # the work is done, its output is elsewhere: say where, exit 1
        warn(failure, PROG)
    if problem is not None:  # the run finished but its record did not: say so, exit 1
        warn(problem, PROG)
    if failure is not None or problem is not None:
        return 1
    return failed_exit(errors, args.record)
