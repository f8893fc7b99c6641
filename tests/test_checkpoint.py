"""IQL checkpoints that load and act: our format round-trips, the plan's format loads and acts,
the plan's state_dim inference, and esper-lite's own checkpoints keep their metrics. Files that
cannot be used are refused in test_checkpoint_refused.py."""

import math
import warnings
from dataclasses import replace

import pytest
import torch

from tests.checkpoint_support import plan_checkpoint, train_and_save
from training.env.actions import ACTION_DIM, Action
from training.env.features import FeatureNormalizer
from training.env.signals import TrainingSnapshot
from training.policies.base import Policy
from training.policies.checkpoint import (
    LoadedModel,
    load_checkpoint,
    load_iql_model,
)
from training.policies.checkpoint_checks import ModelLoadError
from training.policies.iql import IQL, IQLConfig
from training.policies.iql_policy import IQLPolicy
from training.seeds.telemetry import SeedTelemetry

ALL_VALID = (True,) * ACTION_DIM


def snapshot(i: int = 0, telemetry: bool = True) -> TrainingSnapshot:
    """A plausible epoch ``i`` of a 25-epoch run; with a live seed when ``telemetry``."""
    acc = 40.0 + 2.0 * i
    seed = (
        SeedTelemetry(seed_id="s1", gradient_norm=1.0 + i, accuracy=acc, stage=3, epoch=i)
        if telemetry
        else None
    )
    return TrainingSnapshot(
        i,
        100 * i,
        1.5 - 0.05 * i,
        1.6 - 0.04 * i,
        -0.04,
        acc + 3.0,
        acc,
        2.0,
        i % 4,
        acc,
        1.6 - 0.04 * i,
        (1.8, 1.7, 1.7, 1.65, 1.6),
        (acc - 8, acc - 6, acc - 4, acc - 2, acc),
        telemetry,
        3 if telemetry else 1,
        i % 3,
        0.0,
        0.5 * i,
        2,
        num_slots=3,
        focus_slot=0 if telemetry else None,
        seed_telemetry=seed,
    )


def plan_q(ckpt: dict, x: torch.Tensor) -> torch.Tensor:
    """The plan's Q by hand: Linear→ReLU→Linear→ReLU→Linear."""
    w = ckpt["q_network"]
    h = torch.relu(x @ w["net.0.weight"].T + w["net.0.bias"])
    h = torch.relu(h @ w["net.2.weight"].T + w["net.2.bias"])
    return h @ w["net.4.weight"].T + w["net.4.bias"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny IQL trained on 37-dim ("seed") data and saved in our format."""
    return train_and_save(tmp_path_factory.mktemp("ckpt"))


def rigged(policy_favourite: Action, q_favourite: Action) -> IQLPolicy:
    """An in-memory model whose policy and Q prefer different actions whatever the input."""
    torch.manual_seed(0)
    iql = IQL(37, config=IQLConfig(hidden=8))
    with torch.no_grad():
        for network, favourite in (
            (iql.policy_network, policy_favourite),
            (iql.q_network, q_favourite),
            (iql.q2_network, q_favourite),
        ):
            network.net[4].weight.zero_()
            network.net[4].bias.zero_()
            network.net[4].bias[favourite] = 5.0
    return IQLPolicy(LoadedModel.from_trained(iql, FeatureNormalizer.identity(37), "seed"))


# --- our format ---------------------------------------------------------------------------


def test_save_then_load_gives_identical_decisions(trained):
    result, path = trained
    before = IQLPolicy(LoadedModel.from_trained(result.iql, result.normalizer, "seed"))
    after = IQLPolicy(path)
    masks = [ALL_VALID, (True, False, True, False, True, True, False), (True,) + (False,) * 6]
    for i in range(6):
        mask = masks[i % len(masks)]
        assert after.decide(snapshot(i), mask) == before.decide(snapshot(i), mask)


def test_saved_file_keeps_every_key_of_the_plans_format(trained):
    _, path = trained
    ckpt = torch.load(path, weights_only=True)
    for key in ("state_dim", "action_dim", "gamma", "tau", "beta", "q_network", "v_network"):
        assert key in ckpt
    assert (ckpt["state_dim"], ckpt["action_dim"], ckpt["format"], ckpt["format_version"]) == (
        37,
        7,
        "esper-iql",
        1,
    )
    assert sorted(ckpt["q_network"]) == [
        "net.0.bias",
        "net.0.weight",
        "net.2.bias",
        "net.2.weight",
        "net.4.bias",
        "net.4.weight",
    ]


def test_saved_normaliser_and_metadata_come_back(trained):
    result, path = trained
    model = load_checkpoint(path)
    assert model.normalizer == result.normalizer
    assert model.metadata == {"episodes": 4, "note": "test"}


def test_policy_prefers_the_advantage_weighted_policy_over_greedy_q():
    policy = rigged(policy_favourite=Action.GERMINATE_NORM, q_favourite=Action.ADVANCE)
    assert policy.decide(snapshot(2), ALL_VALID).action == Action.GERMINATE_NORM


def test_policy_never_takes_a_masked_action_even_its_favourite():
    policy = rigged(policy_favourite=Action.GERMINATE_NORM, q_favourite=Action.ADVANCE)
    mask = (True, True, True, False, True, True, True)
    assert policy.decide(snapshot(2), mask).action != Action.GERMINATE_NORM


def test_decision_reports_every_q_value_and_the_chosen_advantage(trained):
    decision = IQLPolicy(trained[1]).decide(
        snapshot(4), (True, False, False, False, False, True, True)
    )
    assert len(decision.q_values) == ACTION_DIM and all(math.isfinite(q) for q in decision.q_values)
    assert decision.advantage == pytest.approx(decision.q_values[decision.action] - decision.value)


def test_decision_probabilities_are_zero_on_masked_actions(trained):
    mask = (True, False, False, False, False, True, True)
    decision = IQLPolicy(trained[1]).decide(snapshot(4), mask)
    assert [p for p, ok in zip(decision.probabilities, mask, strict=True) if not ok] == [0.0] * 4
    assert sum(decision.probabilities) == pytest.approx(1.0)


def test_decision_carries_raw_features_and_their_z_scores(trained):
    policy = IQLPolicy(trained[1])
    decision = policy.decide(snapshot(4), ALL_VALID)
    assert len(decision.features) == len(decision.z_scores) == len(policy.feature_names) == 37
    assert list(decision.z_scores) == policy.normalizer.z_scores(decision.features)
    assert decision.range_excess is None  # ours are judged by z-scores, not esper-lite's ranges


def test_iql_policy_is_a_policy(trained):
    policy = IQLPolicy(trained[1], name="iql-lane")
    assert isinstance(policy, Policy)
    assert (policy.name, policy.kind, policy.state_dim, policy.telemetry_type) == (
        "iql-lane",
        "iql",
        37,
        "seed",
    )


# --- the plan's format --------------------------------------------------------------------


def test_plan_format_loads_and_acts_by_greedy_masked_q(tmp_path):
    ckpt = plan_checkpoint(state_dim=37, hidden=8)
    torch.save(ckpt, tmp_path / "plan.pt")
    policy = IQLPolicy(tmp_path / "plan.pt")
    obs = snapshot(5)
    q = plan_q(ckpt, torch.tensor([policy.decide(obs, ALL_VALID).features]))[0]
    mask = [True] * ACTION_DIM
    mask[int(q.argmax())] = False  # the overall best is not allowed now
    expected = max((a for a in Action if mask[a]), key=lambda a: float(q[a]))
    decision = policy.decide(obs, mask)
    assert decision.action == expected
    assert decision.reason.startswith(f"argmax masked Q: {expected.name}")


def test_plan_format_reads_hidden_size_from_the_weights(tmp_path):
    torch.save(plan_checkpoint(state_dim=27, hidden=12), tmp_path / "plan.pt")
    iql, _, _ = load_iql_model(tmp_path / "plan.pt")
    assert iql.q_network.net[0].out_features == 12 and iql.q_network.net[0].in_features == 27


@pytest.mark.parametrize(
    ("state_dim", "use_telemetry", "telemetry_type"),
    [(27, False, "none"), (37, True, "seed"), (54, True, "full")],
)
def test_state_dim_tells_the_telemetry_type(tmp_path, state_dim, use_telemetry, telemetry_type):
    torch.save(plan_checkpoint(state_dim=state_dim), tmp_path / "plan.pt")
    _, got_telemetry, got_type = load_iql_model(tmp_path / "plan.pt")
    assert (got_telemetry, got_type) == (use_telemetry, telemetry_type)


def test_unknown_state_dim_warns_and_assumes_no_telemetry(tmp_path):
    torch.save(plan_checkpoint(state_dim=40), tmp_path / "plan.pt")
    with pytest.warns(UserWarning, match="Unknown state_dim 40"):
        _, use_telemetry, telemetry_type = load_iql_model(tmp_path / "plan.pt")
    assert (use_telemetry, telemetry_type) == (False, "unknown")


def test_policy_refuses_a_model_whose_inputs_it_cannot_build(tmp_path):
    torch.save(plan_checkpoint(state_dim=40), tmp_path / "plan.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ModelLoadError, match="state_dim 40"):
            IQLPolicy(tmp_path / "plan.pt")


# --- esper-lite's own checkpoints: raw inputs, their metrics kept -----------------------------

ESPER_LITE_METRICS = {
    "agreement": 0.62,
    "q_improvement": 1.8,
    "action_distribution": {"WAIT": 0.7, "GERMINATE_CONV": 0.1, "ADVANCE": 0.2},
    "loss_history": [0.9, 0.5, 0.31],
    "bad": float("nan"),
}


def test_an_esper_lite_checkpoint_with_metrics_loads_keeps_them_and_acts_on_raw_inputs(tmp_path):
    ckpt = plan_checkpoint(state_dim=27, hidden=8) | {"metrics": ESPER_LITE_METRICS}
    torch.save(ckpt, tmp_path / "iql.pt")  # exactly how esper-lite's trainer saves: a plain dict
    policy = IQLPolicy(tmp_path / "iql.pt")
    assert policy.model_format == "plan"
    assert policy.metrics["agreement"] == 0.62 and policy.metrics["loss_history"] == [
        0.9,
        0.5,
        0.31,
    ]
    assert policy.metrics["bad"] is None  # kept as JSON: a NaN becomes null
    info = policy.lane_info()
    assert info.model_format == "plan" and info.metrics["action_distribution"]["WAIT"] == 0.7
    decision = policy.decide(snapshot(5, telemetry=False), ALL_VALID)
    assert decision.features[0] == 5.0  # the raw epoch, as esper-lite fed it
    q = plan_q(ckpt, torch.tensor([decision.features]))[0]
    assert decision.q_values == pytest.approx(q.tolist(), abs=1e-5)  # no normalisation in between
    assert decision.z_scores is None and decision.range_excess == (0.0,) * 27


def test_a_plan_format_input_far_beyond_esper_lites_range_is_flagged(tmp_path):
    torch.save(plan_checkpoint(state_dim=27, hidden=8), tmp_path / "iql.pt")
    policy = IQLPolicy(tmp_path / "iql.pt")
    far = replace(snapshot(5, telemetry=False), epoch=450, global_step=40_000)
    excess = policy.decide(far, ALL_VALID).range_excess
    assert excess[0] == pytest.approx(3.5)  # epoch 450 is 3.5 widths past esper-lite's 0-100
    assert excess[1] == 0.0  # within its step range
