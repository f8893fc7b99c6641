"""Discrete IQL: the paper's losses, which network V learns from, masking, and learning the
better action from offline data where the behaviour took both."""

import contextlib
import json
import math

import numpy as np
import pytest
import torch

from training.env.actions import ACTION_DIM, Action
from training.env.features import FeatureNormalizer
from training.policies.iql import (
    IQL,
    Batch,
    IQLConfig,
    advantage_weights,
    expectile_loss,
    td_target,
)
from training.policies.offline_data import OfflineDataset
from training.policies.subnormals import (
    flush_denormals,
    flushing_denormals,
    zero_negligible_moments,
)
from training.policies.trainer import OfflineTrainer, train_offline

TINY = IQLConfig(hidden=16, batch_size=32, lr=1e-2)


@contextlib.contextmanager
def one_thread():
    """Networks this small run fastest on one thread, and a second one only spins while
    anything else keeps the other core busy."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():
        yield


def one_state_dataset(
    counts: dict[Action, int], rewards: dict[Action, float], dim: int = 4
) -> OfflineDataset:
    """A one-step problem: the same state every time, each action with a fixed reward."""
    actions = np.array([a for a, n in counts.items() for _ in range(n)], dtype=np.int64)
    n = len(actions)
    states = np.tile(np.linspace(-1.0, 1.0, dim, dtype=np.float32), (n, 1))
    return OfflineDataset(
        states=states,
        actions=actions,
        rewards=np.array([rewards[Action(a)] for a in actions], dtype=np.float32),
        next_states=states.copy(),
        dones=np.ones(n, dtype=np.float32),
        masks=np.ones((n, ACTION_DIM), dtype=bool),
        next_masks=np.ones((n, ACTION_DIM), dtype=bool),
    )


def random_dataset(n: int = 64, dim: int = 5, seed: int = 0) -> OfflineDataset:
    rng = np.random.default_rng(seed)
    masks = rng.random((n, ACTION_DIM)) < 0.6
    masks[:, Action.WAIT] = True
    actions = np.array([rng.choice(np.flatnonzero(m)) for m in masks], dtype=np.int64)
    return OfflineDataset(
        states=rng.normal(size=(n, dim)).astype(np.float32),
        actions=actions,
        rewards=rng.normal(size=n).astype(np.float32),
        next_states=rng.normal(size=(n, dim)).astype(np.float32),
        dones=(rng.random(n) < 0.1).astype(np.float32),
        masks=masks,
        next_masks=np.ones((n, ACTION_DIM), dtype=bool),
    )


@pytest.fixture(scope="module")
def mostly_wait():
    """The behaviour mostly WAITs (reward 0) and sometimes ADVANCEs (reward 1)."""
    data = one_state_dataset(
        {Action.WAIT: 48, Action.ADVANCE: 16}, {Action.WAIT: 0.0, Action.ADVANCE: 1.0}
    )
    with one_thread():
        return data, train_offline(data, steps=400, config=TINY, seed=0)


def chosen(iql: IQL, state: np.ndarray, result_normalizer) -> Action:
    z = torch.tensor([result_normalizer.z_scores(state.tolist())], dtype=torch.float32)
    return Action(int(iql.act(z, torch.ones(1, ACTION_DIM, dtype=torch.bool))[0]))


def test_expectile_loss_weighs_positive_errors_by_tau():
    assert expectile_loss(torch.tensor([2.0]), 0.7).item() == pytest.approx(0.7 * 4.0)


def test_expectile_loss_weighs_negative_errors_by_one_minus_tau():
    assert expectile_loss(torch.tensor([-2.0]), 0.7).item() == pytest.approx(0.3 * 4.0)


def test_advantage_weights_are_clipped_at_100():
    weights = advantage_weights(torch.tensor([10.0, 1000.0, 0.0, -1.0]), beta=3.0, clip=100.0)
    assert weights.tolist() == pytest.approx([100.0, 100.0, 1.0, math.exp(-3.0)])


def test_q_target_bootstraps_from_next_value_unless_done():
    target = td_target(
        torch.tensor([1.0, 1.0]), torch.tensor([0.0, 1.0]), torch.tensor([2.0, 2.0]), 0.5
    )
    assert target.tolist() == [2.0, 1.0]


def _constant(network: torch.nn.Module, value: float) -> None:
    """Make a network output ``value`` for every action whatever the input."""
    with torch.no_grad():
        network.net[4].weight.zero_()
        network.net[4].bias.fill_(value)


def test_v_regresses_towards_the_min_of_the_target_q_networks():
    torch.manual_seed(0)
    iql = IQL(3, config=IQLConfig(hidden=16, lr=1e-2, polyak=0.0))  # polyak 0: targets frozen
    _constant(iql.q_network, 10.0)
    _constant(iql.q2_network, 20.0)
    _constant(iql.q_target, 1.0)
    _constant(iql.q2_target, 3.0)
    states = torch.zeros(32, 3)
    batch = Batch(
        states,
        torch.zeros(32, dtype=torch.long),
        torch.zeros(32),
        states,
        torch.ones(32),
        torch.ones(32, ACTION_DIM, dtype=torch.bool),
    )
    for _ in range(300):
        iql.update(batch)
    # V has a single target value, so every expectile of it is that value: min(1, 3) = 1.
    assert iql.values(states[:1]).item() == pytest.approx(1.0, abs=0.05)


def test_iql_learns_the_better_action_when_the_data_holds_both(mostly_wait):
    data, result = mostly_wait
    assert chosen(result.iql, data.states[0], result.normalizer) == Action.ADVANCE


def test_behaviour_cloning_copies_the_most_common_action(mostly_wait):
    data, result = mostly_wait
    z = torch.tensor([result.normalizer.z_scores(data.states[0].tolist())])
    assert int(result.bc.act(z, torch.ones(1, ACTION_DIM, dtype=torch.bool))[0]) == Action.WAIT


@pytest.mark.parametrize("with_policy", [True, False], ids=["policy", "greedy-q"])
def test_masked_actions_are_never_chosen(with_policy):
    torch.manual_seed(1)
    iql = IQL(6, config=IQLConfig(hidden=16), with_policy=with_policy)
    states = torch.randn(200, 6)
    scores = iql.policy_logits(states) if with_policy else iql.q_values(states)
    masks = torch.rand(200, ACTION_DIM) < 0.5
    masks[torch.arange(200), scores.argmax(dim=-1)] = False  # the unmasked favourite is invalid
    masks[:, Action.WAIT] |= ~masks.any(dim=-1)
    picks = iql.act(states, masks)
    assert bool(masks[torch.arange(200), picks].all())


def test_training_is_deterministic_for_a_seed():
    data = random_dataset()
    a, b = (train_offline(data, steps=5, config=TINY, seed=7) for _ in range(2))
    assert a.history == b.history
    for x, y in zip(
        a.iql.policy_network.parameters(), b.iql.policy_network.parameters(), strict=True
    ):
        assert torch.equal(x, y)


def test_a_different_seed_trains_differently():
    data = random_dataset()
    a, b = (train_offline(data, steps=5, config=TINY, seed=s) for s in (1, 2))
    assert a.history != b.history


def test_progress_reports_every_step_with_the_losses():
    seen = []
    train_offline(
        random_dataset(),
        steps=3,
        config=TINY,
        seed=0,
        progress=lambda step, losses: seen.append((step, losses)),
    )
    assert [s for s, _ in seen] == [1, 2, 3]
    assert {"loss_v", "loss_q", "loss_pi", "loss_bc"} <= set(seen[0][1])


def test_a_trainer_run_in_chunks_goes_on_where_it_stopped():
    trainer = OfflineTrainer(random_dataset(), TINY, seed=0)
    seen = []
    trainer.run(3, progress=lambda step, losses: seen.append(step))
    trainer.run(2, progress=lambda step, losses: seen.append(step))
    assert seen == [1, 2, 3, 4, 5] and len(trainer.result().history) == 5


def test_training_flushes_denormals_and_restores_the_mode_after():
    assert not flushing_denormals()
    during = []
    train_offline(
        random_dataset(),
        steps=2,
        config=TINY,
        progress=lambda step, losses: during.append(flushing_denormals()),
    )
    assert during == [True, True]
    assert not flushing_denormals()


def test_flush_denormals_keeps_a_mode_that_was_already_on():
    torch.set_flush_denormal(True)
    try:
        with flush_denormals():
            pass
        assert flushing_denormals()
    finally:
        torch.set_flush_denormal(False)


def test_flushed_subnormals_read_as_zero():
    small = torch.tensor([2e-38])  # a normal float32 (the smallest is 1.18e-38); half is subnormal
    with flush_denormals():
        assert (small * 0.5).item() == 0.0
    assert 0.0 < (small * 0.5).item() < 1.1e-38


def test_negligible_adam_moments_become_zero_and_the_rest_stay():
    weight = torch.nn.Parameter(torch.ones(4))
    optimizer = torch.optim.Adam([weight])
    weight.grad = torch.ones(4)
    optimizer.step()
    state = optimizer.state[weight]
    state["exp_avg"].copy_(torch.tensor([1e-31, -1e-31, 1e-29, -0.5]))
    state["exp_avg_sq"].copy_(torch.tensor([1e-40, 1e-3, 0.0, 2e-30]))
    zero_negligible_moments(optimizer)
    assert state["exp_avg"].tolist() == pytest.approx([0.0, 0.0, 1e-29, -0.5], rel=1e-6)
    assert state["exp_avg_sq"].tolist() == pytest.approx([0.0, 1e-3, 0.0, 2e-30], rel=1e-6)


def test_training_reports_action_histograms_of_data_and_policies(mostly_wait):
    _, result = mostly_wait
    assert result.action_counts["data"][Action.WAIT] == 48
    assert result.action_counts["iql"][Action.ADVANCE] == 64


def test_normalizer_comes_from_the_data():
    data = random_dataset()
    result = train_offline(data, steps=0, config=TINY, seed=0)
    assert result.normalizer.mean == pytest.approx(data.states.mean(axis=0), abs=1e-5)


def test_normalizer_fits_a_numpy_array_as_it_fits_rows():
    states = np.array([[0.0, 1.0, 5.0], [2.0, 1.0, 7.0], [4.0, 1.0, 6.0]])
    fitted = FeatureNormalizer.fit(states)
    assert fitted == FeatureNormalizer.fit(states.tolist())
    # population std; a constant feature gets std 1
    assert fitted.mean == pytest.approx((2.0, 1.0, 6.0))
    assert fitted.std == pytest.approx((math.sqrt(8 / 3), 1.0, math.sqrt(2 / 3)))


def test_dataset_round_trips_through_npz(tmp_path):
    data = random_dataset()
    data.to_npz(tmp_path / "d.npz")
    loaded = OfflineDataset.from_npz(tmp_path / "d.npz")
    assert np.array_equal(loaded.states, data.states) and np.array_equal(loaded.masks, data.masks)


def test_dataset_reads_feature_set_from_metadata(tmp_path):
    data = random_dataset(dim=37)
    arrays = {
        k: getattr(data, k)
        for k in ("states", "actions", "rewards", "next_states", "dones", "masks", "next_masks")
    }
    np.savez(tmp_path / "d.npz", **arrays, metadata=np.asarray(json.dumps({"feature_set": "seed"})))
    assert OfflineDataset.from_npz(tmp_path / "d.npz").feature_set == "seed"


def test_missing_dataset_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="missing.npz"):
        OfflineDataset.from_npz(tmp_path / "missing.npz")


def test_malformed_dataset_file_is_a_clear_error(tmp_path):
    (tmp_path / "bad.npz").write_text("not numpy")
    with pytest.raises(ValueError, match="bad.npz"):
        OfflineDataset.from_npz(tmp_path / "bad.npz")


def test_dataset_missing_an_array_is_a_clear_error(tmp_path):
    np.savez(tmp_path / "partial.npz", states=np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="lacks actions"):
        OfflineDataset.from_npz(tmp_path / "partial.npz")


def test_dataset_refuses_an_action_its_mask_forbids():
    data = random_dataset()
    masks = data.masks.copy()
    masks[0, data.actions[0]] = False
    with pytest.raises(ValueError, match="mask forbids"):
        OfflineDataset(
            data.states,
            data.actions,
            data.rewards,
            data.next_states,
            data.dones,
            masks,
            data.next_masks,
        )


def test_training_refuses_data_whose_feature_set_disagrees_with_its_width():
    data = random_dataset(dim=27)
    mislabelled = OfflineDataset(
        data.states,
        data.actions,
        data.rewards,
        data.next_states,
        data.dones,
        data.masks,
        data.next_masks,
        metadata={"feature_set": "seed"},
    )
    with pytest.raises(ValueError, match="'seed' but its states have 27"):
        train_offline(mislabelled, steps=1, config=TINY)
