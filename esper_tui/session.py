"""The trainer thread: runs the episode driver in this process into the store, stoppable and joinable."""

from __future__ import annotations

import functools
import queue
import threading
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace

from esper_tui.store import TelemetryStore
from training.env.actions import Command
from training.env.data import ImageTask
from training.records import RunEvent
from training.runs.config import RunConfig
from training.runs.driver import run_in_process
from training.runs.lanes import Lane
from training.util.stopping import DEFAULT_REASON, StopFlag
from widgets.model import Progress


class TrainerThread(threading.Thread):
    """Owns its stop event and command inbox. A crash is caught with its traceback and published
    as a ``crashed`` event; finishing normally publishes ``finished`` (from the loop itself)."""

    def __init__(
        self,
        config: RunConfig,
        lanes: Sequence[Lane],
        store: TelemetryStore,
        task: ImageTask | None = None,
        runner: Callable | None = None,
    ) -> None:
        """``runner`` stands in for ``training.runs.driver.run_in_process`` (tests); the real
        one also tells the store where each epoch is (the header's progress)."""
        super().__init__(name="esper-trainer", daemon=True)
        self.config = replace(config, run_id=config.run_id or uuid.uuid4().hex[:12])
        self.lanes = list(lanes)
        self.store = store
        self.task = task
        self.stop_event = StopFlag()
        self.inbox: queue.Queue[Command] = queue.Queue()
        self._runner = (
            runner
            if runner is not None
            else functools.partial(run_in_process, progress=self._progress)
        )
        self.error: BaseException | None = None

    @property
    def run_id(self) -> str:
        return self.config.run_id

    def _progress(
        self, phase: str, lane: str, episode: int, epoch: int, batch: int, batches: int
    ) -> None:
        self.store.set_progress(Progress(phase, lane, episode, epoch, batch, batches))

    def run(self) -> None:
        self.store.set_progress(Progress("loading"))  # before the first record: a sign of life
        try:
            self._runner(
                self.config, self.lanes, self.store.add, self.inbox, self.stop_event, self.task
            )
        except Exception as exc:  # noqa: BLE001 - everything must reach the UI, not stderr
            self.error = exc
            self.store.add(
                RunEvent(
                    run_id=self.run_id,
                    event="crashed",
                    message=f"{type(exc).__name__}: {exc}",
                    traceback=traceback.format_exc(),
                )
            )
        finally:
            self.store.set_progress(None)
            self.store.flush()

    def send(self, command: Command) -> None:
        self.inbox.put(command)

    def stop(self, timeout: float = 10.0, reason: str = DEFAULT_REASON) -> bool:
        """Ask the loop to stop (it checks at every batch boundary) and join; True if it ended.
        ``reason`` goes into the record's ``stopped`` event ("by SIGTERM")."""
        self.stop_event.request(reason)
        if self.is_alive():
            self.join(timeout)
        return not self.is_alive()
