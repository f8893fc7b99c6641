"""Episodes as Ray tasks: a local Ray (``--ray``) or an existing cluster (``--ray-address``).

Ray is an optional extra (``pip install -e '.[cluster]'``); nothing else imports this module.
Each episode is one task with its own resource request (``cpus_per_episode`` CPUs, or a share
of a GPU), running the same ``run_episode`` a worker process runs, so a Ray run writes the same
record as a serial one. Model files travel inside the task (``Lane.model``); every node
needs the same ``esper-tui`` installed and, for CIFAR-10, the data at the same ``--data-dir``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager

from training.runs.backends import Closing
from training.runs.episodes import EpisodeOutcome, EpisodeTask, run_episode


class ClusterError(Exception):
    """Ray is there but the cluster cannot be used; the message is one sentence."""


def _episode_task(task: EpisodeTask) -> EpisodeOutcome:
    return run_episode(task)  # no stop flag: the driver cancels Ray tasks instead


class RayBackend(Closing):
    """Submits episodes as Ray tasks. Initialises Ray itself unless it is already running in
    this process (then the caller owns it, and ``close`` leaves it up)."""

    def __init__(
        self,
        address: str | None = None,
        cpus_per_episode: int = 1,
        gpus_per_episode: float | None = None,
        local_cpus: int | None = None,
    ) -> None:
        import ray  # ImportError: the caller says how to install the extra

        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            try:
                if address:
                    ray.init(
                        address=address,
                        include_dashboard=False,
                        log_to_driver=False,
                        logging_level=logging.ERROR,
                    )
                else:
                    ray.init(
                        num_cpus=local_cpus,
                        include_dashboard=False,
                        log_to_driver=False,
                        logging_level=logging.ERROR,
                    )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"the Ray cluster at {address}" if address else "a local Ray"
                raise ClusterError(f"could not start or reach {where} ({exc})") from None
        self._cpus = cpus_per_episode
        self._gpus = gpus_per_episode
        options: dict[str, float] = {"num_cpus": cpus_per_episode, "max_retries": 0}
        if gpus_per_episode:
            options["num_gpus"] = gpus_per_episode
        self._remote = ray.remote(_episode_task).options(**options)
        self._refs: list = []
        if self.capacity < 1:
            raise ClusterError(f"the Ray cluster has no room for one episode ({self._request()})")

    def _request(self) -> str:
        return f"{self._gpus} GPU per episode" if self._gpus else f"{self._cpus} CPU(s) per episode"

    @property
    def capacity(self) -> int:
        """Episodes the cluster can run at once for this resource request (at least 1 once the
        cluster has room, so that queued episodes wait in Ray rather than fail)."""
        resources = self._ray.cluster_resources()
        if self._gpus:
            return int(math.floor(resources.get("GPU", 0.0) / self._gpus + 1e-9))
        return int(resources.get("CPU", 0.0) // self._cpus)

    def submit(self, task: EpisodeTask) -> Future[EpisodeOutcome]:
        ref = self._remote.remote(task)
        self._refs.append(ref)
        return ref.future()

    def epochs_done(self) -> int:
        """Ray tasks report only when they finish: the driver counts their epochs then."""
        return 0

    def stop(self) -> None:
        if not self._refs:
            return
        _, unfinished = self._ray.wait(self._refs, num_returns=len(self._refs), timeout=0)
        for ref in unfinished:
            try:
                self._ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - one that finished meanwhile cannot be cancelled
                pass

    def close(self) -> None:
        self.stop()  # tasks the caller gave up on do not go on holding the cluster
        self._refs.clear()
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()


@contextmanager
def ray_session(address: str | None = None, local_cpus: int | None = None) -> Iterator[None]:
    """Ray up for several fan-outs in a row (``ablate``'s collection and comparison); the
    backends made inside find it running and leave it up."""
    import ray

    if ray.is_initialized():
        yield
        return
    RayBackend(address=address, local_cpus=local_cpus)  # starts (or reaches) Ray, with its errors
    try:
        yield
    finally:
        ray.shutdown()
