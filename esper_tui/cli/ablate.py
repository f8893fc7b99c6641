"""``esper-iql ablate``: collect once, train IQL on 27/37/54 inputs and BC, compare them all
against the heuristic on the same paired episodes, write a Markdown table and a JSON report."""

from __future__ import annotations

import argparse
import json
import stat
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from esper_tui.cli.common import (
    MAX_SEED,
    UsageError,
    add_run_flags,
    add_training_flags,
    bounded_int,
    positive_float,
    probability,
    say,
    seed_number,
    warn,
)
from esper_tui.cli.parallel import (
    RAY_MISSING,
    add_parallel_flags,
    describe,
    make_backend,
    record_sink,
    run_config,
)
from esper_tui.cli.progress import ProgressBars

if TYPE_CHECKING:
    from esper_tui.record_writer import RecordFile


def add_ablate_parser(sub) -> None:
    a = sub.add_parser(
        "ablate", help="the plan's 27/37/54 ablation and a BC baseline in one command"
    )
    a.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="DIR",
        help="a new (or empty) folder for the data, models, records and reports",
    )
    a.add_argument(
        "--collect-episodes",
        type=bounded_int(1, 100_000),
        default=16,
        metavar="N",
        help="behaviour episodes to collect (default 16)",
    )
    a.add_argument(
        "--collect-seed",
        type=seed_number,
        default=100,
        metavar="N",
        help="seed of the first behaviour episode (default 100; keep clear of the compared seeds)",
    )
    a.add_argument(
        "--epsilon",
        type=probability,
        default=0.3,
        help="share of random valid actions (default 0.3)",
    )
    add_training_flags(a, steps=5000, hidden=128, seed_flag="--train-seed", per_model=True)
    # --episodes/--seed/--epochs: the paired comparison. Sized so that the whole ablation ends
    # within 30 minutes with --workers 2 on a quiet 2-core machine (README, "The ablation").
    add_run_flags(a, episodes=6, epochs=20)
    a.add_argument(
        "--effect",
        type=positive_float,
        default=0.5,
        metavar="POINTS",
        help="the effect (accuracy points) whose episodes-needed the table reports (default 0.5)",
    )
    add_parallel_flags(a)


def run_ablate(args: argparse.Namespace, fail) -> int:
    from training.policies.iql import IQLConfig
    from training.runs.ablation import AblationConfig, AblationStopped, run_ablation
    from training.runs.ablation_table import markdown
    from training.util.safe_io import WriteFailed, write_or_rescue

    if args.epochs < 2:
        fail("ablate needs at least 2 epochs per episode to form a transition")
    if args.collect_seed + args.collect_episodes - 1 > MAX_SEED:
        fail(
            f"--collect-seed {args.collect_seed} with {args.collect_episodes} behaviour episodes runs past "
            f"{MAX_SEED}, the largest seed"
        )
    if (
        args.collect_seed < args.seed + args.episodes
        and args.seed < args.collect_seed + args.collect_episodes
    ):
        fail(
            f"behaviour seeds {args.collect_seed}..{args.collect_seed + args.collect_episodes - 1} overlap the "
            f"compared seeds {args.seed}..{args.seed + args.episodes - 1}; move --collect-seed or --seed"
        )
    out = _new_or_empty_folder(args.output, fail)
    try:
        compare = replace(run_config(args, "head-to-head"), effect=args.effect)
        collect = replace(
            compare,
            episodes=args.collect_episodes,
            env=replace(compare.env, seed=args.collect_seed),
            run_id=f"{compare.run_id}-collect" if compare.run_id else "",
        )
        iql = IQLConfig(tau=args.tau, beta=args.beta, lr=args.lr, hidden=args.hidden)
    except (UsageError, ValueError) as exc:
        fail(str(exc))
    config = AblationConfig(
        collect=collect,
        compare=compare,
        epsilon=args.epsilon,
        steps=args.steps,
        iql=iql,
        train_seed=args.train_seed,
        threads=args.threads,
        train_device="cpu" if args.gpus_per_episode else compare.env.device,
    )
    from training.policies.iql import warm_up
    from training.runs.episodes import cached_task

    warm_up(config.train_device)  # slow imports while a signal still ends the process at once
    if args.workers == 1 and not (args.ray or args.ray_address):
        cached_task(compare.env.data_config())
    _make_folder(out, fail)
    args.signals.at_once(None)
    records = Records(out)
    stop = args.signals.stop
    try:
        with _cluster(args, fail), AblationProgress(args) as progress:
            result = run_ablation(
                config,
                out,
                lambda: make_backend(args, compare.env.data_config(), stop),
                records.collect,
                records.compare,
                progress,
                stop,
                on_stage=lambda stage: records.begin(stage, args),
            )
    except AblationStopped as stopped:
        records.close()
        return _interrupted(args, str(stopped))
    except UsageError as exc:
        records.close()
        fail(str(exc))
    except (
        ValueError
    ) as exc:  # after the work began: a failed write (WriteFailed says where it went)
        records.close()
        warn(str(exc), "esper-iql")
        return args.signals.code or 1
    records.close()
    table = markdown(result, config)
    say(table, multiline=True)
    failures: list[str] = []
    report = json.dumps(result.to_dict(config), indent=2) + "\n"
    for name, text in (("ablation.md", table), ("ablation.json", report)):
        try:
            write_or_rescue(out / name, _text_writer(text), "the ablation's report")
        except WriteFailed as failed:
            failures.append(str(failed))
    for message in failures:
        warn(message, "esper-iql")
    if not failures:
        say(f"wrote {out / 'ablation.md'} and {out / 'ablation.json'}")
    if result.comparison.result.stopped:
        done = len(result.comparison.result.episodes)
        return _interrupted(
            args,
            f"during the comparison; the table covers the {done} paired episode(s) that finished",
        )
    return 1 if result.comparison.result.failed or failures else 0


def _text_writer(text: str) -> Callable[[Path], object]:
    return lambda tmp: tmp.write_text(text)


class Records:
    """The collection's and the comparison's records. Each is created when its stage begins, so
    an ablation stopped before its comparison leaves no empty compare.jsonl."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.writers: dict[str, RecordFile | None] = {"collect": None, "compare": None}
        self._sinks: dict[str, Callable] = {}

    def begin(self, stage: str, args: argparse.Namespace) -> None:
        """A stage begins: its record is opened, and the signals are set for it. Collection and
        comparison stop at the next batch, keeping the episodes that finished; training keeps
        only what is on disk already, so a signal ends it at once (a step of a large network can
        take minutes)."""
        from esper_tui.cli.headless import open_record

        if stage in self.writers:
            writer = self.writers[stage] = open_record(str(self.out / f"{stage}.jsonl"), False)
            self._sinks[stage] = record_sink(writer)
        if stage != "train":
            args.signals.at_once(None)
            return

        def kept() -> str:
            models = sorted(p.name for p in self.out.glob("*.pt"))
            also = f" and {', '.join(models)}" if models else ""
            return f"during training; kept {self.out / 'data.npz'}{also}; nothing was compared"

        args.signals.at_once(kept)

    def collect(self, record) -> None:
        self._sinks["collect"](record)

    def compare(self, record) -> None:
        self._sinks["compare"](record)

    def close(self) -> None:
        """Close the records; a record that could not be written says where its lines went."""
        from esper_tui.cli.headless import record_problem

        for writer in self.writers.values():
            problem = record_problem(writer)
            if problem is not None:
                warn(problem, "esper-iql")


def _interrupted(args: argparse.Namespace, what: str) -> int:
    from esper_tui.stop_signals import signal_name

    signum = args.signals.signum
    who = signal_name(signum) if signum is not None else "a stop request"
    warn(f"ablation interrupted by {who} {what}", "esper-iql")
    return args.signals.code or 130


@contextmanager
def _cluster(args: argparse.Namespace, fail) -> Iterator[None]:
    """One Ray for the collection and the comparison (when asked for)."""
    stack = ExitStack()
    if args.ray or args.ray_address:
        from training.runs.cluster import ClusterError, ray_session

        try:
            stack.enter_context(ray_session(args.ray_address))
        except ImportError:
            fail(RAY_MISSING)
        except ClusterError as exc:
            fail(str(exc))
    with stack:
        yield


def _new_or_empty_folder(path: str, fail) -> Path:
    """The ``-o`` folder: new (made at the end of the setup, by ``_make_folder``) or empty, never
    a symbolic link (the README's rule for every output), in a place where files can be made."""
    from training.util.safe_io import PathError, kind_of, probe_folder

    out = Path(path).expanduser()
    try:
        st = out.lstat()
    except FileNotFoundError:
        st = None
    except OSError as error:
        fail(f"cannot use the folder {out}: {error.strerror}")
    if st is not None and stat.S_ISLNK(st.st_mode):
        fail(f"{out} is a symbolic link; give the real path of a new or empty folder")
    if st is not None and not stat.S_ISDIR(st.st_mode):
        fail(f"{out} is {kind_of(st.st_mode)}, not a folder")
    if st is not None and any(out.iterdir()):
        fail(
            f"the folder {out} is not empty; choose a new one so that no earlier ablation is overwritten"
        )
    where = out if st is not None else out.parent
    if not where.is_dir():
        fail(f"cannot create {out}: folder {out.parent} does not exist")
    try:  # a read-only or immutable place, root's too
        probe_folder(where, f"the ablation's files in {out}")
    except PathError as error:
        fail(str(error))
    return out


def _make_folder(out: Path, fail) -> None:
    try:
        out.mkdir(exist_ok=True)
    except OSError as error:
        fail(f"cannot create the folder {out}: {error.strerror or type(error).__name__}")


class AblationProgress(ProgressBars):
    """One bar per stage: collect (lane-epochs), train (steps of the three models), compare."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__("info", "eta", name_width=8)
        self._tasks = {
            "collect": self.add("collect", total=None, info=""),
            "train": self.add("train", total=3 * args.steps, info=""),
            "compare": self.add("compare", total=None, info=""),
        }

    def __call__(self, stage: str, state) -> None:
        from rich.markup import escape

        task = self._tasks[stage]
        if stage == "train":
            fs, step, total = state
            done = {"none": 0, "seed": 1, "full": 2}[fs] * total + step
            if step == total or step % max(total // 50, 1) == 0:
                self.update(task, completed=done, info=f"IQL on '{fs}' step {step}/{total}")
            return
        info = describe(state)
        for p in state.paired:
            info += escape(f"  {p.lane} {p.difference_text(ci_digits=1)}")
        self.update(task, total=state.epochs_total or None, completed=state.epochs_done, info=info)
