"""The comparison loop: fairness between lanes, modes, commands, stopping, records, statistics."""

import math
import queue
import threading

import pytest

from esper_tui.record_writer import RecordFile
from esper_tui.replay import read_records
from training.env.actions import Action, Command, CommandType
from training.env.data import DataConfig, load_task
from training.env.environment import EnvConfig
from training.policies.base import Decision
from training.policies.heuristic import HeuristicPolicy, HeuristicPolicyConfig
from training.records import EpochRecord, LaneInfo, RunEvent, RunInfo
from training.runs.config import RunConfig
from training.runs.driver import run_in_process
from training.runs.lanes import Lane
from training.runs.plan import head_to_head_comparison, live_comparison
from training.runs.stats import paired_result, sign_test_p

EPOCHS = 8
EAGER = HeuristicPolicyConfig(
    min_epochs_before_germinate=1,
    plateau_epochs_to_germinate=0,
    epochs_to_fossilize=1,
    min_training_epochs=1,
)


@pytest.fixture(scope="module")
def task():
    return load_task(DataConfig(preset="tiny", seed=0))


def config(episodes=1, mode="head-to-head", epochs=EPOCHS) -> RunConfig:
    return RunConfig(env=EnvConfig(preset="tiny", max_epochs=epochs), episodes=episodes, mode=mode)


def eager(name: str) -> Lane:
    return Lane.playing(HeuristicPolicy(EAGER, name=name), LaneInfo(name, "heuristic"))


class Scripted:
    """Acts from a fixed list (WAIT once it runs out); used to diverge from the heuristic."""

    kind = "scripted"

    def __init__(self, name: str, actions: list[Action]) -> None:
        self.name, self.actions, self.i = name, actions, 0

    def reset(self) -> None:
        self.i = 0

    def decide(self, observation, action_mask) -> Decision:
        action = self.actions[self.i] if self.i < len(self.actions) else Action.WAIT
        self.i += 1
        return Decision(action, "scripted")


def comparable(record: EpochRecord) -> tuple:
    """An epoch record without its lane name, timings and timestamps."""
    seeds = tuple(
        (s.stage, s.alpha, s.telemetry.gradient_norm, s.telemetry.accuracy, s.features[:9])
        for s in record.seeds
    )
    d = record.decision
    return (
        record.epoch,
        record.train_loss,
        record.val_loss,
        record.val_accuracy,
        seeds,
        d.action,
        d.executed,
        d.outcome,
    )


def epochs_of(records, lane):
    return [r for r in records if isinstance(r, EpochRecord) and r.lane == lane]


def test_two_copies_of_one_policy_produce_identical_records(task):
    records = []
    run_in_process(config(), [eager("a"), eager("b")], records.append, image_task=task)
    a, b = epochs_of(records, "a"), epochs_of(records, "b")
    assert len(a) == len(b) == EPOCHS
    assert any(s.stage_name != "DORMANT" for r in a for s in r.seeds)  # the run did something
    assert [comparable(r) for r in a] == [comparable(r) for r in b]


def test_different_policies_are_identical_until_their_first_different_action(task):
    records = []
    script = [Action.WAIT, Action.WAIT, Action.GERMINATE_CONV]
    lanes = [eager("h"), Lane.playing(Scripted("s", script), LaneInfo("s", "scripted"))]
    run_in_process(config(), lanes, records.append, image_task=task)
    h, s = epochs_of(records, "h"), epochs_of(records, "s")
    first = next(
        i
        for i, (x, y) in enumerate(zip(h, s, strict=True))
        if x.decision.action != y.decision.action
    )
    for x, y in zip(h[: first + 1], s[: first + 1], strict=True):
        assert (x.train_loss, x.val_loss, x.val_accuracy) == (
            y.train_loss,
            y.val_loss,
            y.val_accuracy,
        )
    assert any(
        x.val_loss != y.val_loss for x, y in zip(h[first + 1 :], s[first + 1 :], strict=True)
    )


def test_shadow_mode_trains_one_lane_and_records_the_others_choices(task):
    records = []
    lanes = [
        eager("h"),
        Lane.playing(Scripted("s", [Action.WAIT] * EPOCHS), LaneInfo("s", "scripted")),
    ]
    result = run_in_process(config(mode="shadow"), lanes, records.append, image_task=task)
    assert {r.lane for r in records if isinstance(r, EpochRecord)} == {"h"}
    info = next(r for r in records if isinstance(r, RunInfo))
    assert info.executing_lane == "h"
    shadows = [r.decision.shadow[0] for r in epochs_of(records, "h")]
    assert all(d.lane == "s" and not d.executed for d in shadows)
    agree = sum(
        d.action == r.decision.action for d, r in zip(shadows, epochs_of(records, "h"), strict=True)
    )
    assert result.agreement_rate() == pytest.approx(agree / EPOCHS)


def test_stop_event_ends_the_run_within_a_batch(task):
    stop = threading.Event()
    records = []

    def sink(record):
        records.append(record)
        if isinstance(record, EpochRecord) and record.epoch == 2:
            stop.set()

    result = run_in_process(config(epochs=20), [eager("a")], sink, stop=stop, image_task=task)
    assert result.stopped
    assert max(r.epoch for r in epochs_of(records, "a")) == 2
    assert isinstance(records[-1], RunEvent) and records[-1].event == "stopped"


def test_commands_apply_and_refusals_carry_reasons(task):
    inbox: queue.Queue = queue.Queue()
    records = []

    def sink(record):
        records.append(record)
        if isinstance(record, EpochRecord) and record.epoch == 2:
            inbox.put(Command(CommandType.PAUSE_SEED, lane="a", slot=0))
            inbox.put(Command(CommandType.CULL, lane="nope", slot=0))
            inbox.put(Command(CommandType.PAUSE_SEED, lane="a", slot=2))

    run_in_process(config(epochs=4), [eager("a")], sink, inbox=inbox, image_task=task)
    events = [r for r in records if isinstance(r, RunEvent) and r.event.startswith("command")]
    assert [e.event for e in events] == ["command_applied", "command_refused", "command_refused"]
    assert "does not train" in events[1].message and "DORMANT" in events[2].message
    third = epochs_of(records, "a")[2]
    assert third.seeds[0].paused and not third.seeds[0].gradients_measured


def test_pause_training_blocks_until_resumed(task):
    inbox: queue.Queue = queue.Queue()
    records = []
    resumed = threading.Event()

    def sink(record):
        records.append(record)
        if isinstance(record, EpochRecord) and record.epoch == 1:
            inbox.put(Command(CommandType.PAUSE_TRAINING))
            threading.Timer(
                0.3, lambda: (inbox.put(Command(CommandType.RESUME_TRAINING)), resumed.set())
            ).start()

    run_in_process(config(epochs=2), [eager("a")], sink, inbox=inbox, image_task=task)
    kinds = [r.event for r in records if isinstance(r, RunEvent)]
    assert kinds[:3] == ["started", "paused", "resumed"]
    assert resumed.is_set() and len(epochs_of(records, "a")) == 2


def test_records_survive_the_jsonl_round_trip(task, tmp_path):
    path = tmp_path / "run.jsonl"
    records = []
    with RecordFile(path) as writer:

        def sink(record):
            records.append(record)
            writer.write(record)

        run_in_process(config(mode="shadow"), [eager("h"), eager("s")], sink, image_task=task)
    back, corrupt = read_records(path)
    assert corrupt == 0
    assert back == records


def test_corrupt_lines_are_skipped_and_counted(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"kind":"event","v":1,"run_id":"r","event":"started"}\nnot json\n{"kind":"zzz","v":1}\n\n'
    )
    records, corrupt = read_records(path)
    assert len(records) == 1 and corrupt == 2


def test_paired_statistics():
    result = paired_result("iql", "heuristic", [71.0, 72.0, 75.0, 70.2], [70.0, 70.0, 74.0, 70.0])
    assert result.mean_difference == pytest.approx(1.05)
    assert (result.wins, result.ties, result.losses) == (3, 1, 0)
    # Differences 1.0, 2.0, 1.0, 0.2: sample sd sqrt(1.63 / 3); t(0.975, df=3) = 3.1824463.
    half = 3.1824463 * math.sqrt(1.63 / 3) / math.sqrt(4)
    assert (result.ci_low, result.ci_high) == pytest.approx((1.05 - half, 1.05 + half))
    assert result.sign_test_p == pytest.approx(0.25)
    single = paired_result("iql", "heuristic", [71.0], [70.0])
    assert single.ci_low is None and "CI needs 2+" in single.summary()


def test_sign_test_is_two_sided_binomial():
    assert sign_test_p(0, 0) == 1.0
    assert sign_test_p(10, 0) == pytest.approx(2 / 1024)
    assert sign_test_p(3, 3) == 1.0


def test_head_to_head_episodes_are_paired_by_seed(task):
    records = []
    result = run_in_process(
        config(episodes=2, epochs=3), [eager("a"), eager("b")], records.append, image_task=task
    )
    assert len(result.episodes) == 2 and result.paired[0].episodes == 2
    finished = [r for r in records if isinstance(r, RunEvent) and r.event == "episode_finished"]
    assert [e.episode for e in finished] == [1, 2] and finished[-1].data["paired"]


MODEL = "tests/fixtures/tiny_iql.pt"


def test_the_plans_head_to_head_returns_its_fields():
    result = head_to_head_comparison(MODEL, n_episodes=2, max_epochs=2, preset="tiny")
    assert len(result["heuristic_accuracies"]) == len(result["iql_accuracies"]) == 2
    assert result["iql_wins"] + result["heuristic_wins"] + result["ties"] == 2
    assert (
        sum(result["iql_actions"].values()) == 4 and sum(result["heuristic_actions"].values()) == 4
    )
    assert 0.0 <= result["agreement_rate"] <= 1.0


def test_the_plans_live_comparison_reports_agreement():
    result = live_comparison(MODEL, n_episodes=1, max_epochs=3, preset="tiny")
    assert result["decisions"] == 3 and len(result["accuracies"]) == 1
    assert result["agreement_rate"] == result["agreements"] / 3


def test_progress_tells_each_phase_of_each_lanes_epoch_in_order():
    calls: list[tuple] = []
    run_in_process(
        config(epochs=1),
        [Lane.heuristic(), eager("other")],
        lambda r: None,
        progress=lambda *a: calls.append(a),
    )
    batches = calls[1][5]
    assert calls[0] == ("loading", "", 1, 0, 0, 0) and batches > 1
    for lane in ("heuristic", "other"):
        mine = [c for c in calls if c[1] == lane]
        phases = [c[0] for c in mine]
        assert phases == ["training"] * (batches + 1) + ["validating", "deciding"]
        assert [c[4] for c in mine[:-2]] == [0, *range(batches)] and all(
            c[2:4] == (1, 1) for c in mine
        )


def test_a_decision_records_the_heuristics_reason_on_the_same_state(task):
    records: list = []
    scripted_lane = Lane.playing(
        Scripted("scripted", [Action.GERMINATE_CONV]), LaneInfo("scripted", "scripted")
    )
    run_in_process(
        config(epochs=3), [Lane.heuristic(), scripted_lane], records.append, image_task=task
    )
    decisions = [r.decision for r in records if isinstance(r, EpochRecord)]
    scripted = [d for d in decisions if d.lane == "scripted"]
    heuristic = {d.epoch: d for d in decisions if d.lane == "heuristic"}
    assert all(d.reference_reason for d in scripted)
    # identical runs up to the first decision
    assert scripted[0].reference_reason == heuristic[1].reason
    assert all(d.reference_reason is None for d in heuristic.values())
