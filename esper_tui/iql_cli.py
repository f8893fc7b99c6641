"""``esper-iql``: collect offline data, train IQL on it, compare policies headless.

    esper-iql collect -o data.npz --episodes 8 --epochs 25 --epsilon 0.2 --features seed
    esper-iql train data.npz -o iql.pt --steps 20000
    esper-iql compare --model iql.pt --episodes 5 --report report.json --record run.jsonl
    esper-iql ablate -o ablation/ --workers 2
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import NoReturn

from esper_tui.ablate_cli import add_ablate_parser, run_ablate
from esper_tui.cli_common import (
    OneLineParser,
    UsageError,
    add_run_flags,
    positive_float,
    positive_int,
    probability,
)
from esper_tui.cli_common import fail as _fail
from esper_tui.parallel_cli import (
    EpisodeProgress,
    add_parallel_flags,
    make_backend,
    model_lane_specs,
    record_sink,
    run_config,
)


def fail(message: str) -> NoReturn:
    """One sentence on stderr and exit code 2."""
    _fail(message, "esper-iql")


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="esper-iql", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    c = sub.add_parser("collect", help="record heuristic behaviour with ε-random actions to an .npz")
    c.add_argument("-o", "--output", required=True, metavar="FILE.npz", help="where to write the transitions")
    c.add_argument("--epsilon", type=probability, default=0.2, help="share of uniformly random valid actions (default 0.2)")
    c.add_argument("--features", choices=("seed", "none", "full"), default="seed",
                   help="state features: seed (37, default), none (27) or full (54)")
    c.add_argument("--record", metavar="FILE.jsonl", help="also write the behaviour run's records (replayable)")
    add_run_flags(c, episodes=4)
    add_parallel_flags(c)

    t = sub.add_parser("train", help="train IQL and a behaviour-cloning baseline on an .npz")
    t.add_argument("data", metavar="DATA.npz", help="transitions from esper-iql collect")
    t.add_argument("-o", "--output", required=True, metavar="FILE.pt", help="where to write the checkpoint")
    t.add_argument("--features", choices=("seed", "none", "full"), default=None,
                   help="which stored states to train on: none (27), seed (37) or full (54); "
                   "default: the set the data was collected with")
    t.add_argument("--steps", type=positive_int, default=20000, help="gradient steps (default 20000)")
    t.add_argument("--batch-size", type=positive_int, default=256, help="batch size (default 256)")
    t.add_argument("--hidden", type=positive_int, default=256, help="hidden units per layer (default 256)")
    t.add_argument("--lr", type=positive_float, default=3e-4, help="learning rate (default 3e-4)")
    t.add_argument("--tau", type=probability, default=0.7, help="expectile (default 0.7)")
    t.add_argument("--beta", type=positive_float, default=3.0, help="advantage temperature (default 3)")
    t.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    t.add_argument("--device", default="auto", metavar="auto|cpu|cuda[:N]", help="where to train (default auto)")

    m = sub.add_parser("compare", help="headless paired comparison: the heuristic against each model")
    m.add_argument("--model", action="append", required=True, metavar="FILE.pt",
                   help="an IQL checkpoint; repeat it to compare several models")
    m.add_argument("--mode", choices=("head-to-head", "shadow"), default="head-to-head",
                   help="head-to-head: every lane trains its own copy; shadow: the heuristic trains and the models only choose")
    m.add_argument("--report", metavar="FILE.json", help="write the paired result and action counts as JSON")
    m.add_argument("--record", metavar="FILE.jsonl", help="write every record (replay it with esper-tui --replay)")
    add_run_flags(m, episodes=3)
    add_parallel_flags(m)
    add_ablate_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "collect":
            return _collect(args)
        if args.command == "train":
            return _train(args)
        if args.command == "ablate":
            return run_ablate(args, fail)
        return _compare(args)
    except KeyboardInterrupt:
        sys.stderr.write("esper-iql: interrupted\n")
        return 130


# ----------------------------------------------------------------------------- shared


def _run_config(args, mode: str = "head-to-head"):
    try:
        return run_config(args, mode)
    except UsageError as exc:
        fail(str(exc))


def _writable(path: str, what: str) -> Path:
    target = Path(path).expanduser()
    if target.is_dir():
        fail(f"{what} {target} is a folder, not a file")
    if not target.parent.exists():
        fail(f"cannot write {what} {target}: folder {target.parent} does not exist")
    if what == "record" and target.exists() and target.stat().st_size > 0:
        fail(f"the record {target} already exists; choose a new file so that no run is lost")
    return target


def _progress(total: int, label: str):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
                        console=Console(stderr=True))  # fmt: skip
    task = progress.add_task(label, total=total, info="")
    return progress, task


def _histogram(counts: Counter | dict | tuple) -> str:
    """Share of each action, e.g. "WAIT 70%, GERMINATE_CONV 5%, ..."."""
    from training.actions import Action

    if isinstance(counts, tuple | list):
        counts = dict(enumerate(counts))
    total = sum(counts.values())
    return ", ".join(f"{a.name} {100.0 * counts.get(int(a), 0) / max(total, 1):.0f}%" for a in Action)


# ----------------------------------------------------------------------------- collect


def _collect(args) -> int:
    from training.offline import collect, save_npz
    from training.recordio import RecordWriter

    if args.epochs < 2:
        fail("collect needs at least 2 epochs per episode to form a transition")
    output = _writable(args.output, "output")
    config = _run_config(args)
    record = _writable(args.record, "record") if args.record else None
    backend = _backend(args, config)
    writer = RecordWriter(record) if record is not None else None
    try:
        with backend, EpisodeProgress("collect", args.episodes) as progress:
            transitions, metadata = collect(config, args.epsilon, args.features, record_sink(writer),
                                            backend=backend, progress=progress, threads=args.threads)  # fmt: skip
    finally:
        if writer is not None:
            writer.close()
    errors = {int(k): v for k, v in metadata.pop("errors").items()}
    if len(transitions) == 0:
        _failed_exit(errors, args.record)
        sys.stderr.write(f"esper-iql: no episode finished, so {output} was not written\n")
        return 1
    save_npz(output, transitions, metadata)
    counts = Counter(transitions.actions.tolist())
    print(f"wrote {len(transitions)} transitions ({metadata['state_dim']} features, '{args.features}'; "
          f"all of {', '.join(metadata['feature_sets'])} stored) to {output}")
    print(f"action histogram: {_histogram(counts)}")
    return _failed_exit(errors, args.record)


# ----------------------------------------------------------------------------- train


def _train(args) -> int:
    from training.devices import resolve_device
    from training.policies.checkpoint import save_checkpoint
    from training.policies.iql import IQLConfig, train_offline
    from training.policies.offline_data import OfflineDataset

    output = _writable(args.output, "output")
    try:
        device = resolve_device(args.device)
        dataset = OfflineDataset.from_npz(args.data, args.features)
        config = IQLConfig(tau=args.tau, beta=args.beta, lr=args.lr, batch_size=args.batch_size, hidden=args.hidden)
    except ValueError as exc:
        fail(str(exc))
    n = len(dataset.actions)
    print(f"{args.data}: {n} transitions, {dataset.state_dim} features ('{dataset.feature_set}')")
    progress, bar = _progress(args.steps, "train")
    every = max(args.steps // 10, 1)
    log: list[str] = []

    def report(step: int, losses: dict) -> None:
        if step % every == 0 or step == args.steps:
            progress.update(bar, completed=step, info=f"L_V {losses['loss_v']:.4f} L_Q {losses['loss_q']:.4f}")
            log.append(f"step {step:>6}: " + " ".join(f"{k} {v:.4f}" for k, v in losses.items()))

    try:
        with progress:
            result = train_offline(dataset, args.steps, config, seed=args.seed, progress=report, device=device)
    except ValueError as exc:
        fail(str(exc))
    for line in log:
        print(line)
    counts = result.action_counts
    print(f"action histogram, data: {_histogram(counts['data'])}")
    print(f"action histogram, IQL:  {_histogram(counts['iql'])}")
    print(f"action histogram, BC:   {_histogram(counts['bc'])}")
    print(f"agreement with the data: IQL {100.0 * result.agreement['iql']:.1f}%, "
          f"BC {100.0 * result.agreement['bc']:.1f}%")
    metadata = dict(dataset.metadata)
    metadata.update({"trained_steps": args.steps, "train_seed": args.seed, "source": str(args.data)})
    save_checkpoint(output, result.iql, result.normalizer, result.feature_set, metadata)
    print(f"wrote {output}")
    return 0


# ----------------------------------------------------------------------------- compare


def _compare(args) -> int:
    from training.parallel import heuristic_lane, run_episodes
    from training.recordio import RecordWriter

    config = _run_config(args, args.mode)
    report_path = _writable(args.report, "report") if args.report else None
    try:
        lanes = [heuristic_lane()] + model_lane_specs(args.model)
    except UsageError as exc:
        fail(str(exc))
    record = _writable(args.record, "record") if args.record else None
    backend = _backend(args, config)
    writer = RecordWriter(record) if record is not None else None
    try:
        with backend, EpisodeProgress("compare", args.episodes) as progress:
            result = run_episodes(config, lanes, record_sink(writer), backend, progress=progress,
                                  threads=args.threads).result  # fmt: skip
    finally:
        if writer is not None:
            writer.close()
    for lane in result.lanes:
        accs = ", ".join(f"{a:.1f}" for a in result.accuracies(lane))
        print(f"{lane:>12}: final accuracy per episode [{accs}]; actions {result.action_counts(lane)}")
    for paired in result.paired:
        print(paired.summary())
    rate = result.agreement_rate()
    if rate is not None:
        print(f"agreement with the heuristic on the same states: {100 * rate:.1f}%")
    if report_path is not None:
        report = {
            "run_id": result.run_id, "mode": result.mode, "episodes": len(result.episodes),
            "epochs": args.epochs, "preset": args.preset, "seed": args.seed,
            "lanes": {lane: {"final_accuracy": result.accuracies(lane), "actions": result.action_counts(lane)}
                      for lane in result.lanes},
            "paired": [p.to_dict() for p in result.paired], "agreement_rate": rate,
            "models": [str(m) for m in args.model], "failed_episodes": result.failed,
        }  # fmt: skip
        report_path.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {report_path}")
    return _failed_exit(result.errors, args.record)


def _backend(args, config):
    try:
        return make_backend(args, config.env.data_config())
    except UsageError as exc:
        fail(str(exc))


def _failed_exit(errors: dict[int, str], record: str | None) -> int:
    """Exit 1 when an episode failed, naming each with the last line of its traceback."""
    if not errors:
        return 0
    for episode, error in sorted(errors.items()):
        sys.stderr.write(f"esper-iql: episode {episode} failed: {error}\n")
    where = f"in the record {record}" if record else "in the record (give --record FILE to keep them)"
    sys.stderr.write(f"esper-iql: {len(errors)} episode(s) failed; their full tracebacks are {where}\n")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
