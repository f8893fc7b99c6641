"""``PolicyTally``: a record sink that counts, per lane, how often its decisions agree with the
heuristic's on the same states, and how many parameters its seeds added by each episode's end.
``esper-iql compare`` and the ablation both report these.
"""

from __future__ import annotations

from training.records import EpochRecord, Record


class PolicyTally:
    """A sink that counts, per lane, agreement with the heuristic on the same states and the
    parameters seeds added by each episode's end (host + seeds at the end minus the host at
    the first epoch)."""

    def __init__(self) -> None:
        self.agree: dict[str, list[int]] = {}
        self._first: dict[tuple[int, str], int] = {}
        self._last: dict[tuple[int, str], int] = {}

    def __call__(self, record: Record) -> None:
        if not isinstance(record, EpochRecord):
            return
        key = (record.episode, record.lane)
        self._first.setdefault(key, record.host_params)
        self._last[key] = record.host_params + record.seed_params
        decision = record.decision
        # shadow: the advisers on the executing lane's state
        for choice in (decision, *decision.shadow) if decision is not None else ():
            if choice.reference_action is not None:
                counts = self.agree.setdefault(choice.lane, [0, 0])
                counts[0] += int(choice.action == choice.reference_action)
                counts[1] += 1

    def agreement(self, lane: str) -> float | None:
        hits, total = self.agree.get(lane, (0, 0))
        return hits / total if total else None

    def params_added(self, lane: str, episodes: list[int]) -> list[int]:
        return [
            self._last[(e, lane)] - self._first[(e, lane)]
            for e in episodes
            if (e, lane) in self._last
        ]
