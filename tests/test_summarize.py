"""A run's outcome per lane (``training.runs.outcome``) and ``esper-iql summarize``, on the
recorded fixture runs (a finished two-episode run and a crashed one)."""

import json
import statistics
from pathlib import Path

import msgspec
import pytest

from esper_tui.cli.iql import main
from esper_tui.replay import read_records
from training.records import EpochRecord, PairedResult, RunEvent, RunInfo
from training.runs.outcome import NoRunRecord, run_outcome

FIXTURES = Path(__file__).parent / "fixtures"
RUN = FIXTURES / "run.jsonl"
CRASHED = FIXTURES / "crashed.jsonl"


def outcome_of(path: Path):
    records, corrupt = read_records(path)
    return run_outcome(path, records, corrupt), records


def run_cli(args, capsys):
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_the_paired_result_is_the_records_own():
    outcome, records = outcome_of(RUN)
    finished = next(r for r in records if isinstance(r, RunEvent) and r.event == "finished")
    stated = PairedResult.from_dict(finished.data["paired"][0])
    iql = outcome.lanes[1]
    assert iql.paired is not None
    assert iql.paired.mean_difference == pytest.approx(stated.mean_difference)
    assert (iql.paired.ci_low, iql.paired.ci_high) == pytest.approx((stated.ci_low, stated.ci_high))
    assert (iql.paired.wins, iql.paired.ties, iql.paired.losses) == (
        stated.wins,
        stated.ties,
        stated.losses,
    )
    assert outcome.lanes[0].paired is None  # the heuristic is the reference


def test_final_accuracy_is_the_mean_and_sd_of_each_episodes_last_epoch():
    outcome, records = outcome_of(RUN)
    epochs = [r for r in records if isinstance(r, EpochRecord) and r.lane == "heuristic"]
    last = {r.episode: r.val_accuracy for r in epochs}  # each episode's final epoch wins
    heuristic = outcome.lanes[0]
    assert heuristic.episodes == 2
    assert heuristic.final_mean == pytest.approx(statistics.fmean(last.values()))
    assert heuristic.final_sd == pytest.approx(statistics.stdev(last.values()))


def test_the_curve_is_the_episode_mean_at_each_epoch():
    outcome, records = outcome_of(RUN)
    first = [
        r.val_accuracy
        for r in records
        if isinstance(r, EpochRecord) and r.lane == "tiny_iql" and r.epoch == 1
    ]
    curve = dict(outcome.lanes[1].curve)
    assert len(first) == 2
    assert curve[1] == pytest.approx(statistics.fmean(first))
    assert sorted(curve) == list(range(1, 11))


def test_seeds_parameters_and_agreement_per_lane():
    outcome, records = outcome_of(RUN)
    heuristic, iql = outcome.lanes
    assert (heuristic.fossilized, heuristic.culled) == (1, 0)
    assert iql.culled == 1  # the fixture's operator cull
    iql_decisions = [
        r.decision for r in records if isinstance(r, EpochRecord) and r.lane == "tiny_iql"
    ]
    assert iql.decisions_compared == len(iql_decisions)
    assert iql.agreement == sum(bool(d.agrees) for d in iql_decisions) / len(iql_decisions)
    final_params = {
        r.episode: r.seed_params
        for r in records
        if isinstance(r, EpochRecord) and r.lane == "heuristic"
    }
    assert heuristic.params_added == pytest.approx(statistics.fmean(final_params.values()))


def test_every_paired_result_carries_its_sd_detectable_effect_and_episodes_needed(capsys):
    outcome, records = outcome_of(RUN)
    finals = {}
    for r in records:
        if isinstance(r, RunEvent) and r.event == "episode_finished":
            finals[r.episode] = r.data["final_accuracy"]
    diffs = [f["tiny_iql"] - f["heuristic"] for f in finals.values()]
    paired = outcome.lanes[1].paired
    assert paired is not None and paired.sd == pytest.approx(statistics.stdev(diffs))
    assert paired.detectable_effect is not None and paired.episodes_needed is not None
    code, out, _ = run_cli(["summarize", str(RUN)], capsys)
    row = next(line for line in out.splitlines() if "| tiny_iql |" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[6:9] == [
        f"{paired.sd:.2f}",
        f"±{paired.detectable_effect:.2f}",
        f"{paired.episodes_needed} for ±{paired.effect:g}",
    ]


def test_shadow_mode_agreement_is_the_advice_against_the_executed_choice():
    """A shadow run: only the heuristic trains; the model's advice rides in its decisions."""
    records, _ = read_records(RUN)
    shadow = []
    advised = agreed = 0
    for record in records:
        if isinstance(record, RunInfo):
            record = msgspec.structs.replace(record, mode="shadow", executing_lane="heuristic")
        elif isinstance(record, EpochRecord):
            if record.lane != "heuristic":
                continue  # the model does not train in shadow mode
            executed = record.decision
            advice = msgspec.structs.replace(
                executed, lane="tiny_iql", action=(executed.action + advised % 2) % 7,
                reference_action=executed.action, executed=False,
            )  # fmt: skip
            advised += 1
            agreed += advice.action == executed.action
            record = msgspec.structs.replace(
                record, decision=msgspec.structs.replace(executed, shadow=(advice,))
            )
        shadow.append(record)
    outcome = run_outcome("shadow.jsonl", shadow)
    heuristic, iql = outcome.lanes
    assert iql.paired is None and heuristic.paired is None  # nothing paired in shadow mode
    assert iql.decisions_compared == advised
    assert iql.agreement == pytest.approx(agreed / advised)
    assert heuristic.agreement is None  # the executed lane is the reference itself
    assert iql.curve == ()  # it trains nothing, so it has no curve


def test_a_crashed_run_has_curves_but_no_finals():
    outcome, _ = outcome_of(CRASHED)
    assert outcome.ending == "crashed"
    assert all(lane.final_mean is None and lane.paired is None for lane in outcome.lanes)
    assert all(lane.curve for lane in outcome.lanes)


def test_a_file_without_a_run_line_has_no_outcome(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"hello": 1}\n')
    records, corrupt = read_records(path)
    with pytest.raises(NoRunRecord):
        run_outcome(path, records, corrupt)


def test_summarize_prints_a_row_per_run_and_lane(capsys):
    code, out, err = run_cli(["summarize", str(RUN), str(CRASHED)], capsys)
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.startswith("| run.jsonl")]
    assert len(rows) == 2
    assert "| tiny_iql | 2/2 | 37.19 ± 2.21 | -3.44 [-7.41, +0.53] | 0/0/2 |" in out
    assert sum(line.startswith("| crashed.jsonl") for line in out.splitlines()) == 2
    assert "crashed.jsonl: ended by crashed" in out


def test_summarize_json_holds_the_same_numbers(tmp_path, capsys):
    target = tmp_path / "table.json"
    code, out, err = run_cli(["summarize", str(RUN), "--json", str(target)], capsys)
    assert code == 0, err
    document = json.loads(target.read_text())
    iql = document["runs"][0]["lanes"][1]
    assert iql["final_accuracy_mean"] == pytest.approx(37.1875, abs=0.005)
    assert iql["paired"]["mean_difference"] == pytest.approx(-3.4375)
    assert len(iql["curve"]) == 10
    code, _, err = run_cli(["summarize", str(RUN), "--json", str(target)], capsys)
    assert code == 2 and "already exists" in err  # never over an earlier table


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"garbage\n", "is not an Esper record"),
        (b"\x00\x01binary", "binary"),
    ],
)
def test_summarize_refuses_a_file_that_is_no_record(tmp_path, capsys, content, needle):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    code, out, err = run_cli(["summarize", str(RUN), str(path)], capsys)
    assert code == 2
    assert needle in err and err.count("\n") == 1
    assert out == ""  # nothing printed before the refusal


def test_summarize_refuses_a_missing_file(tmp_path, capsys):
    code, _, err = run_cli(["summarize", str(tmp_path / "none.jsonl")], capsys)
    assert code == 2 and "does not exist" in err


def test_summarize_a_folder_reads_its_records_and_passes_over_what_is_not_one(tmp_path, capsys):
    """A folder gives what the runs screen lists: its records and those one level down; a file
    there that is no record is passed over with a line saying so, never ends the table."""
    (tmp_path / "ablation").mkdir()
    (tmp_path / "run.jsonl").write_bytes(RUN.read_bytes())
    (tmp_path / "ablation" / "crashed.jsonl").write_bytes(CRASHED.read_bytes())
    (tmp_path / "garbage.jsonl").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "notes.txt").write_text("not listed")
    code, out, err = run_cli(["summarize", str(tmp_path)], capsys)
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.startswith("| ") and "jsonl" in line]
    assert {row.split(" | ")[0][2:] for row in rows} == {"run.jsonl", "crashed.jsonl"}
    assert err.count("\n") == 1 and "garbage.jsonl" in err and "passed over" in err


def test_summarize_a_folder_without_records_is_one_sentence(tmp_path, capsys):
    code, out, err = run_cli(["summarize", str(tmp_path)], capsys)
    assert code == 2 and f"no record in {tmp_path}" in err and err.count("\n") == 1 and not out
