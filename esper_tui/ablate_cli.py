"""``esper-iql ablate``: collect once, train IQL on 27/37/54 inputs and BC, compare them all
against the heuristic on the same paired episodes, write a Markdown table and a JSON report."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from esper_tui.cli_common import (
    UsageError,
    add_run_flags,
    non_negative_int,
    positive_float,
    positive_int,
    probability,
    say,
    warn,
)
from esper_tui.parallel_cli import (
    RAY_MISSING,
    add_parallel_flags,
    describe,
    make_backend,
    record_sink,
    run_config,
)

FILES = ("data.npz", "iql_27.pt", "iql_37.pt", "iql_54.pt", "bc.pt", "collect.jsonl", "compare.jsonl",
         "ablation.md", "ablation.json")  # fmt: skip


def add_ablate_parser(sub) -> None:
    a = sub.add_parser("ablate", help="the plan's 27/37/54 ablation and a BC baseline in one command")
    a.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="a new (or empty) folder for the data, models, records and reports")
    a.add_argument("--collect-episodes", type=positive_int, default=16, metavar="N",
                   help="behaviour episodes to collect (default 16)")
    a.add_argument("--collect-seed", type=non_negative_int, default=100, metavar="N",
                   help="seed of the first behaviour episode (default 100; keep clear of the compared seeds)")
    a.add_argument("--epsilon", type=probability, default=0.3, help="share of random valid actions (default 0.3)")
    a.add_argument("--steps", type=positive_int, default=5000, help="gradient steps per model (default 5000)")
    a.add_argument("--hidden", type=positive_int, default=128, help="hidden units per layer (default 128)")
    a.add_argument("--lr", type=positive_float, default=3e-4, help="learning rate (default 3e-4)")
    a.add_argument("--tau", type=probability, default=0.7, help="IQL expectile (default 0.7)")
    a.add_argument("--beta", type=positive_float, default=3.0, help="IQL advantage temperature (default 3)")
    a.add_argument("--train-seed", type=int, default=0, help="training seed (default 0)")
    # --episodes/--seed/--epochs: the paired comparison. Sized so that the whole ablation ends
    # within 30 minutes with --workers 2 on a quiet 2-core machine (README, "The ablation").
    add_run_flags(a, episodes=6, epochs=20)
    add_parallel_flags(a)


def run_ablate(args: argparse.Namespace, fail) -> int:
    from esper_tui.headless import open_record
    from training.ablation import AblationConfig, AblationStopped, markdown, run_ablation
    from training.policies.iql import IQLConfig

    if args.epochs < 2:
        fail("ablate needs at least 2 epochs per episode to form a transition")
    if args.collect_seed < args.seed + args.episodes and args.seed < args.collect_seed + args.collect_episodes:
        fail(f"behaviour seeds {args.collect_seed}..{args.collect_seed + args.collect_episodes - 1} overlap the "
             f"compared seeds {args.seed}..{args.seed + args.episodes - 1}; move --collect-seed or --seed")  # fmt: skip
    out = _empty_folder(args.output, fail)
    try:
        compare = run_config(args, "head-to-head")
        collect = replace(compare, episodes=args.collect_episodes, env=replace(compare.env, seed=args.collect_seed),
                          run_id=f"{compare.run_id}-collect" if compare.run_id else "")  # fmt: skip
        iql = IQLConfig(tau=args.tau, beta=args.beta, lr=args.lr, hidden=args.hidden)
    except (UsageError, ValueError) as exc:
        fail(str(exc))
    config = AblationConfig(collect=collect, compare=compare, epsilon=args.epsilon, steps=args.steps, iql=iql,
                            train_seed=args.train_seed, threads=args.threads,
                            train_device="cpu" if args.gpus_per_episode else compare.env.device)  # fmt: skip
    from training.episodes import cached_task
    from training.policies.iql import warm_up

    warm_up(config.train_device)  # slow imports while a signal still ends the process at once
    if args.workers == 1 and not (args.ray or args.ray_address):
        cached_task(compare.env.data_config())
    args.signals.at_once(None)
    writers = [open_record(str(out / "collect.jsonl"), False), open_record(str(out / "compare.jsonl"), False)]
    stop = args.signals.stop
    try:
        with _cluster(args, fail), AblationProgress(args) as progress:
            result = run_ablation(config, out, lambda: make_backend(args, compare.env.data_config(), stop),
                                  record_sink(writers[0]), record_sink(writers[1]), progress, stop,
                                  on_stage=lambda stage: _signals_for(stage, args, out))  # fmt: skip
    except AblationStopped as stopped:
        _record_problems(writers)
        return _interrupted(args, str(stopped))
    except (UsageError, ValueError) as exc:
        _record_problems(writers)
        fail(str(exc))
    _record_problems(writers)
    table = markdown(result, config)
    (out / "ablation.md").write_text(table)
    (out / "ablation.json").write_text(json.dumps(result.to_dict(config), indent=2) + "\n")
    say(table, multiline=True)
    say(f"wrote {out / 'ablation.md'} and {out / 'ablation.json'}")
    if result.comparison.result.stopped:
        done = len(result.comparison.result.episodes)
        return _interrupted(args, f"during the comparison; the table covers the {done} paired episode(s) that finished")
    return 1 if result.comparison.result.failed else 0


def _signals_for(stage: str, args: argparse.Namespace, out: Path) -> None:
    """Collection and comparison stop at the next batch, keeping the episodes that finished;
    training keeps only what is on disk already, so a signal ends it at once (a step of a
    large network can take minutes)."""
    if stage != "train":
        args.signals.at_once(None)
        return

    def kept() -> str:
        models = sorted(p.name for p in out.glob("*.pt"))
        return (f"during training; kept {out / 'data.npz'}" + (f" and {', '.join(models)}" if models else "")
                + "; nothing was compared")  # fmt: skip

    args.signals.at_once(kept)


def _record_problems(writers) -> None:
    """Close the records; a record that could not be written says where its lines went."""
    from esper_tui.headless import record_problem

    for writer in writers:
        problem = record_problem(writer)
        if problem is not None:
            warn(problem, "esper-iql")


def _interrupted(args: argparse.Namespace, what: str) -> int:
    from esper_tui.signals import signal_name

    signum = args.signals.signum
    who = signal_name(signum) if signum is not None else "a stop request"
    warn(f"ablation interrupted by {who} {what}", "esper-iql")
    return args.signals.code or 130


@contextmanager
def _cluster(args: argparse.Namespace, fail) -> Iterator[None]:
    """One Ray for the collection and the comparison (when asked for)."""
    stack = ExitStack()
    if args.ray or args.ray_address:
        from training.cluster import ClusterError, ray_session

        try:
            stack.enter_context(ray_session(args.ray_address))
        except ImportError:
            fail(RAY_MISSING)
        except ClusterError as exc:
            fail(str(exc))
    with stack:
        yield


def _empty_folder(path: str, fail) -> Path:
    out = Path(path).expanduser()
    if out.exists() and not out.is_dir():
        fail(f"{out} is not a folder")
    if out.is_dir() and any(out.iterdir()):
        fail(f"the folder {out} is not empty; choose a new one so that no earlier ablation is overwritten")
    if not out.parent.is_dir():
        fail(f"cannot create {out}: folder {out.parent} does not exist")
    out.mkdir(exist_ok=True)
    return out


class AblationProgress:
    """One Rich bar per stage: collect (lane-epochs), train (steps of the three models), compare."""

    def __init__(self, args: argparse.Namespace) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description:<8}"), BarColumn(),
            TextColumn("{task.fields[info]}"), TimeRemainingColumn(), console=Console(stderr=True),
        )  # fmt: skip
        add = self._progress.add_task
        self._tasks = {
            "collect": add("collect", total=None, info=""),
            "train": add("train", total=3 * args.steps, info=""),
            "compare": add("compare", total=None, info=""),
        }

    def __enter__(self) -> AblationProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._progress.__exit__(exc_type, exc, tb)

    def __call__(self, stage: str, state) -> None:
        from rich.markup import escape

        task = self._tasks[stage]
        if stage == "train":
            fs, step, total = state
            done = {"none": 0, "seed": 1, "full": 2}[fs] * total + step
            if step == total or step % max(total // 50, 1) == 0:
                self._progress.update(task, completed=done, info=f"IQL on '{fs}' step {step}/{total}")
            return
        info = describe(state)
        for p in state.paired:
            ci = "" if p.ci_low is None else f" [{p.ci_low:+.1f}, {p.ci_high:+.1f}]"
            info += escape(f"  {p.lane} {p.mean_difference:+.2f}{ci}")
        self._progress.update(task, total=state.epochs_total or None, completed=state.epochs_done, info=info)
