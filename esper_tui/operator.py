"""The operator's side of the dashboard: commands to the trainer (pause and resume training,
pause, resume and cull a seed) and what the trainer answered. A mixin of ``DashboardScreen``:
it reads the screen's ``commands`` (the trainer, or None for a recording), ``view`` and
``selected_seed()``."""

from __future__ import annotations

from textual.screen import Screen

from esper_tui.screens import ConfirmScreen
from esper_tui.sources import CommandSource
from training.env.actions import Command, CommandType
from training.records import RunEvent, SeedRecord
from widgets.model import RunStatus, StoreView

APPLIED = {"pause_seed": "paused", "resume_seed": "resumed", "cull": "culled"}


def applied_text(event: RunEvent) -> str:
    """An applied seed command in words ("paused the seed in heuristic slot 0"), without the
    trainer's internal seed id; other events keep their message."""
    verb = APPLIED.get(str(event.data.get("type", "")))
    if verb is None or event.lane is None or event.slot is None:
        return event.message
    return f"{verb} the seed in {event.lane} slot {event.slot}"


class TrainerControls(Screen[None]):
    """Keys that command the trainer, and the notifications of what became of them."""

    commands: CommandSource | None
    view: StoreView
    _seen_events: int

    def selected_seed(self) -> tuple[str | None, int, SeedRecord | None]:
        raise NotImplementedError

    def _announce_events(self, view: StoreView) -> None:
        """Acknowledge what the trainer did with our commands, refusals with their reason."""
        events = view.events
        fresh = events[self._seen_events :] if len(events) >= self._seen_events else events
        self._seen_events = len(events)
        self._announce_failures(fresh)
        if self.commands is None:
            return  # a recording's past commands are in its events, not news
        for event in fresh:
            if event.event == "command_refused":
                self.notify(
                    event.message, title="refused", severity="warning", timeout=6, markup=False
                )
            elif event.event == "command_applied":
                self.notify(applied_text(event), title="applied", timeout=3, markup=False)
            elif event.event in ("paused", "resumed"):
                self.notify(event.message, timeout=3, markup=False)

    def _announce_failures(self, events: tuple) -> None:
        for event in events:
            if event.event == "record_failed":  # the record file failed: say so whatever the source
                self.notify(
                    event.message, title="record", severity="error", timeout=30, markup=False
                )

    def _send(self, command: Command, ack: str) -> None:
        if self.commands is None:
            self.notify(
                "this run is a recording: there is no trainer to command", severity="warning"
            )
            return
        self.commands.send(command)
        self.notify(ack, timeout=3, markup=False)

    def action_toggle_training(self) -> None:
        status = self.view.status
        if status is RunStatus.PAUSED:
            self._send(Command(CommandType.RESUME_TRAINING), "resume requested")
        elif status in (RunStatus.RUNNING, RunStatus.WAITING):
            self._send(
                Command(CommandType.PAUSE_TRAINING),
                "pause requested: training stops at the next batch",
            )
        else:
            self.notify(f"training is {status.value.lower()}", severity="warning")

    def _seed_name(self, lane: str, slot: int, record: SeedRecord | None) -> str:
        """How a person names a seed: lane, slot, blueprint and stage (never the internal id)."""
        if record is None or record.seed_id is None:
            return f"{lane} slot {slot}"
        return f"the {record.blueprint_id} seed in {lane} slot {slot} ({record.stage_name})"

    def action_pause_seed(self) -> None:
        lane, slot, record = self.selected_seed()
        if lane is None or record is None or record.seed_id is None:
            self.notify(f"slot {slot} is empty: nothing to pause", severity="warning")
            return
        paused = record.paused
        pending = next((v.pending.get(slot) for v in self.view.lanes if v.name == lane), None)
        if pending in ("paused", "resumed"):
            paused = pending == "paused"
        kind = CommandType.RESUME_SEED if paused else CommandType.PAUSE_SEED
        verb = "resume" if paused else "pause"
        self._send(
            Command(kind, lane=lane, slot=slot),
            f"{verb} requested: {self._seed_name(lane, slot, record)}",
        )

    def action_cull_seed(self) -> None:
        lane, slot, record = self.selected_seed()
        if lane is None or record is None or record.seed_id is None:
            self.notify(f"slot {slot} is empty: nothing to cull", severity="warning")
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self._send(
                    Command(CommandType.CULL, lane=lane, slot=slot),
                    f"cull requested: {self._seed_name(lane, slot, record)}",
                )
            else:
                self.notify("cull cancelled", timeout=2)

        question = f"Cull {self._seed_name(lane, slot, record)}?"
        self.app.push_screen(ConfirmScreen(question), answer)
