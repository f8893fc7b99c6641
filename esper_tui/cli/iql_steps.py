"""The steps esper-iql's collect, train and compare share, in the order a command takes them:
a refusal before any work (one sentence, exit 2), the end of the setup, an output delivered (or
where it was rescued to), and the exit code when a signal or a failed episode ended the run.
Also the action histogram that collect and train both print.
"""

from __future__ import annotations

from collections import Counter
from typing import NoReturn

from esper_tui.cli.common import UsageError, check_distinct, warn
from esper_tui.cli.common import fail as _fail
from esper_tui.cli.parallel import make_backend, run_config
from esper_tui.stop_signals import signal_name

PROG = "esper-iql"


def fail(message: str) -> NoReturn:
    """One sentence on stderr and exit code 2."""
    _fail(message, PROG)


def checked_run_config(args, mode: str = "head-to-head"):
    try:
        return run_config(args, mode)
    except UsageError as exc:
        fail(str(exc))


def checked_distinct(outputs, inputs=()) -> None:
    try:
        check_distinct(outputs, inputs)
    except UsageError as exc:
        fail(str(exc))


def checked_backend(args, config):
    try:
        return make_backend(args, config.env.data_config(), args.signals.stop)
    except UsageError as exc:
        fail(str(exc))


def begin_work(args, config) -> None:
    """The last of the setup, while a signal still ends the process at once (nothing is made
    yet): the image task an in-process episode would build before its first batch. Then the
    work begins, and a signal stops it at the next batch boundary, keeping what finished."""
    if args.workers == 1 and not (args.ray or args.ray_address):
        from training.runs.episodes import cached_task

        cached_task(config.env.data_config())
    args.signals.at_once(None)


def deliver(path, write, what: str, force: bool) -> str | None:
    """Write finished work to ``path``; None once written, else the sentence saying why it could
    not be (a full disk, the folder gone or read-only, the path taken meanwhile) and where the
    work was saved instead."""
    from training.util.safe_io import WriteFailed, write_or_rescue

    try:
        write_or_rescue(path, write, what, force)
    except WriteFailed as failure:
        return str(failure)
    return None


def ended_by_signal(args, message: str) -> int:
    """One sentence for a run ended by a signal; the exit code the shell expects."""
    warn(f"interrupted by {signal_name(args.signals.signum)}: {message}", PROG)
    return args.signals.code


def failed_exit(errors: dict[int, str], record: str | None) -> int:
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


def action_histogram(counts: Counter | dict | tuple) -> str:
    """Share of each action, e.g. "WAIT 70%, GERMINATE_CONV 5%, ..."."""
    from training.env.actions import Action

    if isinstance(counts, tuple | list):
        counts = dict(enumerate(counts))
    total = sum(counts.values())
    return ", ".join(
        f"{a.name} {100.0 * counts.get(int(a), 0) / max(total, 1):.0f}%" for a in Action
    )
