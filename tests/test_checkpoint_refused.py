"""IQL checkpoints that cannot be used: every unusable file (not a checkpoint, the wrong
shape, NaN weights, a newer format, a folder, a file that asks to run code) is refused in one
sentence naming it, without running anything it holds."""

import io
import math
import pickle
import random

import pytest
import torch

from tests.checkpoint_support import plan_checkpoint, plan_network, train_and_save
from training.policies.checkpoint import load_checkpoint
from training.policies.checkpoint_checks import ModelLoadError


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny IQL trained on 37-dim ("seed") data and saved in our format."""
    return train_and_save(tmp_path_factory.mktemp("ckpt"))


# --- unusable files -----------------------------------------------------------------------


def _write(path, payload) -> None:
    if isinstance(payload, bytes):
        path.write_bytes(payload)
    else:
        torch.save(payload, path)


def _ours_without_policy(trained_path):
    ckpt = torch.load(trained_path, weights_only=True)
    del ckpt["policy_network"]
    return ckpt


def _edited(edit):
    ckpt = plan_checkpoint()
    edit(ckpt)
    return ckpt


BAD = {
    "random-bytes": (lambda: random.Random(0).randbytes(512), "not a torch checkpoint"),
    "text": (lambda: b"state_dim = 37\nthis is not a model\n", "not a torch checkpoint"),
    "empty": (lambda: b"", "not a torch checkpoint"),
    "zip-junk": (lambda: b"PK\x03\x04" + bytes(200), "not a torch checkpoint"),
    "not-a-dict": (lambda: [1, 2, 3], "holds a list"),
    "missing-key": (lambda: _edited(lambda c: c.pop("v_network")), "lacks v_network"),
    "wrong-shape": (
        lambda: _edited(lambda c: c["q_network"].update({"net.0.weight": torch.zeros(8, 36)})),
        "shape",
    ),
    "action-dim-6": (lambda: plan_checkpoint(action_dim=6), "action_dim is 6"),
    "nan-weights": (
        lambda: _edited(lambda c: c["v_network"]["net.2.weight"].fill_(math.nan)),
        "NaN or infinite",
    ),
    "inf-weights": (
        lambda: _edited(lambda c: c["q_network"]["net.4.bias"].fill_(math.inf)),
        "NaN or infinite",
    ),
    "string-dim": (
        lambda: _edited(lambda c: c.update(state_dim="37")),
        "state_dim must be a positive integer",
    ),
    "bad-expectile": (
        lambda: _edited(lambda c: c.update(tau=1.5)),
        "expectile tau must lie in (0, 1)",
    ),
    "hidden-mismatch": (
        lambda: _edited(lambda c: c.update(v_network=plan_network(37, 1, 4, torch.Generator()))),
        "hidden size 8",
    ),
    "newer-version": (
        lambda: _edited(
            lambda c: c.update(
                format="esper-iql",
                format_version=2,
                q2_network=c["q_network"],
                policy_network=c["q_network"],
                obs_mean=torch.zeros(37),
                obs_std=torch.ones(37),
                feature_set="seed",
                hidden_dim=8,
                metadata="{}",
            )
        ),
        "format_version 2",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_unusable_file_is_refused_in_one_sentence_naming_it(tmp_path, case):
    make, problem = BAD[case]
    path = tmp_path / f"{case}.pt"
    _write(path, make())
    with pytest.raises(ModelLoadError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert f"{case}.pt" in message and problem in message
    assert "\n" not in message and message.endswith(".") and message.count(". ") == 0


def test_our_format_without_its_policy_is_refused(tmp_path, trained):
    torch.save(_ours_without_policy(trained[1]), tmp_path / "ours.pt")
    with pytest.raises(ModelLoadError, match=r"ours\.pt.*lacks policy_network"):
        load_checkpoint(tmp_path / "ours.pt")


def test_missing_file_is_refused_naming_it(tmp_path):
    with pytest.raises(ModelLoadError, match=r"absent\.pt: the file does not exist"):
        load_checkpoint(tmp_path / "absent.pt")


def test_directory_is_refused_naming_it(tmp_path):
    (tmp_path / "models.pt").mkdir()
    with pytest.raises(ModelLoadError, match=r"models\.pt: it is a directory"):
        load_checkpoint(tmp_path / "models.pt")


class _Booby:
    """Unpickling this calls open(marker, "w"): a file appears if the pickle is executed."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _booby_files(tmp_path) -> dict[str, bytes]:
    booby = {"state_dim": _Booby(str(tmp_path / "pwned"))}
    buffer = io.BytesIO()
    torch.save(booby, buffer)
    return {"plain-pickle": pickle.dumps(booby, protocol=2), "torch-zip": buffer.getvalue()}


@pytest.mark.parametrize("kind", ["plain-pickle", "torch-zip"])
def test_booby_trapped_file_does_run_code_when_loaded_unsafely(tmp_path, kind):
    payload = _booby_files(tmp_path)[kind]
    if kind == "plain-pickle":
        pickle.loads(payload)  # proves the trap is live
    else:
        torch.load(io.BytesIO(payload), weights_only=False)
    assert (tmp_path / "pwned").exists()


@pytest.mark.parametrize("kind", ["plain-pickle", "torch-zip"])
def test_booby_trapped_checkpoint_is_refused_without_running_it(tmp_path, kind):
    path = tmp_path / "evil.pt"
    path.write_bytes(_booby_files(tmp_path)[kind])
    with pytest.raises(ModelLoadError, match=r"evil\.pt: it asks to run .*open"):
        load_checkpoint(path)
    assert not (tmp_path / "pwned").exists()
