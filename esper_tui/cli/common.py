"""Argument parsing shared by ``esper-tui`` and ``esper-iql``: one-sentence errors, exit code 2."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input found before any work starts; the message is one sentence."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag prints one line (no usage dump) and exits 2."""

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see {self.prog} --help)", self.prog.split()[0])


def fail(message: str, prog: str) -> NoReturn:
    """One sentence on stderr, exit code 2."""
    say(f"{prog}: error: {message}", err=True)
    raise SystemExit(EXIT_USAGE)


def say(text: str, err: bool = False, multiline: bool = False) -> None:
    """A line for the user on stdout (``err``: stderr). Paths, lane names and messages in it
    are foreign text: escape codes and lone surrogates are shown escaped, never sent as they are."""
    from training.records.text import printable

    (sys.stderr if err else sys.stdout).write(printable(text, multiline) + "\n")


def escaping_streams() -> None:
    """What ``say`` misses (a library's own print) still cannot raise on a lone surrogate or an
    encoding that lacks a character: stdout and stderr escape what they cannot encode."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def warn(message: str, prog: str) -> None:
    """One sentence on stderr, prefixed with the command's name."""
    say(f"{prog}: {message}", err=True)


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file: the same path once resolved, or one file under two
    names (a hard link, a symbolic link) when it exists."""
    pa, pb = os.path.expanduser(a), os.path.expanduser(b)
    try:
        if os.path.samefile(pa, pb):
            return True
    except OSError:
        pass
    return os.path.realpath(pa) == os.path.realpath(pb)


def check_distinct(
    outputs: Sequence[tuple[str, str | None]], inputs: Sequence[tuple[str, str | None]] = ()
) -> None:
    """Each output names its own file, and none names a file the command reads: else one
    would replace the other (after the whole run, or before the input is read). ``UsageError``,
    refused before any work. Each item: (the flag, the path or None when not given)."""
    given = [(flag, path) for flag, path in outputs if path]
    for i, (flag, path) in enumerate(given):
        for other, other_path in given[i + 1 :]:
            if _same_file(path, other_path):
                raise UsageError(
                    f"{flag} and {other} both name {path}; give each output its own file"
                )
        for source, source_path in inputs:
            if source_path and _same_file(path, source_path):
                raise UsageError(
                    f"{flag} {path} is also the {source} this command reads; give the output its own file"
                )


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must not be negative")
    return value


MAX_SEED = 2**32 - 1  # numpy's limit; torch takes more


def bounded_int(low: int, high: int, what: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high] (counts get sane upper bounds)."""

    def parse(text: str) -> int:
        value = _whole_number(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is outside {low}-{high}{what}")
        return value

    parse.__name__ = "whole number"
    return parse


def bounded_float(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a positive number no larger than ``high``."""

    def parse(text: str) -> float:
        value = positive_float(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value:g} is outside {low:g}-{high:g}")
        return value

    parse.__name__ = "number"
    return parse


seed_number = bounded_int(0, MAX_SEED, " (seeds must fit 32 bits)")


def slot_count(text: str) -> int:
    value = positive_int(text)
    if value > 3:
        raise argparse.ArgumentTypeError(f"{value} slots: the host has 3 injection points (1-3)")
    return value


def _number(text: str) -> float:
    """A finite number; infinity, NaN and a number too large for a float are named as such."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value != value:
        raise argparse.ArgumentTypeError(f"{text} is not a number (NaN)")
    if value in (float("inf"), float("-inf")):
        spelled = text.strip().lower().lstrip("+-") in ("inf", "infinity")
        raise argparse.ArgumentTypeError(
            f"{text} is not a finite number"
            if spelled
            else f"{text} is too large: it overflows to infinity"
        )
    return value


def probability(text: str) -> float:
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} must be between 0 and 1")
    return value


def positive_float(text: str) -> float:
    value = _number(text)
    if not value > 0.0:
        raise argparse.ArgumentTypeError(f"{value:g} must be a positive number")
    return value


def add_training_flags(
    parser: argparse.ArgumentParser,
    steps: int,
    hidden: int,
    seed_flag: str = "--seed",
    per_model: bool = False,
    batch_size: bool = False,
) -> None:
    """The flags that train IQL, declared once with one set of bounds for ``train`` and
    ``ablate`` (which trains one model per feature set: ``per_model``)."""
    each, iql = (" per model", "IQL ") if per_model else ("", "")
    parser.add_argument(
        "--steps",
        type=bounded_int(1, 10**8),
        default=steps,
        help=f"gradient steps{each} (default {steps})",
    )
    if batch_size:
        parser.add_argument(
            "--batch-size", type=bounded_int(1, 2**16), default=256, help="batch size (default 256)"
        )
    parser.add_argument(
        "--hidden",
        type=bounded_int(1, 8192),
        default=hidden,
        help=f"hidden units per layer (default {hidden})",
    )
    parser.add_argument(
        "--lr", type=bounded_float(1e-12, 10.0), default=3e-4, help="learning rate (default 3e-4)"
    )
    parser.add_argument(
        "--tau", type=probability, default=0.7, help=f"{iql}expectile (default 0.7)"
    )
    parser.add_argument(
        "--beta",
        type=bounded_float(1e-6, 1000.0),
        default=3.0,
        help=f"{iql}advantage temperature (default 3)",
    )
    parser.add_argument(seed_flag, type=seed_number, default=0, help="training seed (default 0)")


def add_run_flags(parser: argparse.ArgumentParser, epochs: int = 25, episodes: int = 1) -> None:
    """The flags that describe a training run, shared by every command that trains."""
    parser.add_argument(
        "--episodes",
        type=bounded_int(1, 100_000),
        default=episodes,
        metavar="N",
        help=f"episodes to run; each pairs every lane on one seed (default {episodes})",
    )
    parser.add_argument(
        "--epochs",
        type=bounded_int(1, 100_000),
        default=epochs,
        metavar="N",
        help=f"epochs per episode (default {epochs})",
    )
    parser.add_argument(
        "--preset",
        choices=("synthetic", "tiny", "cifar10"),
        default="synthetic",
        help="image task: synthetic (default, generated in memory), tiny (a few "
        "hundred images, for tests) or cifar10 (needs --data-dir)",
    )
    parser.add_argument("--data-dir", metavar="DIR", help="folder holding (or to hold) CIFAR-10")
    parser.add_argument(
        "--download",
        action="store_true",
        help="download CIFAR-10 into --data-dir if it is not there",
    )
    parser.add_argument(
        "--device",
        default="auto",
        metavar="auto|cpu|cuda[:N]",
        help="where to train (default auto: CUDA when present)",
    )
    parser.add_argument(
        "--slots",
        type=slot_count,
        default=3,
        metavar="1..3",
        help="seed slots, one after each of the host's conv blocks (default 3)",
    )
    parser.add_argument(
        "--seed",
        type=seed_number,
        default=0,
        metavar="N",
        help="seed of episode 1 (initial weights, batch order); episode k uses seed+k-1 (default 0)",
    )
    parser.add_argument(
        "--data-seed",
        type=seed_number,
        default=0,
        metavar="N",
        help="seed of the synthetic images; the task stays fixed across --seed (default 0)",
    )


CIFAR_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
               "test_batch", "batches.meta")  # fmt: skip


def check_data_dir(args: argparse.Namespace) -> None:
    """``--data-dir`` and the CIFAR-10 files in it are a folder and regular files (a FIFO there
    would block the loader forever); ``UsageError`` otherwise."""
    from training.util.safe_io import PathError, check_input_dir, check_input_file

    if args.data_dir is None or args.preset != "cifar10":
        return
    try:
        folder = check_input_dir(args.data_dir, "--data-dir", must_exist=False)
        batches = folder / "cifar-10-batches-py"
        if batches.exists() or batches.is_symlink():
            check_input_dir(batches, "the CIFAR-10 folder")
            for name in CIFAR_FILES:
                if (batches / name).exists() or (batches / name).is_symlink():
                    check_input_file(batches / name, "CIFAR-10 file")
    except PathError as exc:
        raise UsageError(str(exc)) from None


def run_config_from_args(args: argparse.Namespace, mode: str):
    """The ``RunConfig`` the run flags describe, with its device resolved and its data checked
    (CIFAR-10 present) before any work; a problem raises ``UsageError`` with one sentence."""
    from training.env.data import DataError, preflight
    from training.env.environment import EnvConfig
    from training.runs.config import RunConfig
    from training.util.devices import resolve_device

    check_data_dir(args)
    if args.seed + args.episodes - 1 > MAX_SEED:
        raise UsageError(
            f"--seed {args.seed} with {args.episodes} episodes runs past {MAX_SEED}, the largest seed"
        )
    try:
        env = EnvConfig(
            preset=args.preset,
            seed=args.seed,
            max_epochs=args.epochs,
            slots=args.slots,
            device=resolve_device(args.device),
            data_dir=args.data_dir,
            download=args.download,
            data_seed=args.data_seed,
        )
        preflight(env.data_config())
        return RunConfig(env=env, episodes=args.episodes, mode=mode)
    except (ValueError, DataError) as exc:
        raise UsageError(str(exc)) from None
