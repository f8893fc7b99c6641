"""IQL checkpoints: saving ours, loading ours and the plan's, safely and strictly.

A checkpoint is a ``torch.save`` of plain tensors, numbers and strings, read back with
``weights_only=True`` only, so nothing in a file is ever executed. The plan's format holds
``state_dim``, ``action_dim``, ``gamma``, ``tau``, ``beta``, ``q_network`` and ``v_network``;
ours keeps all of those and adds the twin Q, the policy, the normaliser and the feature set.
What a loaded file is checked for is ``checkpoint_checks``; the policy that acts on a loaded
model is ``iql_policy.IQLPolicy``.
"""

from __future__ import annotations

import functools
import io
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from training.env.actions import ACTION_DIM
from training.env.features import FeatureNormalizer, feature_set_for_dim
from training.policies.checkpoint_checks import (
    CheckpointChecker,
    checked_metadata,
    is_int,
    read_checkpoint,
    short_repr,
)
from training.policies.iql import IQL, IQLConfig
from training.policies.metrics import plain_metrics
from training.policies.model_file import ModelFileProblem, read_model_file

FORMAT = "esper-iql"
FORMAT_VERSION = 1
PLAN_KEYS = ("state_dim", "action_dim", "q_network", "v_network")
OUR_KEYS = (
    "format_version", "q2_network", "policy_network", "obs_mean", "obs_std",
    "feature_set", "hidden_dim", "metadata",
)  # fmt: skip


def infer_telemetry(state_dim: int) -> tuple[bool, str]:
    """The plan's Task 6: 27 "none", 37 "seed", 54 "full", anything else "unknown"."""
    telemetry_type = feature_set_for_dim(state_dim)
    return telemetry_type in ("seed", "full"), telemetry_type


@dataclass(frozen=True)
class LoadedModel:
    """An IQL agent and everything needed to feed it the inputs it was trained on."""

    iql: IQL
    normalizer: FeatureNormalizer
    feature_set: str
    use_telemetry: bool
    telemetry_type: str
    format: str  # "esper-iql" or "plan"
    path: str
    metadata: dict = field(default_factory=dict)
    # an esper-lite checkpoint's ``metrics``, kept as saved
    metrics: dict = field(default_factory=dict)

    @property
    def state_dim(self) -> int:
        return self.iql.state_dim

    @classmethod
    def from_trained(
        cls, iql: IQL, normalizer: FeatureNormalizer, feature_set: str, metadata: dict | None = None
    ) -> LoadedModel:
        """An in-memory model, exactly as ``save_checkpoint`` → ``load_checkpoint`` returns it."""
        use_telemetry, telemetry_type = infer_telemetry(iql.state_dim)
        rounded = FeatureNormalizer(
            tuple(torch.tensor(normalizer.mean, dtype=torch.float32).tolist()),
            tuple(torch.tensor(normalizer.std, dtype=torch.float32).tolist()),
        )
        return cls(
            iql,
            rounded,
            feature_set,
            use_telemetry,
            telemetry_type,
            FORMAT,
            "(in memory)",
            dict(metadata or {}),
        )


def _cpu(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", torch.float32).clone() for k, v in network.state_dict().items()}


def save_checkpoint(
    path: str | os.PathLike[str],
    iql: IQL,
    normalizer: FeatureNormalizer,
    feature_set: str,
    metadata: dict,
) -> None:
    """Write our format (a superset of the plan's), atomically via a temporary file."""
    if iql.policy_network is None:
        raise ValueError("only an IQL with a policy network can be saved in our format")
    if feature_set != feature_set_for_dim(iql.state_dim):
        raise ValueError(f"feature set {feature_set!r} does not have {iql.state_dim} inputs")
    if normalizer.dim != iql.state_dim:
        raise ValueError(f"normaliser has {normalizer.dim} features, the model {iql.state_dim}")
    try:
        metadata_json = json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"metadata must be plain JSON data ({error})") from error
    payload = {
        "state_dim": int(iql.state_dim),
        "action_dim": int(iql.action_dim),
        "gamma": float(iql.gamma),
        "tau": float(iql.tau),
        "beta": float(iql.beta),
        "q_network": _cpu(iql.q_network),
        "v_network": _cpu(iql.v_network),
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "q2_network": _cpu(iql.q2_network),
        "policy_network": _cpu(iql.policy_network),
        "obs_mean": torch.tensor(normalizer.mean, dtype=torch.float32),
        "obs_std": torch.tensor(normalizer.std, dtype=torch.float32),
        "feature_set": feature_set,
        "hidden_dim": int(iql.config.hidden),
        "metadata": metadata_json,
    }
    # serialised first: a full disk is then an OSError naming its cause, not torch's
    buffer = io.BytesIO()
    torch.save(payload, buffer)  # "unexpected pos" RuntimeError, and no half-written file is left
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(buffer.getbuffer())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_checkpoint(
    path: str | os.PathLike[str], device: str | torch.device = "cpu", data: bytes | None = None
) -> LoadedModel:
    """Load our format or the plan's, validating every key, shape and weight first.

    ``data``: the file's bytes, already read by ``read_model_file`` (a worker or a cluster node
    gets them inside its task): loaded from memory, ``path`` only names them."""
    path = Path(path)
    check = CheckpointChecker(path)
    if data is None:
        try:  # a regular file under the size cap whose zip CRCs check, before torch reads it
            data = read_model_file(path)
        except ModelFileProblem as problem:
            raise check.fail(str(problem)) from None
    ckpt = read_checkpoint(data, device, check)
    ours = ckpt.get("format") == FORMAT
    required = PLAN_KEYS + (OUR_KEYS if ours else ())
    missing = [key for key in required if key not in ckpt]
    if missing:
        raise check.fail(f"it lacks {', '.join(missing)}")
    if ours and not (is_int(ckpt["format_version"]) and ckpt["format_version"] == FORMAT_VERSION):
        raise check.fail(
            f"format_version {short_repr(ckpt['format_version'])} is not {FORMAT_VERSION}"
        )
    state_dim, action_dim = check.integer(ckpt, "state_dim"), check.integer(ckpt, "action_dim")
    if action_dim != ACTION_DIM:
        raise check.fail(f"action_dim is {action_dim} but there are {ACTION_DIM} actions")
    first = ckpt["q_network"].get("net.0.weight") if isinstance(ckpt["q_network"], dict) else None
    if not isinstance(first, torch.Tensor) or first.ndim != 2:
        raise check.fail("q_network has no 2-D net.0.weight to read the hidden size from")
    hidden = int(first.shape[0])
    if ours and not (is_int(ckpt["hidden_dim"]) and ckpt["hidden_dim"] == hidden):
        raise check.fail(
            f"hidden_dim {short_repr(ckpt['hidden_dim'])} disagrees with the weights ({hidden})"
        )
    try:  # the plan's loader defaults gamma/tau/beta when absent; so do we
        config = IQLConfig(
            gamma=check.number(ckpt, "gamma", 0.99),
            tau=check.number(ckpt, "tau", 0.7),
            beta=check.number(ckpt, "beta", 3.0),
            hidden=hidden,
        )
    except ValueError as error:
        raise check.fail(str(error)) from error
    networks = {
        "q_network": check.network(ckpt, "q_network", state_dim, action_dim, hidden),
        "v_network": check.network(ckpt, "v_network", state_dim, 1, hidden),
    }
    if ours:
        networks["q2_network"] = check.network(ckpt, "q2_network", state_dim, action_dim, hidden)
        networks["policy_network"] = check.network(
            ckpt, "policy_network", state_dim, action_dim, hidden
        )
        mean, std = (
            check.vector(ckpt, "obs_mean", state_dim),
            check.vector(ckpt, "obs_std", state_dim),
        )
        if min(std) <= 0.0:
            raise check.fail("obs_std has a non-positive entry")
        normalizer = FeatureNormalizer(mean, std)
        feature_set = ckpt["feature_set"]
        if not isinstance(feature_set, str) or feature_set != feature_set_for_dim(state_dim):
            raise check.fail(
                f"feature_set {short_repr(feature_set)} does not have state_dim {state_dim} inputs"
            )
        metadata = checked_metadata(ckpt["metadata"], check)
    else:  # the plan's format: one Q (its twin is a copy), no policy, no normalisation
        networks["q2_network"] = networks["q_network"]
        normalizer = FeatureNormalizer.identity(state_dim)
        feature_set = feature_set_for_dim(state_dim)
        metadata = {}

    metrics = plain_metrics(ckpt.get("metrics"))
    use_telemetry, telemetry_type = infer_telemetry(state_dim)
    if telemetry_type == "unknown":
        warnings.warn(
            f"Unknown state_dim {state_dim}, assuming no telemetry", UserWarning, stacklevel=2
        )
    iql = IQL(state_dim, action_dim, config, device, with_policy=ours)
    for name, weights in networks.items():
        getattr(iql, name).load_state_dict(weights)
    iql.sync_targets()
    return LoadedModel(
        iql,
        normalizer,
        feature_set,
        use_telemetry,
        telemetry_type,
        FORMAT if ours else "plan",
        str(path),
        metadata,
        metrics,
    )


@functools.lru_cache(maxsize=8)
def shared_model(data: bytes, device: str, path: str) -> LoadedModel:
    """A checkpoint's bytes parsed once per process and device, shared by every episode that
    process runs (an IQL policy keeps no state between decisions)."""
    return load_checkpoint(path, device, data=data)


def load_iql_model(
    path: str | os.PathLike[str], device: str | torch.device = "cpu"
) -> tuple[IQL, bool, str]:
    """The plan's loader: (IQL agent, use_telemetry, telemetry_type)."""
    model = load_checkpoint(path, device)
    return model.iql, model.use_telemetry, model.telemetry_type
