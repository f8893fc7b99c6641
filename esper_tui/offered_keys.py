"""Which keys the dashboard offers now: a key shows in the footer (and acts) only where it
does something. The training keys while there is a trainer and the run goes on, a seed key only
for a seed it can act on, ``space`` as Pause or Resume, the replay keys only for a replay. A
mixin of ``DashboardScreen``: it reads the screen's ``commands``, ``view``, ``mode``,
``source``, ``replay_paused``, ``stopping`` and its selected seed."""

from __future__ import annotations

from textual.screen import Screen
from textual.widget import Widget

from esper_tui.sources import CommandSource, DataSource, ReplayControls
from training.records import SeedRecord
from training.seeds.lifecycle import is_live_stage, is_terminal_stage
from widgets.model import RunStatus, StoreView
from widgets.seed_grid import SeedGrid

GOING_ON = (RunStatus.RUNNING, RunStatus.PAUSED, RunStatus.WAITING)
SEED_ACTIONS = {"pause_seed", "resume_seed", "cull_seed"}
REPLAY_ACTIONS = {"pause_replay", "resume_replay", "speed", "jump"}


class OfferedKeys(Screen[None]):
    """``check_action`` for every dashboard key, and a footer redrawn when that changes."""

    commands: CommandSource | None
    source: DataSource | None
    view: StoreView
    mode: str
    replay_paused: bool
    stopping: bool
    _key_state: tuple

    def selected_seed(self) -> tuple[str | None, int, SeedRecord | None]:
        raise NotImplementedError

    def focused_panel(self) -> Widget | None:
        raise NotImplementedError

    def seed_paused(self, lane: str, slot: int, record: SeedRecord) -> bool:
        raise NotImplementedError

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A key is offered only where it acts: False hides it from the footer and the key."""
        live = self.commands is not None and self.view.status in GOING_ON and not self.stopping
        if action == "pause_training":
            return live and self.view.status is not RunStatus.PAUSED
        if action == "resume_training":
            return live and self.view.status is RunStatus.PAUSED
        if action in SEED_ACTIONS:
            return live and self._seed_can(action)
        replay = self.mode == "replay" and isinstance(self.source, ReplayControls)
        if action == "pause_replay":
            return replay and not self.replay_paused
        if action == "resume_replay":
            return replay and self.replay_paused
        if action in REPLAY_ACTIONS:
            return replay
        if action == "maximise":
            return self.maximized is None and self.focused_panel() is not None
        if action == "restore":
            return self.maximized is not None
        if action == "seed_detail":
            return self.selected_seed()[0] is not None
        if action == "move":  # arrows select seeds on the grid; on a scrolling panel they scroll
            return isinstance(self.focused, SeedGrid) or self.focused is None
        return True

    def _seed_can(self, action: str) -> bool:
        lane, slot, record = self.selected_seed()
        if (
            lane is None
            or record is None
            or record.seed_id is None
            or not is_live_stage(record.stage)
        ):
            return False
        if is_terminal_stage(record.stage):
            return False  # fossilized: part of the host, neither paused nor culled
        lane_view = self.view.lane(lane)
        if lane_view is not None and lane_view.pending.get(slot) == "culled":
            return False
        if action == "pause_seed":
            return not self.seed_paused(lane, slot, record)
        if action == "resume_seed":
            return self.seed_paused(lane, slot, record)
        return True

    def _refresh_keys(self) -> None:
        """Redraw the footer when what the keys can do changed (status, selected seed, replay
        pause): never on a plain tick."""
        seed = tuple(
            self.check_action(action, ()) for action in ("pause_seed", "resume_seed", "cull_seed")
        )
        state = (
            self.view.status,
            seed,
            self.replay_paused,
            self.maximized is not None,
            self.selected_seed()[0] is not None,
        )
        if state != self._key_state:
            self._key_state = state
            self.refresh_bindings()
