"""``esper-iql``: collect offline data, train IQL on it, compare policies headless.

esper-iql collect -o data.npz --episodes 8 --epochs 25 --epsilon 0.2 --features seed
esper-iql train data.npz -o iql.pt --steps 20000
esper-iql compare --model iql.pt --episodes 5 --report report.json --record run.jsonl
esper-iql compare --model iql.pt --until-decided --max-episodes 40 --workers 2
esper-iql ablate -o ablation/ --workers 2
esper-iql summarize runs/*.jsonl --json table.json
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from typing import NoReturn

from esper_tui.cli.ablate import add_ablate_parser, run_ablate
from esper_tui.cli.common import (
    OneLineParser,
    UsageError,
    add_run_flags,
    add_training_flags,
    check_distinct,
    escaping_streams,
    probability,
    say,
    warn,
)
from esper_tui.cli.common import fail as _fail
from esper_tui.cli.headless import (
    PathError,
    TrainingStopped,
    loss_guard,
    open_record,
    output,
    record_problem,
)
from esper_tui.cli.parallel import (
    EpisodeProgress,
    add_parallel_flags,
    make_backend,
    record_sink,
    run_config,
)
from esper_tui.cli.progress import ProgressBars
from esper_tui.cli.summarize import add_summarize_parser, run_summarize
from esper_tui.cli.until_decided import (
    add_until_decided_flags,
    resolve_episodes,
    stopping_report,
    with_stopping,
)
from esper_tui.stop_signals import StopSignals, leave_now, signal_name

PROG = "esper-iql"

COMPARE_EPISODES = 3  # compare's --episodes by default


def fail(message: str) -> NoReturn:
    """One sentence on stderr and exit code 2."""
    _fail(message, PROG)


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="esper-iql", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

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

    t = sub.add_parser("train", help="train IQL and a behaviour-cloning baseline on an .npz")
    t.add_argument("data", metavar="DATA.npz", help="transitions from esper-iql collect")
    t.add_argument(
        "-o", "--output", required=True, metavar="FILE.pt", help="where to write the checkpoint"
    )
    t.add_argument(
        "--features",
        choices=("seed", "none", "full"),
        default=None,
        help="which stored states to train on: none (27), seed (37) or full (54); "
        "default: the set the data was collected with",
    )
    add_training_flags(t, steps=20000, hidden=256, batch_size=True)
    t.add_argument(
        "--device",
        default="auto",
        metavar="auto|cpu|cuda[:N]",
        help="where to train (default auto)",
    )
    t.add_argument("--force", action="store_true", help="replace an existing checkpoint file")

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


# ----------------------------------------------------------------------------- shared


def _command(args) -> int:
    if args.command == "collect":
        return _collect(args)
    if args.command == "train":
        return _train(args)
    if args.command == "ablate":
        return run_ablate(args, fail)
    if args.command == "summarize":
        return run_summarize(args, fail)
    return _compare(args)


def _run_config(args, mode: str = "head-to-head"):
    try:
        return run_config(args, mode)
    except UsageError as exc:
        fail(str(exc))


def _stopped(args, message: str) -> int:
    """One sentence for a run ended by a signal; the exit code the shell expects."""
    warn(f"interrupted by {signal_name(args.signals.signum)}: {message}", PROG)
    return args.signals.code


BEHAVIOUR_SHARE = 0.95  # one action above this share of the data: the policy can learn little else


def data_warnings(actions, batch_size: int) -> list[str]:
    """What makes training on this data little use, in sentences: fewer transitions than one
    batch (every step resamples the same few) and a behaviour that is nearly one action."""
    from training.records import ACTION_NAMES

    n = len(actions)
    out = []
    if n < batch_size:
        out.append(
            f"only {n} transitions, fewer than one batch of {batch_size}: every step draws the same "
            f"few again (collect more episodes, or lower --batch-size)"
        )
    counts = Counter(int(a) for a in actions)
    if counts:
        action, k = counts.most_common(1)[0]
        if k / n > BEHAVIOUR_SHARE:
            name = ACTION_NAMES[action] if 0 <= action < len(ACTION_NAMES) else str(action)
            out.append(
                f"{k} of {n} transitions ({k / n:.0%}) are {name}: a policy learnt from them can do "
                f"little else (collect with a higher --epsilon)"
            )
    return out


def _histogram(counts: Counter | dict | tuple) -> str:
    """Share of each action, e.g. "WAIT 70%, GERMINATE_CONV 5%, ..."."""
    from training.env.actions import Action

    if isinstance(counts, tuple | list):
        counts = dict(enumerate(counts))
    total = sum(counts.values())
    return ", ".join(
        f"{a.name} {100.0 * counts.get(int(a), 0) / max(total, 1):.0f}%" for a in Action
    )


# ----------------------------------------------------------------------------- collect


def _collect(args) -> int:
    from dataclasses import replace

    from training.runs.collect import collect

    if args.epochs < 2:
        fail("collect needs at least 2 epochs per episode to form a transition")
    _distinct([("-o", args.output), ("--record", args.record)])
    path = output(args.output, "the dataset", args.force)
    config = _run_config(args)
    backend = _backend(args, config)
    _begin_work(args, config)
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
            return _stopped(args, "no episode had finished, so nothing was written")
        _failed_exit(errors, args.record)
        warn(f"no episode finished, so {path} was not written", PROG)
        return 1
    kept = replace(transitions, metadata=metadata)  # without the errors, which went to stderr
    failure = _deliver(path, kept.to_npz, "the dataset", args.force)
    counts = Counter(transitions.actions.tolist())
    if failure is None:
        say(
            f"wrote {len(transitions)} transitions ({metadata['state_dim']} features, '{args.features}'; "
            f"all of {', '.join(metadata['feature_sets'])} stored) to {path}"
        )
    say(f"action histogram: {_histogram(counts)}")
    if stopped:
        if failure is not None:
            return _stopped(
                args, f"the {metadata['episodes']} finished episode(s) were kept, but {failure}"
            )
        return _stopped(
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
    return _failed_exit(errors, args.record)


# ----------------------------------------------------------------------------- train


def _train(args) -> int:
    from training.policies.checkpoint import save_checkpoint
    from training.policies.dataset_checks import load_training_dataset
    from training.policies.iql import IQLConfig
    from training.policies.trainer import train_offline
    from training.util.devices import resolve_device

    _distinct([("-o", args.output)], [("dataset", args.data)])
    steps_done = [0]
    # Training keeps nothing until its checkpoint is written whole, so a signal ends it at once,
    # even inside a step that takes minutes (a large network): no waiting for a boundary.
    args.signals.at_once(
        lambda: (
            (
                f"after {steps_done[0]} training step(s)"
                if steps_done[0]
                else "before the first training step"
            )
            + "; no checkpoint was written"
        )
    )
    path = output(args.output, "the checkpoint", args.force)
    try:
        device = resolve_device(args.device)
        # special files, sane values, width
        dataset = load_training_dataset(args.data, args.features)
        config = IQLConfig(
            tau=args.tau, beta=args.beta, lr=args.lr, batch_size=args.batch_size, hidden=args.hidden
        )
    except ValueError as exc:
        fail(str(exc))
    n = len(dataset.actions)
    say(f"{args.data}: {n} transitions, {dataset.state_dim} features ('{dataset.feature_set}')")
    for warning in data_warnings(dataset.actions, config.batch_size):
        say(f"esper-iql: warning: {warning}", err=True)
    progress = ProgressBars("count", "info", "eta")
    bar = progress.add("train", total=args.steps, info="")
    every = max(args.steps // 10, 1)
    log: list[str] = []
    guard = loss_guard(args.signals.stop, args.signals)

    def report(step: int, losses: dict) -> None:
        guard(step, losses)
        steps_done[0] = step
        if step % every == 0 or step == args.steps:
            progress.update(
                bar, completed=step, info=f"L_V {losses['loss_v']:.4f} L_Q {losses['loss_q']:.4f}"
            )
            log.append(f"step {step:>6}: " + " ".join(f"{k} {v:.4f}" for k, v in losses.items()))
        elif (
            step % 100 == 0
        ):  # the bar moves with every block of steps (Rich redraws at its own pace)
            progress.update(bar, completed=step)

    try:
        with progress:
            result = train_offline(
                dataset, args.steps, config, seed=args.seed, progress=report, device=device
            )
    except ValueError as exc:
        fail(str(exc))
    except TrainingStopped as exc:  # a signal, or a NaN/inf loss
        warn(str(exc), PROG)
        return args.signals.code or 1
    for line in log:
        say(line)
    counts = result.action_counts
    say(f"action histogram, data: {_histogram(counts['data'])}")
    say(f"action histogram, IQL:  {_histogram(counts['iql'])}")
    say(f"action histogram, BC:   {_histogram(counts['bc'])}")
    say(
        f"agreement with the data: IQL {100.0 * result.agreement['iql']:.1f}%, "
        f"BC {100.0 * result.agreement['bc']:.1f}%"
    )
    metadata = dict(dataset.metadata)
    metadata.update(
        {"trained_steps": args.steps, "train_seed": args.seed, "source": str(args.data)}
    )
    failure = _deliver(
        path,
        lambda tmp: save_checkpoint(
            tmp, result.iql, result.normalizer, result.feature_set, metadata
        ),
        "the checkpoint",
        args.force,
    )
    if (
        failure is not None
    ):  # a full disk, the folder gone or read-only: the model is elsewhere, say where
        warn(failure, PROG)
        return 1
    say(f"wrote {path}")
    return 0


# ----------------------------------------------------------------------------- compare


def _compare(args) -> int:
    from esper_tui.cli.lanes import load_model_lanes
    from training.runs.driver import run_episodes
    from training.runs.lanes import Lane
    from training.runs.tally import PolicyTally

    _distinct(
        [("--report", args.report), ("--record", args.record)], [("--model", m) for m in args.model]
    )
    try:
        resolve_episodes(args, COMPARE_EPISODES)
    except UsageError as exc:
        fail(str(exc))
    config = with_stopping(_run_config(args, args.mode), args)
    report_path = output(args.report, "the report", args.force) if args.report else None
    failure = None
    try:
        # On the CPU when the episodes run on a cluster's GPUs, which this machine may lack.
        device = "cpu" if args.gpus_per_episode else config.env.device
        lanes = [Lane.heuristic()] + load_model_lanes(args.model, device, limit=None)
    except UsageError as exc:
        fail(str(exc))
    backend = _backend(args, config)
    _begin_work(args, config)
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
        failure = _deliver(
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
        return _stopped(args, f"{len(result.episodes)} episode(s) had finished{closed}")
    if problem is not None:  # the run finished but its record did not: say so, exit 1
        warn(problem, PROG)
    if failure is not None or problem is not None:
        return 1
    return _failed_exit(result.errors, args.record)


def _deliver(path, write, what: str, force: bool) -> str | None:
    """Write finished work to ``path``; None once written, else the sentence saying why it could
    not be (a full disk, the folder gone or read-only, the path taken meanwhile) and where the
    work was saved instead."""
    from training.util.safe_io import WriteFailed, write_or_rescue

    try:
        write_or_rescue(path, write, what, force)
    except WriteFailed as failure:
        return str(failure)
    return None


def _begin_work(args, config) -> None:
    """The last of the setup, while a signal still ends the process at once (nothing is made
    yet): the image task an in-process episode would build before its first batch. Then the
    work begins, and a signal stops it at the next batch boundary, keeping what finished."""
    if args.workers == 1 and not (args.ray or args.ray_address):
        from training.runs.episodes import cached_task

        cached_task(config.env.data_config())
    args.signals.at_once(None)


def _distinct(outputs, inputs=()) -> None:
    try:
        check_distinct(outputs, inputs)
    except UsageError as exc:
        fail(str(exc))


def _backend(args, config):
    try:
        return make_backend(args, config.env.data_config(), args.signals.stop)
    except UsageError as exc:
        fail(str(exc))


def _failed_exit(errors: dict[int, str], record: str | None) -> int:
    """Exit 1 when an episode failed, naming each with the last line of its traceback."""
    if not errors:
        return 0
    for episode, error in sorted(errors.items()):
        warn(f"episode {episode} failed: {error}", PROG)
    where = (
        f"in the record {record}" if record else "in the record (give --record FILE to keep them)"
    )
    warn(f"{len(errors)} episode(s) failed; their full tracebacks are {where}", PROG)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
