"""The comparison: lanes of controllers on identical runs, one episode at a time.

``play_episode`` plays one episode of every lane: each lane gets an identical fresh env (same
seed, same data order, same initial weights), so lanes diverge only through decisions. The one
driver (``training.runs.driver``) runs episodes, here or in workers, and ``ScoreKeeper``
(``training.runs.scorekeeper``) keeps the paired result as they finish, in episode order.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from training.env.actions import Action, Command, CommandType
from training.env.data import ImageTask
from training.env.environment import MorphogeneticEnv, StopEpoch
from training.env.progress import ProgressSink, reporting_hooks
from training.policies.base import Decision, Policy
from training.policies.heuristic import HeuristicPolicy
from training.records import DecisionRecord, EpochRecord, Record, RunEvent, RunInfo
from training.runs.config import RunConfig
from training.runs.lanes import Lane
from training.runs.scorekeeper import EpisodeSummary
from training.runs.vitals import EpochVitals

Sink = Callable[[Record], None]


class _Control:
    """Operator commands and the stop flag, checked at every batch boundary."""

    def __init__(
        self,
        run_id: str,
        envs: dict[str, MorphogeneticEnv],
        inbox: queue.Queue,
        stop: threading.Event,
        sink: Sink,
        episode: int,
    ) -> None:
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
        ev: dict[str, Any] = dict(
            run_id=self.run_id, episode=self.episode, lane=command.lane, slot=command.slot
        )
        if command.type is CommandType.STOP:
            self.stop.set()
            return
        if command.type in (CommandType.PAUSE_TRAINING, CommandType.RESUME_TRAINING):
            pause = command.type is CommandType.PAUSE_TRAINING
            if pause != self.paused:
                self.paused = pause
                self.sink(
                    RunEvent(
                        event="paused" if pause else "resumed",
                        message="training paused by operator" if pause else "training resumed",
                        **ev,
                    )
                )
            return
        env = self.envs.get(command.lane or "")
        if env is None:
            self.sink(
                RunEvent(
                    event="command_refused",
                    message=f"{command.describe()}: lane "
                    f"{command.lane!r} does not train in this run",
                    **ev,
                )
            )
            return
        outcome = env.apply_command(command)
        if outcome.applied and command.type is CommandType.CULL:
            self.operator_culls[command.lane] += 1
        self.sink(
            RunEvent(
                event="command_applied" if outcome.applied else "command_refused",
                message=f"{command.describe()}: {outcome.reason}",
                epoch=env.epoch,
                data={"command_id": command.id, "type": command.type.value},
                **ev,
            )
        )


def _decision_record(
    lane: str,
    epoch: int,
    policy: Policy,
    decision: Decision,
    mask: Sequence[bool],
    executed: bool,
    outcome: str,
    target: int | None,
    reference: int | None = None,
    shadow: tuple = (),
    episode: int = 0,
    reference_reason: str | None = None,
) -> DecisionRecord:
    return DecisionRecord(
        lane=lane,
        epoch=epoch,
        policy=policy.kind,
        action=int(decision.action),
        target_slot=target,
        reason=decision.reason,
        action_mask=tuple(bool(m) for m in mask),
        executed=executed,
        outcome=outcome,
        q_values=decision.q_values,
        value=decision.value,
        advantage=decision.advantage,
        probabilities=decision.probabilities,
        features=decision.features,
        z_scores=decision.z_scores,
        range_excess=decision.range_excess,
        reference_action=reference,
        reference_reason=reference_reason,
        shadow=shadow,
        episode=episode,
    )


def _epoch_record(
    run_id: str,
    episode: int,
    lane: str,
    env: MorphogeneticEnv,
    result,
    decision: DecisionRecord,
    vitals: EpochVitals | None = None,
) -> EpochRecord:
    host, seeds = env.param_counts()
    return EpochRecord(
        run_id=run_id,
        episode=episode,
        lane=lane,
        epoch=result.epoch,
        max_epochs=env.config.max_epochs,
        train_loss=result.train_loss,
        val_loss=result.val_loss,
        train_accuracy=result.train_accuracy,
        val_accuracy=result.val_accuracy,
        host_params=host,
        seed_params=seeds,
        seeds=env.seed_records(lane),
        decision=decision,
        wall_seconds=result.wall_seconds,
        samples_per_second=result.samples_per_second,
        reward=result.reward,
        plateau_epochs=env.signals.plateau_epochs,
        vitals=None if vitals is None else vitals.latest(),
    )


def play_episode(
    config: RunConfig,
    lanes: Sequence[Lane],
    policies: Sequence[Policy],
    info: RunInfo,
    episode: int,
    task: ImageTask,
    sink: Sink,
    inbox: queue.Queue,
    stop: threading.Event,
    progress: ProgressSink | None = None,
) -> EpisodeSummary | None:
    """One episode of every lane (``policies[i]`` plays ``lanes[i]``), its records to ``sink``
    as they happen; None when ``stop`` ended it. ``inbox`` carries the operator's commands,
    applied at the next batch boundary; ``progress`` hears where each epoch is (per batch, so
    it must be cheap)."""
    env_config = config.episode_env(episode)
    playing = {lane.name: policy for lane, policy in zip(lanes, policies, strict=True)}
    if info.executing_lane is None:
        training = list(playing)
    else:
        training = [info.executing_lane]
    envs = {name: MorphogeneticEnv(env_config, task) for name in training}
    for policy in policies:
        policy.reset()
    references = {
        lane.name: HeuristicPolicy(name="reference")
        for lane in lanes
        if lane.info.policy_kind != "heuristic"
    }
    control = _Control(info.run_id, envs, inbox, stop, sink, episode)
    vitals = EpochVitals([env_config.device])  # this process's sampler: workers sample their own
    summary = EpisodeSummary(episode, {}, {name: Counter() for name in playing}, {}, {})
    try:
        for _ in range(env_config.max_epochs):
            for name in training:
                env, policy = envs[name], playing[name]
                if progress is None:
                    result = env.train_epoch(batch_hook=control, stop_check=control.check_stop)
                else:
                    result = env.train_epoch(
                        *reporting_hooks(progress, control, name, episode, env),
                        stop_check=control.check_stop,
                    )
                control()  # commands that arrived during validation apply before the decision
                if progress is not None:
                    batches = task.batches_per_epoch
                    progress("deciding", name, episode, env.epoch, batches, batches)
                obs, mask = env.observe(), env.action_mask()
                decision = policy.decide(obs, mask)
                ref = references.get(name)
                ref_decision = ref.decide(obs, mask) if ref is not None else None
                ref_action = int(ref_decision.action) if ref_decision is not None else None
                if ref_action is not None:
                    summary.decisions += 1
                    summary.agreements += int(ref_action == int(decision.action))
                shadow: tuple[DecisionRecord, ...] = ()
                if info.executing_lane is not None:
                    shadow = _shadow_decisions(
                        playing, name, decision, obs, mask, env.epoch, summary, episode
                    )
                outcome = env.apply(decision.action)
                summary.actions[name][int(decision.action)] += 1
                if outcome.executed and decision.action is Action.CULL:
                    summary.culled[name] = summary.culled.get(name, 0) + 1
                record = _decision_record(
                    name,
                    env.epoch,
                    policy,
                    decision,
                    mask,
                    outcome.executed,
                    outcome.reason,
                    outcome.slot if outcome.slot is not None else decision.target_slot,
                    ref_action,
                    shadow,
                    episode,
                    ref_decision.reason if ref_decision is not None else None,
                )
                sink(_epoch_record(info.run_id, episode, name, env, result, record, vitals))
                for message in vitals.unreported():  # a missing sensor, said once per process
                    sink(RunEvent(info.run_id, "vitals_unavailable", message, episode=episode))
    except StopEpoch:
        return None
    for name, env in envs.items():
        summary.final_accuracy[name] = env.signals.val_accuracy
        summary.fossilized[name] = sum(s.stage.name == "FOSSILIZED" for s in env.model.seed_slots())
        summary.culled.setdefault(name, 0)
        summary.culled[name] += control.operator_culls.get(name, 0)
    return summary


def _shadow_decisions(
    playing: dict[str, Policy],
    executing: str,
    executed: Decision,
    obs,
    mask,
    epoch: int,
    summary: EpisodeSummary,
    episode: int,
) -> tuple[DecisionRecord, ...]:
    """Every other policy's choice on the executing lane's state, with its agreement counted."""
    records = []
    for name, policy in playing.items():
        if name == executing:
            continue
        decision = policy.decide(obs, mask)
        summary.actions[name][int(decision.action)] += 1
        summary.decisions += 1
        summary.agreements += int(decision.action == executed.action)
        records.append(
            _decision_record(
                name,
                epoch,
                policy,
                decision,
                mask,
                False,
                "shadow: not executed",
                decision.target_slot,
                reference=int(executed.action),
                episode=episode,
                reference_reason=executed.reason,
            )
        )
    return tuple(records)
