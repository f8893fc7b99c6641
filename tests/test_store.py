"""The shared store: bounds, immutability, versions, saturation statistics, the record file."""

import dataclasses
import threading

import msgspec
import pytest

from esper_tui import lane_history
from esper_tui import store as store_module
from esper_tui.record_open import ReplayError, check_readable
from esper_tui.replay import RecordFeeder, read_records, replay_all
from esper_tui.saturation import SaturationTracker
from esper_tui.store import TelemetryStore
from tests.waiting import wait_for
from training.records import (
    DecisionRecord,
    EpochRecord,
    LaneInfo,
    RunEvent,
    RunInfo,
    SeedRecord,
    record_from_line,
    record_to_line,
)
from training.seeds.telemetry import SeedTelemetry

FIXTURE = "tests/fixtures/run.jsonl"


@pytest.fixture(scope="module")
def fixture_records():
    records, corrupt = read_records(FIXTURE)
    assert corrupt == 0
    return records


def seed(lane="L", slot=0, gradient_norm=1.0, epoch=1, stage=3, measured=True, accuracy_delta=0.0):
    telemetry = SeedTelemetry(
        seed_id=f"s{slot}",
        stage=stage,
        gradient_norm=gradient_norm,
        epoch=epoch,
        accuracy_delta=accuracy_delta,
    )
    return SeedRecord(
        lane,
        f"slot{slot}",
        slot,
        f"block{slot + 1}",
        slot,
        f"s{slot}",
        "conv_enhance",
        stage,
        "TRAINING",
        1,
        0.0,
        False,
        100,
        telemetry,
        tuple(telemetry.to_features()),
        measured,
        3,
        False,
        False,
        None,
        0.0,
        1,
    )


def epoch(n, lane="L", seeds=(), episode=1):
    return EpochRecord(
        "r", episode, lane, n, 25, 1.0, 1.0, 50.0, 50.0, 1000, 100, tuple(seeds), None, 1.0, 100.0
    )


def test_histories_are_bounded(monkeypatch):
    monkeypatch.setattr(lane_history, "EPOCH_HISTORY", 5)
    monkeypatch.setattr(lane_history, "SEED_HISTORY", 3)
    store = TelemetryStore()
    for n in range(1, 21):
        store.add(epoch(n, seeds=[seed(epoch=n)]))
    lane = store.view().lanes[0]
    assert [r.epoch for r in lane.epochs] == [16, 17, 18, 19, 20]
    assert [r.telemetry.epoch for r in lane.seed_history[0]] == [18, 19, 20]


def test_seed_outcomes_count_the_whole_episode_not_just_the_history(monkeypatch):
    monkeypatch.setattr(lane_history, "SEED_HISTORY", 3)
    store = TelemetryStore()
    stages = {1: 3, 2: 8, 3: 9, 4: 10, 5: 0, 6: 3, 7: 7}  # s-a culled at 2, s-b fossilised at 7
    for n in range(1, 41):
        stage = stages.get(n, 7 if n > 7 else 0)
        seed_id = None if stage == 0 else ("s-a" if n <= 4 else "s-b")
        record = msgspec.structs.replace(seed(epoch=n, stage=stage), seed_id=seed_id)
        store.add(epoch(n, seeds=[record]))
    lane = store.view().lanes[0]
    assert len(lane.seed_history[0]) == 3  # the history forgot the cull long ago
    assert (lane.fossilized, lane.culled) == (1, 1)
    store.add(epoch(1, episode=2))
    lane = store.view().lanes[0]
    assert (lane.fossilized, lane.culled) == (0, 0)  # a new episode starts from none


def test_decisions_and_events_are_capped(fixture_records, monkeypatch):
    monkeypatch.setattr(store_module, "DECISIONS", 7)
    monkeypatch.setattr(store_module, "EVENTS", 3)
    store = TelemetryStore()
    for record in fixture_records:
        store.add(record)
    view = store.view()
    assert len(view.decisions) == 7 and len(view.events) == 3


def test_view_is_immutable_and_unaffected_by_later_records():
    store = TelemetryStore()
    store.add(epoch(1, seeds=[seed()]))
    view = store.view()
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.status = "X"
    with pytest.raises(TypeError):
        view.lanes[0].seed_history[0] = ()
    store.add(epoch(2, seeds=[seed(epoch=2)]))
    assert len(view.lanes[0].epochs) == 1  # the old view did not change under us
    assert len(store.view().lanes[0].epochs) == 2


def test_version_changes_only_on_new_data():
    store = TelemetryStore()
    first = store.view()
    assert store.view() is first  # cached: nothing new
    store.add(epoch(1))
    second = store.view()
    assert second.version == first.version + 1
    assert store.view() is second


def test_new_episode_restarts_the_curve_and_keeps_finals(fixture_records):
    store = TelemetryStore()
    for record in fixture_records:
        store.add(record)
    view = store.view()
    heuristic = view.lane("heuristic")
    assert {r.episode for r in heuristic.epochs} == {2}
    assert len(heuristic.finals) == 2
    assert view.status == "FINISHED" and view.paired and view.paired[0].episodes == 2


def test_finished_episodes_keep_their_curves_for_the_charts(fixture_records):
    store = TelemetryStore()
    for record in fixture_records:
        store.add(record)
    (past,) = store.view().lane("tiny_iql").past
    first = [
        r
        for r in fixture_records
        if isinstance(r, EpochRecord) and r.lane == "tiny_iql" and r.episode == 1
    ]
    assert past.episode == 1 and past.val_accuracy == tuple(r.val_accuracy for r in first)
    assert past.val_loss == tuple(r.val_loss for r in first) and past.epochs == tuple(range(1, 11))


def test_focus_history_follows_the_agents_focus_seed_and_marks_unmeasured_epochs():
    store = TelemetryStore()
    store.add(epoch(1))  # no seed: the agent saw a dormant slot
    store.add(epoch(2, seeds=[seed(gradient_norm=2.5, epoch=2)]))
    store.add(epoch(3, seeds=[seed(epoch=3, measured=False)]))
    focus = store.view().lanes[0].focus
    assert [(p.epoch, p.seed_id, p.gradient_norm) for p in focus] == [
        (1, None, None),
        (2, "s0", 2.5),
        (3, "s0", None),
    ]


def decided(lane, n, action, reference, episode=1, shadow=()):
    return DecisionRecord(
        lane,
        n,
        "iql",
        action,
        None,
        "",
        (True,) * 7,
        True,
        "waited",
        reference_action=reference,
        episode=episode,
        shadow=shadow,
    )


def test_agreement_is_counted_overall_and_per_episode():
    store = TelemetryStore()
    for n, (action, reference, episode) in enumerate([(0, 0, 1), (1, 0, 1), (0, 0, 2)], start=1):
        store.add(
            msgspec.structs.replace(
                epoch(n, episode=episode), decision=decided("L", n, action, reference, episode)
            )
        )
    agreement = store.view().lanes[0].agreement
    assert (agreement.agreed, agreement.decided) == (2, 3)
    assert (agreement.episode_agreed, agreement.episode_decided) == (1, 1)
    assert agreement.rate == pytest.approx(2 / 3) and agreement.episode_rate == 1.0


def test_shadow_lanes_advise_and_their_choices_are_kept():
    store = TelemetryStore()
    store.add(
        RunInfo(
            "r",
            "shadow",
            (LaneInfo("H", "heuristic"), LaneInfo("Q", "iql")),
            "tiny",
            "cpu",
            0,
            3,
            1,
            1,
            executing_lane="H",
        )
    )
    advice = decided("Q", 1, 1, 0)
    store.add(
        msgspec.structs.replace(
            epoch(1, lane="H"), decision=decided("H", 1, 0, None, shadow=(advice,))
        )
    )
    view = store.view()
    advisor = view.lane("Q")
    assert advisor.advising and not view.lane("H").advising
    assert advisor.choices == (advice,) and (
        advisor.agreement.agreed,
        advisor.agreement.decided,
    ) == (0, 1)
    assert view.agreement.rate == 0.0


def test_command_applied_shows_as_pending_until_the_next_epoch():
    store = TelemetryStore()
    store.add(epoch(1, seeds=[seed()]))
    store.add(
        RunEvent(
            "r",
            "command_applied",
            "pause_seed L slot 0: paused s0",
            lane="L",
            slot=0,
            data={"type": "pause_seed"},
        )
    )
    assert store.view().lanes[0].pending == {0: "paused"}
    store.add(epoch(2, seeds=[seed(epoch=2)]))
    assert store.view().lanes[0].pending == {}


class TestSaturation:
    def test_share_pegged_counts_the_window_incrementally(self):
        tracker = SaturationTracker("L", window=4)
        norms = [20.0, 20.0, 3.0, 50.0, 1.0, 12.0]  # pegged at the 10.0 bound: 1,1,0,1,0,1
        for n, g in enumerate(norms, start=1):
            tracker.add(epoch(n, seeds=[seed(gradient_norm=g, epoch=n)]))
        row = next(r for r in tracker.rows() if r.feature == "grad_norm")
        assert row.window == 4
        assert row.pegged_share == pytest.approx(2 / 4)  # last four: 3, 50, 1, 12
        assert row.raw == 12.0 and row.normalised == 1.0 and row.bound == "≤10"

    def test_a_constantly_pegged_feature_warns(self):
        tracker = SaturationTracker("L", window=20)
        for n in range(1, 11):
            tracker.add(epoch(n, seeds=[seed(gradient_norm=40.0 + n, epoch=n)]))
        row = next(r for r in tracker.rows() if r.feature == "grad_norm")
        assert row.pegged_share == 1.0
        assert "blinds the agent" in row.warning and "45.5" in row.warning  # raw median

    def test_unclipped_features_never_count_as_pegged(self):
        tracker = SaturationTracker("L")
        for n in range(1, 8):
            tracker.add(epoch(n, seeds=[seed(epoch=n)]))
        rows = {r.feature: r for r in tracker.rows()}
        assert rows["alpha"].pegged_share == 0.0 and rows["alpha"].bound == "—"

    def test_negative_bound_of_accuracy_delta_counts(self):
        tracker = SaturationTracker("L")
        for n, delta in enumerate([-12.0, -3.0, 15.0, 2.0], start=1):
            tracker.add(epoch(n, seeds=[seed(epoch=n, accuracy_delta=delta)]))
        row = next(r for r in tracker.rows() if r.feature == "accuracy_delta")
        assert row.pegged_share == pytest.approx(0.5)


def test_every_record_is_written_and_flushed(tmp_path, fixture_records):
    path = tmp_path / "out.jsonl"
    store = TelemetryStore(path)
    for record in fixture_records[:5]:
        store.add(record)
    store.flush()
    lines = path.read_text().splitlines()
    assert [record_from_line(line) for line in lines] == fixture_records[:5]
    episode_end = next(
        r for r in fixture_records if isinstance(r, RunEvent) and r.event == "episode_finished"
    )
    store.add(episode_end)  # flushed without being asked
    assert path.read_text().splitlines()[-1] == record_to_line(episode_end)
    store.close()


def test_replay_feeds_the_same_store_and_counts_corrupt_lines(tmp_path):
    path = tmp_path / "mixed.jsonl"
    lines = open(FIXTURE).read().splitlines()
    path.write_text("\n".join(lines[:5] + ["{broken", "[]"] + lines[5:]) + "\n")
    store = TelemetryStore(source="replay")
    replay_all(path, store)
    view = store.view()
    assert view.corrupt_lines == 2 and view.source == "replay"
    assert view.status == "FINISHED"


def test_follow_tails_a_file_being_written(tmp_path):
    path = tmp_path / "live.jsonl"
    lines = open(FIXTURE).read().splitlines()
    path.write_text("\n".join(lines[:3]) + "\n")
    store = TelemetryStore(source="follow")
    feeder = RecordFeeder(path, store, follow=True, poll=0.02)
    feeder.start()
    assert wait_for(lambda: store.view().version == 3)
    with open(path, "a") as f:
        f.write(lines[3][:20])  # half a line: must wait for the rest
        f.flush()
        assert not wait_for(lambda: store.view().version > 3, timeout=0.2)
        f.write(lines[3][20:] + "\n")
    assert wait_for(lambda: store.view().version == 4)
    assert feeder.stop()


@pytest.mark.parametrize(
    ("content", "message"), [(None, "does not exist"), (b"\x00\x01binary", "binary")]
)
def test_unreadable_replay_files_fail_early(tmp_path, content, message):
    path = tmp_path / "x.jsonl"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ReplayError, match=message):
        check_readable(path)


def test_adding_from_another_thread_while_viewing():
    store = TelemetryStore()
    done = threading.Event()

    def produce():
        for n in range(1, 301):
            store.add(epoch(n, seeds=[seed(epoch=n)]))
        done.set()

    thread = threading.Thread(target=produce)
    thread.start()
    while not done.is_set():
        view = store.view()
        lane = view.lanes[0] if view.lanes else None
        if lane is not None:
            assert [r.epoch for r in lane.epochs] == sorted(r.epoch for r in lane.epochs)
    thread.join()
    assert store.view().lanes[0].epochs[-1].epoch == 300
