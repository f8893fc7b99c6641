"""The score of a run: what each finished episode gave (``EpisodeSummary``), the paired result
so far (``ComparisonResult``), and ``ScoreKeeper``, which the driver feeds in episode order and
which writes the run events that say it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from training.env.actions import Action
from training.records import LaneInfo, RunEvent
from training.runs.config import RunConfig
from training.runs.stats import PairedResult, paired_result
from training.util.stopping import DEFAULT_REASON


@dataclass
class EpisodeSummary:
    episode: int
    final_accuracy: dict[str, float]
    actions: dict[str, Counter]
    fossilized: dict[str, int]
    culled: dict[str, int]
    agreements: int = 0
    decisions: int = 0


@dataclass
class ComparisonResult:
    run_id: str
    mode: str
    lanes: list[str]
    episodes: list[EpisodeSummary] = field(default_factory=list)
    paired: list[PairedResult] = field(default_factory=list)
    stopped: bool = False
    # episodes that raised (headless runs go on past them)
    failed: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)  # their tracebacks' last lines
    # Until decided: the episode at which every lane's confidence sequence excluded 0.
    decided_at: int | None = None

    def accuracies(self, lane: str) -> list[float]:
        return [e.final_accuracy[lane] for e in self.episodes if lane in e.final_accuracy]

    def action_counts(self, lane: str) -> dict[str, int]:
        total: Counter = Counter()
        for e in self.episodes:
            total.update(e.actions.get(lane, Counter()))
        return {Action(a).name: total[a] for a in sorted(total)}

    def stop_reason(self, max_episodes: int) -> str:
        """Why an until-decided run ended, as one sentence without its full stop."""
        n = len(self.episodes)
        if self.decided_at is not None:
            return (
                f"decided after {self.decided_at} episode(s): the anytime 95% confidence "
                f"sequence of every model excludes 0"
            )
        if self.stopped:
            return f"stopped after {n} episode(s), undecided"
        if any(p.no_spread for p in self.paired):
            why = "a model's paired differences are all 0, so there is nothing to decide"
        elif self.failed:
            why = f"{len(self.failed)} episode(s) failed and no decision was reached"
        else:
            why = "its confidence sequence still contains 0"
        return f"reached the maximum of {max_episodes} episodes undecided: {why}"

    def agreement_rate(self) -> float | None:
        decisions = sum(e.decisions for e in self.episodes)
        return None if decisions == 0 else sum(e.agreements for e in self.episodes) / decisions


class ScoreKeeper:
    """The paired result so far, one finished episode at a time, in episode order (the driver
    keeps its score here), and the run events that say it."""

    def __init__(self, config: RunConfig, infos: Sequence[LaneInfo], run_id: str) -> None:
        self.config, self.run_id = config, run_id
        self.result = ComparisonResult(run_id, config.mode, [i.name for i in infos])
        self.reference = next((i.name for i in infos if i.policy_kind == "heuristic"), None)

    def add(self, summary: EpisodeSummary) -> RunEvent:
        """Count a finished episode; returns its ``episode_finished`` event."""
        result = self.result
        result.episodes.append(summary)
        paired = []
        if self.reference is not None and self.config.mode == "head-to-head":
            for lane in result.lanes:
                if lane != self.reference:
                    paired.append(
                        paired_result(
                            lane,
                            self.reference,
                            result.accuracies(lane),
                            result.accuracies(self.reference),
                            effect=self.config.effect,
                            min_episodes=self.config.min_episodes,
                        )
                    )
        result.paired = paired
        episode = summary.episode
        return RunEvent(
            run_id=self.run_id,
            event="episode_finished",
            episode=episode,
            message=f"episode {episode}/{self.config.episodes} finished",
            data={
                "final_accuracy": summary.final_accuracy,
                "paired": [p.to_dict() for p in paired],
                "agreement_rate": result.agreement_rate(),
            },
        )

    def decided(self) -> bool:
        """Every lane's paired result is decided (its confidence sequence excludes 0)."""
        paired = self.result.paired
        return bool(paired) and all(p.decided for p in paired)

    def fail(self, episode: int, error: str) -> RunEvent:
        """An episode that raised: kept out of the paired result, its traceback in the record."""
        last = error.strip().splitlines()[-1] if error.strip() else "unknown error"
        self.result.failed.append(episode)
        self.result.errors[episode] = last
        return RunEvent(
            run_id=self.run_id,
            event="episode_failed",
            episode=episode,
            message=f"episode {episode} failed: {last}",
            traceback=error,
        )

    def stopped_event(self, reason: str = DEFAULT_REASON) -> RunEvent:
        """``reason``: who stopped the run ("by operator", "by SIGTERM")."""
        return RunEvent(run_id=self.run_id, event="stopped", message=f"stopped {reason}")

    def finished_event(self) -> RunEvent:
        result = self.result
        message = (
            "; ".join(p.summary() for p in result.paired)
            or f"{self.config.episodes} episode(s) finished"
        )
        if result.failed:
            message += (
                f"; {len(result.failed)} episode(s) failed: {', '.join(map(str, result.failed))}"
            )
        if self.config.until_decided:
            message = f"{result.stop_reason(self.config.episodes)}; {message}"
        data: dict = {"paired": [p.to_dict() for p in result.paired]}
        if result.failed:
            data["failed"] = list(result.failed)
        if result.decided_at is not None:
            data["decided_at"] = result.decided_at
        return RunEvent(run_id=self.run_id, event="finished", message=message, data=data)
