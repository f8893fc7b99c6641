"""The record source's side of the dashboard: what the header is told about where the data
comes from (live, replay or follow; the data's age; what a follow waits for; whether the writer
is still there; where a live trainer is inside its epoch), and the replay keys (pause and
resume, faster and slower, next and previous episode). A mixin of ``DashboardScreen``: it reads
the screen's ``store``, ``source``, ``mode``, ``clock``, ``replay_paused`` and ``stopping``."""

from __future__ import annotations

from collections.abc import Callable

from textual.screen import Screen

from esper_tui.liveness import LivenessState, LivenessWatch, liveness_note
from esper_tui.sources import DataSource, ReplayControls, source_path
from esper_tui.store import TelemetryStore
from training.records.text import printable_path
from widgets.labels import fit_path
from widgets.model import StoreView
from widgets.run_source import SourceState, record_time


class SourceControls(Screen[None]):
    """The header's ``SourceState``, and the keys that steer a replay."""

    store: TelemetryStore
    source: DataSource | None
    mode: str
    clock: Callable[[], float] | None
    replay_paused: bool
    stopping: bool
    _liveness: LivenessWatch | None

    def poll(self) -> None:
        raise NotImplementedError

    def source_state(self, view: StoreView) -> SourceState:
        """What the header is told of the source now, for ``view``."""
        age, waiting = None, ""
        # else the source says
        if self.mode == "follow" and view.run is None and " · " not in view.source:
            path = source_path(self.source)
            # the note's 41 other cells, then the path, its file name kept, in what is left
            room = max(self.size.width - 45, 20)
            name = fit_path(printable_path(path), room) if path is not None else "the record"
            exists = path is not None and path.exists()
            waiting = (
                f"waiting for the first record in {name}"
                if exists
                else f"waiting for {name} to be created (like tail -F)"
            )
        elif self.clock is not None and self.mode == "follow":
            written = record_time(view)
            age = None if written is None else max(0.0, self.clock() - written)
        elif self.clock is not None and self.mode == "live" and view.last_record_at is not None:
            age = self.store.now() - view.last_record_at
        speed = getattr(self.source, "speed", None)
        ended = self.mode == "replay" and self.source is not None and not self.source.is_alive()
        progress = self.store.progress if self.mode == "live" else None
        alive = self._alive(view)
        return SourceState(
            self.mode,
            age,
            self.replay_paused,
            speed if isinstance(speed, int | float) else None,
            waiting,
            self.stopping,
            ended,
            progress,
            "" if alive is None else alive.verdict.value,
            "" if alive is None else liveness_note(alive),
            None if alive is None else alive.writer_pid,
        )

    def _alive(self, view: StoreView) -> LivenessState | None:
        """Follow mode: LIVE, SLOW, STALE or WRITER GONE (None without a clock: snapshots)."""
        if self.mode != "follow" or self.clock is None:
            return None
        path = source_path(self.source)
        if path is None:
            return None
        if self._liveness is None or self._liveness.path != path:
            self._liveness = LivenessWatch(path, self.clock)
        return self._liveness.state(view)

    def action_pause_replay(self) -> None:
        self._toggle_replay()

    def action_resume_replay(self) -> None:
        self._toggle_replay()

    def _toggle_replay(self) -> None:
        if isinstance(self.source, ReplayControls):
            self.replay_paused = self.source.toggle_pause()
            self.poll()
            self.refresh_bindings()

    def action_speed(self, factor: float) -> None:
        if isinstance(self.source, ReplayControls):
            speed = self.source.change_speed(factor)
            self.notify(f"replay speed {speed:g} epoch records/s", timeout=2)
            self.poll()

    def action_jump(self, delta: int) -> None:
        if isinstance(self.source, ReplayControls):
            self.source.jump_episode(delta)
            self.notify("next episode" if delta > 0 else "previous episode", timeout=2)
