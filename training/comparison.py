"""The comparison loop: lanes of policies on identical runs, one epoch at a time.

``run()`` is the only path from training to records: the headless ``esper-iql compare`` and the
dashboard's trainer thread both call it. Every lane gets an identical fresh env each episode
(same seed, same data order, same initial weights), so lanes diverge only through decisions.
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from training.actions import Action, Command, CommandType
from training.data import ImageTask, load_task
from training.env import EnvConfig, MorphogeneticEnv, StopEpoch
from training.policies.base import Decision, Policy
from training.policies.heuristic import HeuristicPolicy
from training.records import (
    DecisionRecord,
    EpochRecord,
    LaneInfo,
    Record,
    RunEvent,
    RunInfo,
)
from training.stats import PairedResult, paired_result
from training.stopping import DEFAULT_REASON, stop_reason

MODES = ("head-to-head", "shadow")
Sink = Callable[[Record], None]


@dataclass
class Lane:
    """One policy and how it is shown. ``reference`` lanes (the heuristic) are what the others
    are compared against."""

    name: str
    policy: Policy
    info: LaneInfo

    @classmethod
    def heuristic(cls, name: str = "heuristic") -> Lane:
        return cls(name, HeuristicPolicy(name=name), LaneInfo(name, "heuristic"))


@dataclass(frozen=True)
class RunConfig:
    env: EnvConfig = field(default_factory=EnvConfig)
    episodes: int = 1
    mode: str = "head-to-head"
    run_id: str = ""
    # Shadow mode: the lane that trains; the others only say what they would have done.
    executing_lane: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; choose {' or '.join(MODES)}")
        if self.episodes < 1:
            raise ValueError(f"episodes must be at least 1, got {self.episodes}")

    def episode_env(self, episode: int) -> EnvConfig:
        """Episode k (1-based) runs on seed base + k - 1: paired across lanes, varied across episodes."""
        return replace(self.env, seed=self.env.seed + episode - 1)


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
    failed: list[int] = field(default_factory=list)  # episodes that raised (parallel runs)
    errors: dict[int, str] = field(default_factory=dict)  # their tracebacks' last lines

    def accuracies(self, lane: str) -> list[float]:
        return [e.final_accuracy[lane] for e in self.episodes if lane in e.final_accuracy]

    def action_counts(self, lane: str) -> dict[str, int]:
        total: Counter = Counter()
        for e in self.episodes:
            total.update(e.actions.get(lane, Counter()))
        return {Action(a).name: total[a] for a in sorted(total)}

    def agreement_rate(self) -> float | None:
        decisions = sum(e.decisions for e in self.episodes)
        return None if decisions == 0 else sum(e.agreements for e in self.episodes) / decisions


class _Control:
    """Operator commands and the stop flag, checked at every batch boundary."""

    def __init__(self, run_id: str, envs: dict[str, MorphogeneticEnv], inbox: queue.Queue,
                 stop: threading.Event, sink: Sink, episode: int) -> None:  # fmt: skip
        self.run_id, self.envs, self.inbox, self.stop = run_id, envs, inbox, stop
        self.sink, self.episode = sink, episode
        self.paused = False
        self.operator_culls: Counter = Counter()

    def __call__(self, env: MorphogeneticEnv | None = None, batch: int = 0) -> None:
        self.drain()
        while self.paused and not self.stop.is_set():
            self.drain(timeout=0.1)
        if self.stop.is_set():
            raise StopEpoch

    def check_stop(self) -> None:
        """Between validation batches: only the stop flag (commands wait for the batch boundary)."""
        if self.stop.is_set():
            raise StopEpoch

    def drain(self, timeout: float | None = None) -> None:
        while True:
            try:
                command = self.inbox.get(timeout=timeout) if timeout else self.inbox.get_nowait()
            except queue.Empty:
                return
            timeout = None
            self.apply(command)

    def apply(self, command: Command) -> None:
        ev: dict[str, Any] = dict(run_id=self.run_id, episode=self.episode, lane=command.lane, slot=command.slot)
        if command.type is CommandType.STOP:
            self.stop.set()
            return
        if command.type in (CommandType.PAUSE_TRAINING, CommandType.RESUME_TRAINING):
            pause = command.type is CommandType.PAUSE_TRAINING
            if pause != self.paused:
                self.paused = pause
                self.sink(RunEvent(event="paused" if pause else "resumed",
                                   message="training paused by operator" if pause else "training resumed",
                                   **ev))  # fmt: skip
            return
        env = self.envs.get(command.lane or "")
        if env is None:
            self.sink(RunEvent(event="command_refused", message=f"{command.describe()}: lane "
                               f"{command.lane!r} does not train in this run", **ev))  # fmt: skip
            return
        outcome = env.apply_command(command)
        if outcome.applied and command.type is CommandType.CULL:
            self.operator_culls[command.lane] += 1
        self.sink(RunEvent(event="command_applied" if outcome.applied else "command_refused",
                           message=f"{command.describe()}: {outcome.reason}", epoch=env.epoch,
                           data={"command_id": command.id, "type": command.type.value}, **ev))  # fmt: skip


def _decision_record(lane: str, epoch: int, policy: Policy, decision: Decision, mask: Sequence[bool],
                     executed: bool, outcome: str, target: int | None, reference: int | None = None,
                     shadow: tuple = (), episode: int = 0) -> DecisionRecord:  # fmt: skip
    return DecisionRecord(
        lane=lane, epoch=epoch, policy=policy.kind, action=int(decision.action),
        target_slot=target, reason=decision.reason, action_mask=tuple(bool(m) for m in mask),
        executed=executed, outcome=outcome, q_values=decision.q_values, value=decision.value,
        advantage=decision.advantage, probabilities=decision.probabilities,
        features=decision.features, z_scores=decision.z_scores, range_excess=decision.range_excess,
        reference_action=reference,
        shadow=shadow, episode=episode,
    )  # fmt: skip


def _epoch_record(run_id: str, episode: int, lane: str, env: MorphogeneticEnv, result,
                  decision: DecisionRecord) -> EpochRecord:  # fmt: skip
    host, seeds = env.param_counts()
    return EpochRecord(
        run_id=run_id, episode=episode, lane=lane, epoch=result.epoch,
        max_epochs=env.config.max_epochs, train_loss=result.train_loss, val_loss=result.val_loss,
        train_accuracy=result.train_accuracy, val_accuracy=result.val_accuracy, host_params=host,
        seed_params=seeds, seeds=env.seed_records(lane), decision=decision,
        wall_seconds=result.wall_seconds, samples_per_second=result.samples_per_second,
        reward=result.reward, plateau_epochs=env.signals.plateau_epochs,
    )  # fmt: skip


def run_info(config: RunConfig, lanes: Sequence[Lane] | Sequence[LaneInfo], run_id: str) -> RunInfo:
    env = config.env
    infos = tuple(lane.info if isinstance(lane, Lane) else lane for lane in lanes)
    executing = None
    if config.mode == "shadow":
        executing = config.executing_lane or infos[0].name
    return RunInfo(
        run_id=run_id, mode=config.mode, lanes=infos,
        preset=env.preset, device=env.device, seed=env.seed, epochs=env.max_epochs,
        episodes=config.episodes, slots=env.slots, created_at=datetime.now(UTC).isoformat(),
        executing_lane=executing, data_seed=env.data_seed,
    )  # fmt: skip


def run(config: RunConfig, lanes: Sequence[Lane], sink: Sink, inbox: queue.Queue | None = None,
        stop_event: threading.Event | None = None, task: ImageTask | None = None) -> ComparisonResult:  # fmt: skip
    """Run every episode of a comparison, sending each record to ``sink`` as it happens.

    ``inbox`` carries operator ``Command``s, applied at the next batch boundary; ``stop_event``
    ends the run within one batch. Exceptions from training propagate to the caller.
    """
    if not lanes:
        raise ValueError("a comparison needs at least one lane")
    names = [lane.name for lane in lanes]
    if len(set(names)) != len(names):
        raise ValueError(f"lane names must be unique, got {names}")
    inbox = inbox if inbox is not None else queue.Queue()
    stop = stop_event if stop_event is not None else threading.Event()
    run_id = config.run_id or uuid.uuid4().hex[:12]
    info = run_info(config, lanes, run_id)
    if info.executing_lane is not None and info.executing_lane not in names:
        raise ValueError(f"executing lane {info.executing_lane!r} is not one of {names}")
    sink(info)
    sink(RunEvent(run_id=run_id, event="started", message=f"{config.mode}, {len(lanes)} lane(s)"))
    task = task or load_task(config.env.data_config())
    board = Scoreboard(config, lanes, run_id)
    for episode in range(1, config.episodes + 1):
        summary = run_lanes_episode(config, lanes, info, episode, task, sink, inbox, stop)
        if summary is None:
            board.result.stopped = True
            sink(board.stopped_event(stop_reason(stop)))
            return board.result
        sink(board.add(summary))
    sink(board.finished_event())
    return board.result


class Scoreboard:
    """The paired result so far, one finished episode at a time, in episode order: the serial
    loop and the parallel driver (``training.parallel``) both keep their score here."""

    def __init__(self, config: RunConfig, lanes: Sequence[Lane] | Sequence[LaneInfo], run_id: str) -> None:
        infos = [lane.info if isinstance(lane, Lane) else lane for lane in lanes]
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
                    paired.append(paired_result(lane, self.reference, result.accuracies(lane),
                                                result.accuracies(self.reference)))  # fmt: skip
        result.paired = paired
        episode = summary.episode
        return RunEvent(run_id=self.run_id, event="episode_finished", episode=episode,
                        message=f"episode {episode}/{self.config.episodes} finished",
                        data={"final_accuracy": summary.final_accuracy,
                              "paired": [p.to_dict() for p in paired],
                              "agreement_rate": result.agreement_rate()})  # fmt: skip

    def fail(self, episode: int, error: str) -> RunEvent:
        """An episode that raised: kept out of the paired result, its traceback in the record."""
        last = error.strip().splitlines()[-1] if error.strip() else "unknown error"
        self.result.failed.append(episode)
        self.result.errors[episode] = last
        return RunEvent(run_id=self.run_id, event="episode_failed", episode=episode,
                        message=f"episode {episode} failed: {last}", traceback=error)  # fmt: skip

    def stopped_event(self, reason: str = DEFAULT_REASON) -> RunEvent:
        """``reason``: who stopped the run ("by operator", "by SIGTERM")."""
        return RunEvent(run_id=self.run_id, event="stopped", message=f"stopped {reason}")

    def finished_event(self) -> RunEvent:
        result = self.result
        message = "; ".join(p.summary() for p in result.paired) or f"{self.config.episodes} episode(s) finished"
        if result.failed:
            message += f"; {len(result.failed)} episode(s) failed: {', '.join(map(str, result.failed))}"
        data: dict = {"paired": [p.to_dict() for p in result.paired]}
        if result.failed:
            data["failed"] = list(result.failed)
        return RunEvent(run_id=self.run_id, event="finished", message=message, data=data)


def run_lanes_episode(config: RunConfig, lanes: Sequence[Lane], info: RunInfo, episode: int,
                      task: ImageTask, sink: Sink, inbox: queue.Queue,
                      stop: threading.Event) -> EpisodeSummary | None:  # fmt: skip
    """One episode of every lane, its records to ``sink``; None when ``stop`` ended it."""
    env_config = config.episode_env(episode)
    if info.executing_lane is None:
        training = list(lanes)
    else:
        training = [lane for lane in lanes if lane.name == info.executing_lane]
    envs = {lane.name: MorphogeneticEnv(env_config, task) for lane in training}
    for lane in lanes:
        lane.policy.reset()
    references = {lane.name: HeuristicPolicy(name="reference") for lane in lanes if lane.info.policy_kind != "heuristic"}
    control = _Control(info.run_id, envs, inbox, stop, sink, episode)
    summary = EpisodeSummary(episode, {}, {lane.name: Counter() for lane in lanes}, {}, {})
    try:
        for _ in range(env_config.max_epochs):
            for lane in training:
                env = envs[lane.name]
                result = env.train_epoch(batch_hook=control, stop_check=control.check_stop)
                control()  # commands that arrived during validation apply before the decision
                obs, mask = env.observe(), env.action_mask()
                decision = lane.policy.decide(obs, mask)
                ref = references.get(lane.name)
                ref_action = int(ref.decide(obs, mask).action) if ref is not None else None
                if ref_action is not None:
                    summary.decisions += 1
                    summary.agreements += int(ref_action == int(decision.action))
                shadow: tuple[DecisionRecord, ...] = ()
                if info.executing_lane is not None:
                    shadow = _shadow_decisions(lanes, lane, decision, obs, mask, env.epoch, summary, episode)
                outcome = env.apply(decision.action)
                summary.actions[lane.name][int(decision.action)] += 1
                if outcome.executed and decision.action is Action.CULL:
                    summary.culled[lane.name] = summary.culled.get(lane.name, 0) + 1
                record = _decision_record(lane.name, env.epoch, lane.policy, decision, mask,
                                          outcome.executed, outcome.reason, outcome.slot
                                          if outcome.slot is not None else decision.target_slot,
                                          ref_action, shadow, episode)  # fmt: skip
                sink(_epoch_record(info.run_id, episode, lane.name, env, result, record))
    except StopEpoch:
        return None
    for name, env in envs.items():
        summary.final_accuracy[name] = env.signals.val_accuracy
        summary.fossilized[name] = sum(s.stage.name == "FOSSILIZED" for s in env.model.seed_slots())
        summary.culled.setdefault(name, 0)
        summary.culled[name] += control.operator_culls.get(name, 0)
    return summary


def _shadow_decisions(lanes: Sequence[Lane], executing: Lane, executed: Decision, obs, mask,
                      epoch: int, summary: EpisodeSummary, episode: int) -> tuple[DecisionRecord, ...]:  # fmt: skip
    """Every other policy's choice on the executing lane's state, with its agreement counted."""
    records = []
    for lane in lanes:
        if lane is executing:
            continue
        decision = lane.policy.decide(obs, mask)
        summary.actions[lane.name][int(decision.action)] += 1
        summary.decisions += 1
        summary.agreements += int(decision.action == executed.action)
        records.append(_decision_record(lane.name, epoch, lane.policy, decision, mask, False,
                                        "shadow: not executed", decision.target_slot,
                                        reference=int(executed.action), episode=episode))  # fmt: skip
    return tuple(records)


# --------------------------------------------------------------------------- the plan's entry points


def _model_lane(model_path: str, device: str) -> Lane:
    from training.policies.checkpoint import IQLPolicy

    policy = IQLPolicy(model_path, name="iql", device=device)
    return Lane("iql", policy, policy.lane_info())


def head_to_head_comparison(model_path: str, n_episodes: int = 5, max_epochs: int = 25, device: str = "cpu",
                            preset: str = "synthetic", seed: int = 0, slots: int = 3,
                            sink: Sink | None = None, data_seed: int = 0) -> dict:  # fmt: skip
    """The plan's head-to-head: the heuristic and the IQL model each train their own identical
    copy of every episode. Wins need a margin of more than 0.5 points; the rest are ties."""
    env = EnvConfig(preset=preset, seed=seed, max_epochs=max_epochs, slots=slots, device=device, data_seed=data_seed)
    result = run(RunConfig(env=env, episodes=n_episodes), [Lane.heuristic(), _model_lane(model_path, device)],
                 sink or (lambda record: None))  # fmt: skip
    paired = result.paired[0]
    return {
        "heuristic_accuracies": result.accuracies("heuristic"),
        "iql_accuracies": result.accuracies("iql"),
        "iql_wins": paired.wins,
        "heuristic_wins": paired.losses,
        "ties": paired.ties,
        "heuristic_actions": result.action_counts("heuristic"),
        "iql_actions": result.action_counts("iql"),
        "agreement_rate": result.agreement_rate(),
        "paired": paired.to_dict(),
    }


def live_comparison(model_path: str, n_episodes: int = 5, max_epochs: int = 25, device: str = "cpu",
                    preset: str = "synthetic", seed: int = 0, slots: int = 3,
                    sink: Sink | None = None, data_seed: int = 0) -> dict:  # fmt: skip
    """The plan's live comparison: the heuristic controls training while the IQL model says what
    it would do on the same state; reports how often they agree."""
    env = EnvConfig(preset=preset, seed=seed, max_epochs=max_epochs, slots=slots, device=device, data_seed=data_seed)
    config = RunConfig(env=env, episodes=n_episodes, mode="shadow", executing_lane="heuristic")
    result = run(config, [Lane.heuristic(), _model_lane(model_path, device)], sink or (lambda record: None))
    return {
        "accuracies": result.accuracies("heuristic"),
        "agreement_rate": result.agreement_rate(),
        "agreements": sum(e.agreements for e in result.episodes),
        "decisions": sum(e.decisions for e in result.episodes),
        "heuristic_actions": result.action_counts("heuristic"),
        "iql_actions": result.action_counts("iql"),
    }
