"""``esper-iql compare --until-decided``: the one driver stops as soon as the anytime-valid
confidence sequence excludes 0, runs to the maximum when it never does, and ends on a stop
signal as any run does; the flags that contradict each other are refused in one sentence."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from esper_tui.cli.iql import main
from training.env.actions import Action
from training.env.environment import EnvConfig
from training.policies.base import Decision, allowed, target_for
from training.records import EpochRecord, RunEvent
from training.runs.config import RunConfig
from training.runs.driver import InProcessBackend, ProcessBackend, run_episodes
from training.runs.lanes import Lane

MODEL = Path(__file__).parent / "fixtures" / "tiny_iql.pt"


class Reckless:
    """Advances its seed whenever the mask allows, else grows a conv seed: on the tiny task at
    5 epochs it ends 2.5-5.6 points above the heuristic in every episode (measured)."""

    name, kind = "reckless", "heuristic"

    def reset(self) -> None:
        """No state across epochs."""

    def decide(self, observation, action_mask) -> Decision:
        for action in (Action.ADVANCE, Action.GERMINATE_CONV):
            if allowed(action, action_mask):
                return Decision(action, "advance or grow", target_for(action, observation))
        return Decision(Action.WAIT, "nothing to advance or grow")


def until_decided(episodes: int, epochs: int) -> RunConfig:
    env = EnvConfig(preset="tiny", max_epochs=epochs, seed=3)
    return RunConfig(env=env, episodes=episodes, run_id="u", until_decided=True)


def test_a_clear_difference_stops_the_run_when_the_sequence_excludes_zero():
    # Two workers: when episode 6 decides, the episode still running is stopped as a stop
    # signal stops it, and one that had already finished still counts.
    records: list = []
    with ProcessBackend(2) as backend:
        run = run_episodes(
            until_decided(10, 5),
            [Lane.heuristic(), Lane.playing(Reckless())],
            records.append,
            backend,
            threads=1,
        )
    result = run.result
    n = len(result.episodes)
    assert result.decided_at == 6 and n in (6, 7) and not result.stopped
    paired = result.paired[0]
    assert paired.decided and paired.cs_low is not None and paired.cs_low > 0.0
    assert paired.ci_low is not None and paired.ci_low > paired.cs_low  # the t interval is inside
    last = records[-1]
    assert isinstance(last, RunEvent) and last.event == "finished"
    assert last.message.startswith("decided after 6 episode(s)")
    assert last.data["decided_at"] == 6
    finished = [
        r.episode for r in records if isinstance(r, RunEvent) and r.event == "episode_finished"
    ]
    assert finished == list(range(1, n + 1))
    trained = {r.episode for r in records if isinstance(r, EpochRecord)}
    assert set(range(1, n + 1)) <= trained <= set(range(1, 9))  # never a ninth episode


def test_a_stop_signal_ends_an_until_decided_run_as_it_ends_any_run():
    stop, records = threading.Event(), []

    def progress(state):
        if state.done >= 1:
            stop.set()

    with InProcessBackend(stop) as backend:
        run = run_episodes(
            until_decided(10, 1),
            [Lane.heuristic(), Lane.heuristic("twin")],
            records.append,
            backend,
            progress=progress,
            threads=1,
            stop=stop,
        )
    assert run.result.stopped and len(run.result.episodes) == 1
    assert records[-1].event == "stopped"
    assert run.result.stop_reason(10) == "stopped after 1 episode(s), undecided"


def test_the_cli_runs_to_the_maximum_and_says_why_when_every_episode_ties(tmp_path, capsys):
    # Two epochs on the tiny task: the model's seeds never blend, so each episode ends level.
    report = tmp_path / "report.json"
    code = main(
        ["compare", "--model", str(MODEL), *"--preset tiny --epochs 1 --device cpu".split(),
         "--until-decided", "--max-episodes", "5", "--report", str(report)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "undecided: all 5 paired differences are 0" in out
    assert "sd 0: no spread to size a test on" in out
    assert "until decided: reached the maximum of 5 episodes undecided" in out
    data = json.loads(report.read_text())
    assert data["until_decided"]["episodes_run"] == 5 and not data["until_decided"]["decided"]
    assert data["effect"] == 0.5 and data["paired"][0]["sd"] == 0.0


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-episodes", "9"], "--max-episodes needs --until-decided"),
        (["--min-episodes", "9"], "--min-episodes needs --until-decided"),
        (["--until-decided"], "needs --max-episodes N"),
        (["--until-decided", "--max-episodes", "9", "--episodes", "4"], "not both"),
        (["--until-decided", "--max-episodes", "4"], "fewer than the 5 episodes"),
        (["--until-decided", "--max-episodes", "8", "--min-episodes", "9"], "fewer than the 9"),
        (["--until-decided", "--max-episodes", "8", "--mode", "shadow"], "head-to-head"),
        (["--effect", "0"], "must be a positive number"),
        (["--effect", "nan"], "nan is not a number"),
    ],
)
def test_until_decided_flag_mistakes_are_one_sentence(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["compare", "--model", str(MODEL), "--preset", "tiny", *flags])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
