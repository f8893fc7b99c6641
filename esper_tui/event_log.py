"""The event log: everything that happened to a run, in order, told in full.

Built by the store from the records themselves (so a replay or a follow shows the recorded
events exactly as the live run did): the run's events (started, paused, commands applied and
refused, episodes finished or failed, stopped, crashed), every seed stage transition with its
gate read from the seeds' timelines, gates that failed without a transition, and record lines
skipped as unreadable. No Textual here; the widgets render ``LogEntry`` view models.
"""

from __future__ import annotations

from collections import deque

from training.records import EpochRecord, PairedResult, RunEvent, SeedRecord
from training.seeds.lifecycle import SeedStage, stage_name
from widgets.model import LogEntry

APPLIED = {"pause_seed": "paused", "resume_seed": "resumed", "cull": "culled"}
RUN_KINDS = {  # RunEvent.event -> log kind, level
    "started": ("run", "info"),
    "finished": ("run", "good"),
    "stopped": ("run", "warn"),
    "crashed": ("run", "bad"),
    "paused": ("pause", "warn"),
    "resumed": ("pause", "info"),
    "command_applied": ("command", "info"),
    "command_refused": ("refused", "warn"),
    "episode_finished": ("episode", "good"),
    "episode_failed": ("failed", "bad"),
    "record_failed": ("record", "bad"),
}


def applied_text(event: RunEvent) -> str:
    """An applied seed command in words ("paused the seed in heuristic slot 0"), without the
    trainer's internal seed id; other events keep their message."""
    verb = APPLIED.get(str(event.data.get("type", "")))
    if verb is None or event.lane is None or event.slot is None:
        return event.message
    return f"operator {verb} the seed in {event.lane} slot {event.slot}"


def event_text(event: RunEvent) -> str:
    """What a run event says in the log: its message, made whole where the message alone is
    not (a refusal names the command; a finished episode carries its paired result)."""
    kind = event.event
    if kind == "command_applied":
        return applied_text(event)
    if kind == "command_refused":
        return f"refused: {event.message}"
    if kind == "episode_finished":
        paired = event.data.get("paired") or []
        parts = [event.message or f"episode {event.episode} finished"]
        finals = event.data.get("final_accuracy") or {}
        if isinstance(finals, dict) and finals:
            parts.append(
                "final accuracy "
                + ", ".join(
                    f"{lane} {float(acc):.2f}"
                    for lane, acc in finals.items()
                    if isinstance(acc, int | float)
                )
            )
        for p in paired if isinstance(paired, list) else ():
            if isinstance(p, dict):
                parts.append(_paired_words(p))
        return "; ".join(parts)
    if kind == "started":
        return f"run started: {event.message}" if event.message else "run started"
    if kind == "finished":
        return f"run finished: {event.message}" if event.message else "run finished"
    if kind == "crashed":
        return f"crashed: {event.message}" if event.message else "crashed"
    return event.message or kind


def _paired_words(p: dict) -> str:
    try:
        return "so far " + PairedResult.from_dict(p).summary()
    except (TypeError, ValueError, KeyError):
        return f"{p.get('lane')}: paired result unreadable"


def _stage_level(to: int) -> tuple[str, str]:
    if to == SeedStage.CULLED:
        return "cull", "warn"
    if to == SeedStage.FOSSILIZED:
        return "fossil", "good"
    return "stage", "info"


def _seed_words(seed: SeedRecord) -> str:
    blueprint = f" {seed.blueprint_id}" if seed.blueprint_id else ""
    return f"{seed.lane} {seed.slot_id}{blueprint} seed"


class EventLog:
    """Bounded, in arrival order. ``add_*`` are called by the store under its lock."""

    def __init__(self, maxlen: int) -> None:
        self._entries: deque[LogEntry] = deque(maxlen=maxlen)
        self._seq = 0
        self._timeline_seen: dict[
            tuple[str, str], int
        ] = {}  # (lane, seed id) -> transitions logged
        self._gate_seen: dict[tuple[str, str], object] = {}
        self._episode: dict[str, int] = {}

    def entries(self) -> tuple[LogEntry, ...]:
        return tuple(self._entries)

    def _add(
        self,
        kind: str,
        text: str,
        level: str = "info",
        *,
        episode: int | None = None,
        epoch: int | None = None,
        lane: str | None = None,
        slot: int | None = None,
    ) -> None:
        self._seq += 1
        self._entries.append(LogEntry(self._seq, kind, text, episode, epoch, lane, slot, level))

    def add_event(self, event: RunEvent) -> None:
        kind, level = RUN_KINDS.get(event.event, ("run", "info"))
        if event.event == "stopped":
            level = "warn"
        self._add(
            kind,
            event_text(event),
            level,
            episode=event.episode,
            epoch=event.epoch,
            lane=event.lane,
            slot=event.slot,
        )

    def add_unreadable(self, line: int | None, reason: str) -> None:
        where = f"line {line}" if line is not None else "a line"
        self._add(
            "unreadable",
            f"record {where} skipped as unreadable: {reason or 'not a record'}",
            "warn",
        )

    def add_note(self, kind: str, text: str, level: str = "info") -> None:
        self._add(kind, text, level)

    def add_epoch(self, record: EpochRecord) -> None:
        """The seed transitions (and failed gates) this epoch record shows for the first time."""
        lane = record.lane
        if self._episode.get(lane) != record.episode:  # seed ids start again each episode
            self._episode[lane] = record.episode
            for key in [k for k in self._timeline_seen if k[0] == lane]:
                del self._timeline_seen[key]
            for key in [k for k in self._gate_seen if k[0] == lane]:
                del self._gate_seen[key]
        for seed in record.seeds:
            if seed.seed_id is None:
                continue
            key = (lane, seed.seed_id)
            seen = self._timeline_seen.get(key, 0)
            fresh = seed.timeline[seen:]
            self._timeline_seen[key] = len(seed.timeline)
            gate = seed.gate
            gate_new = gate is not None and self._gate_seen.get(key) != gate
            self._gate_seen[key] = gate
            for epoch, src, dst, reason in fresh:
                kind, level = _stage_level(dst)
                text = f"{_seed_words(seed)}: {stage_name(src)} → {stage_name(dst)}"
                if reason:
                    text += f" ({reason})"
                if gate is not None and gate.epoch == epoch and gate.to_stage == dst:
                    text += f"; gate {gate.gate} {'passed' if gate.passed else 'failed'}"
                    gate_new = False
                self._add(
                    kind,
                    text,
                    level,
                    episode=record.episode,
                    epoch=epoch,
                    lane=lane,
                    slot=seed.slot_index,
                )
            if gate_new and gate is not None and not gate.passed:
                failed = "; ".join(gate.checks_failed) or "failed"
                self._add(
                    "gate",
                    f"{_seed_words(seed)} stays {seed.stage_name}: gate {gate.gate} "
                    f"({stage_name(gate.from_stage)} → {stage_name(gate.to_stage)}) failed: {failed}",
                    "warn",
                    episode=record.episode,
                    epoch=gate.epoch or record.epoch,
                    lane=lane,
                    slot=seed.slot_index,
                )
