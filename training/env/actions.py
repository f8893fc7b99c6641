"""The controller's seven actions (the plan's ``SimicAction``) and operator commands."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

BLUEPRINT_IDS: tuple[str, ...] = ("conv_enhance", "attention", "norm", "depthwise")


class Action(IntEnum):
    """A policy's choice once per epoch. GERMINATE_* grow a blueprint in the first dormant slot;
    ADVANCE and CULL act on the focus seed."""

    WAIT = 0
    GERMINATE_CONV = 1
    GERMINATE_ATTENTION = 2
    GERMINATE_NORM = 3
    GERMINATE_DEPTHWISE = 4
    ADVANCE = 5
    CULL = 6

    # Plain methods rather than staticmethods: both ``Action.is_germinate(a)`` (the plan's
    # spelling) and ``a.is_germinate()`` work.
    def is_germinate(self) -> bool:
        return Action.GERMINATE_CONV <= self <= Action.GERMINATE_DEPTHWISE

    def get_blueprint_id(self) -> str | None:
        """The blueprint a GERMINATE action grows, None for the other actions."""
        if not Action.is_germinate(self):
            return None
        return BLUEPRINT_IDS[int(self) - int(Action.GERMINATE_CONV)]

    @classmethod
    def from_blueprint(cls, blueprint_id: str) -> Action:
        return cls(int(cls.GERMINATE_CONV) + BLUEPRINT_IDS.index(blueprint_id))


ACTION_DIM = len(Action)


class CommandType(StrEnum):
    """What an operator can ask of the trainer from the dashboard."""

    PAUSE_SEED = "pause_seed"
    RESUME_SEED = "resume_seed"
    CULL = "cull"
    PAUSE_TRAINING = "pause_training"
    RESUME_TRAINING = "resume_training"
    STOP = "stop"


SEED_COMMANDS = frozenset({CommandType.PAUSE_SEED, CommandType.RESUME_SEED, CommandType.CULL})

_command_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Command:
    """An operator command. Seed commands name a lane and a slot index; training commands do not."""

    type: CommandType
    lane: str | None = None
    slot: int | None = None
    id: int = field(default_factory=lambda: next(_command_ids))

    def __post_init__(self) -> None:
        if self.type in SEED_COMMANDS and (self.lane is None or self.slot is None):
            raise ValueError(f"{self.type.value} needs a lane and a slot index")

    def describe(self) -> str:
        if self.type in SEED_COMMANDS:
            return f"{self.type.value} {self.lane} slot {self.slot}"
        return self.type.value
