"""What a run of episodes is asked to do: ``RunConfig`` (the environment, how many episodes,
head-to-head or shadow, the target effect, until decided), and ``run_info``, the first line of
its record, which says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from training.env.config import EnvConfig
from training.records import LaneInfo, RunInfo
from training.runs.stats import DEFAULT_EFFECT, MIN_EPISODES

MODES = ("head-to-head", "shadow")


@dataclass(frozen=True)
class RunConfig:
    env: EnvConfig = field(default_factory=EnvConfig)
    episodes: int = 1
    mode: str = "head-to-head"
    run_id: str = ""
    # Shadow mode: the lane that trains; the others only say what they would have done.
    executing_lane: str | None = None
    # The paired result's power is given for this target effect (accuracy points).
    effect: float = DEFAULT_EFFECT
    # Until decided: ``episodes`` is the most to run; the run ends as soon as every lane's
    # anytime-valid confidence sequence excludes 0, never before ``min_episodes``.
    until_decided: bool = False
    min_episodes: int = MIN_EPISODES

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; choose {' or '.join(MODES)}")
        if self.episodes < 1:
            raise ValueError(f"episodes must be at least 1, got {self.episodes}")
        if not (self.effect > 0.0 and self.effect < float("inf")):
            raise ValueError(
                f"the target effect must be a positive number of points, got {self.effect}"
            )
        if self.min_episodes < 2:
            raise ValueError(f"the minimum episodes must be at least 2, got {self.min_episodes}")
        if self.until_decided and self.mode != "head-to-head":
            raise ValueError("running until decided needs a head-to-head comparison")
        if self.until_decided and self.min_episodes > self.episodes:
            raise ValueError(
                f"the minimum episodes ({self.min_episodes}) exceed the maximum ({self.episodes})"
            )

    def episode_env(self, episode: int) -> EnvConfig:
        """Episode k (1-based) runs on seed base + k - 1: paired across lanes, varied across episodes."""
        return replace(self.env, seed=self.env.seed + episode - 1)


def run_info(config: RunConfig, infos: Sequence[LaneInfo], run_id: str) -> RunInfo:
    env = config.env
    infos = tuple(infos)
    executing = None
    if config.mode == "shadow":
        executing = config.executing_lane or infos[0].name
    return RunInfo(
        run_id=run_id,
        mode=config.mode,
        lanes=infos,
        preset=env.preset,
        device=env.device,
        seed=env.seed,
        epochs=env.max_epochs,
        episodes=config.episodes,
        slots=env.slots,
        created_at=datetime.now(UTC).isoformat(),
        executing_lane=executing,
        data_seed=env.data_seed,
    )
