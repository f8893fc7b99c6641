"""The flags that spread ``esper-iql`` episodes over worker processes or a Ray cluster, the
backend they pick, and the episode progress display."""

from __future__ import annotations

import argparse
import os

from esper_tui.cli.common import UsageError, bounded_int, positive_float
from esper_tui.cli.progress import ProgressBars

# A Ray node may have more CPUs than this machine, but none has this many: a task asking for
# more would wait for ever for a node that can take it.
MAX_THREADS = 1024


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, e.g. a container's or taskset's share)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


RAY_MISSING = "Ray is not installed; install the cluster extra with: pip install -e '.[cluster]'"


def add_parallel_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("parallel episodes")
    cpus = usable_cpus()
    group.add_argument(
        "--workers",
        type=bounded_int(1, MAX_THREADS),
        default=1,
        metavar="N",
        help="episodes run side by side in N worker processes (default 1: in this process); "
        f"at most one per CPU of this machine ({cpus} here)",
    )
    group.add_argument(
        "--threads",
        type=bounded_int(1, MAX_THREADS),
        default=1,
        metavar="N",
        help="torch threads per episode (default 1); results depend on it, not on --workers; at "
        f"most the CPUs of this machine ({cpus} here), or {MAX_THREADS} on a Ray cluster",
    )
    group.add_argument(
        "--ray", action="store_true", help="run episodes as tasks on a local Ray instance"
    )
    group.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="run episodes as tasks on an existing Ray cluster (e.g. ray://head:10001 or auto)",
    )
    group.add_argument(
        "--gpus-per-episode",
        type=positive_float,
        default=None,
        metavar="F",
        help="with Ray: the GPU share each episode asks for (e.g. 0.25: four episodes per GPU)",
    )
    group.add_argument(
        "--run-id",
        metavar="ID",
        default="",
        help="the run's id in the record (default: random); equal flags and id give equal records",
    )


def check_parallel_flags(args: argparse.Namespace) -> None:
    """Flag combinations that make no sense, as one sentence (``UsageError``)."""
    if args.ray and args.ray_address:
        raise UsageError("give --ray (a local Ray) or --ray-address ADDR (a cluster), not both")
    if args.gpus_per_episode is not None and not (args.ray or args.ray_address):
        raise UsageError("--gpus-per-episode needs --ray or --ray-address")
    if args.workers > 1 and (args.ray or args.ray_address):
        raise UsageError(
            "--workers is for worker processes on this machine; with Ray the cluster decides"
        )
    cpus = usable_cpus()
    if args.workers > cpus:
        raise UsageError(
            f"--workers {args.workers}: this machine has {cpus} CPU(s) for this run; more worker "
            f"processes than CPUs only share them (give 1-{cpus}, or use --ray-address for more)"
        )
    if args.threads > cpus and not args.ray_address:  # a local Ray has this machine's CPUs
        raise UsageError(
            f"--threads {args.threads}: this machine has {cpus} CPU(s) for this run; give 1-{cpus} "
            "(more threads than CPUs only slow each other down)"
        )


def run_config(args: argparse.Namespace, mode: str):
    """``run_config_from_args`` with the run's ``--run-id``. With ``--gpus-per-episode`` the
    episodes run on the cluster's GPUs, which this machine may lack: ``--device auto``/``cuda``
    then means CUDA there, unchecked here. A problem raises ``UsageError``."""
    from dataclasses import replace

    from esper_tui.cli.common import run_config_from_args

    check_parallel_flags(args)
    remote_gpus = bool(getattr(args, "gpus_per_episode", None)) and args.device in ("auto", "cuda")
    local = argparse.Namespace(**{**vars(args), "device": "cpu"}) if remote_gpus else args
    config = run_config_from_args(local, mode)
    if remote_gpus:
        config = replace(config, env=replace(config.env, device="cuda"))
    return replace(config, run_id=getattr(args, "run_id", "") or "")


def make_backend(args: argparse.Namespace, data=None, stop_event=None):
    """The backend the flags ask for; a missing Ray raises ``UsageError`` with how to install it.
    Worker processes on a CUDA machine share its device (an episode is small next to a GPU),
    and build the image task ``data`` as they start."""
    from training.runs.driver import InProcessBackend, ProcessBackend

    check_parallel_flags(args)
    if args.ray or args.ray_address:
        from training.runs.cluster import ClusterError, RayBackend

        try:
            return RayBackend(
                address=args.ray_address,
                cpus_per_episode=args.threads,
                gpus_per_episode=args.gpus_per_episode,
            )
        except ImportError:
            raise UsageError(RAY_MISSING) from None
        except ClusterError as exc:
            raise UsageError(str(exc)) from None
    if args.workers == 1:
        return InProcessBackend(stop_event=stop_event)  # the episode polls it at batch boundaries
    return ProcessBackend(args.workers, args.threads, data)


def record_sink(writer):
    """Records to the file (``writer`` None: nowhere) as the driver releases them, in episode
    order, flushed at every run event (the start, each episode's end, the stop), so that a
    follower sees whole episodes and an interrupted run keeps them."""
    from training.records import RunEvent

    def sink(record) -> None:
        if writer is not None:
            writer.write(record)
            if isinstance(record, RunEvent):
                writer.flush()

    return sink


class EpisodeProgress(ProgressBars):
    """A bar over the run's lane-epochs (smooth, with an ETA), with episodes done, running,
    queued and failed, and the paired result so far (it updates as episodes finish, in order)."""

    def __init__(self, label: str, total: int) -> None:
        super().__init__("state", "eta", "paired", name_width=len(label))
        self._task = self.add(label, total=None, state=f"0/{total} episodes", paired="")

    def __call__(self, progress) -> None:
        self.update(
            self._task,
            total=progress.epochs_total or None,
            completed=progress.epochs_done,
            state=describe(progress),
            paired="  ".join(_short(p) for p in progress.paired),
        )


def describe(progress) -> str:
    """ "3/10 episodes, running 2, queued 5" (and failed, when any)."""
    text = f"{progress.done}/{progress.total} episodes, running {progress.running}, queued {progress.queued}"
    return text + (f", [red]failed {progress.failed}[/red]" if progress.failed else "")


def _short(p) -> str:
    from rich.markup import escape

    status = f" {p.status}" if p.status else ""
    return escape(f"{p.lane} {p.difference_text()} W/T/L {p.wins}/{p.ties}/{p.losses}{status}")
