"""IQL checkpoints: saving ours, loading ours and the plan's, safely and strictly.

A checkpoint is a ``torch.save`` of plain tensors, numbers and strings, read back with
``weights_only=True`` only, so nothing in a file is ever executed. The plan's format holds
``state_dim``, ``action_dim``, ``gamma``, ``tau``, ``beta``, ``q_network`` and ``v_network``;
ours keeps all of those and adds the twin Q, the policy, the normaliser and the feature set.
"""

from __future__ import annotations

import functools
import io
import json
import math
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from training.env.actions import ACTION_DIM, Action
from training.env.features import (
    FEATURE_SETS,
    FeatureNormalizer,
    feature_names,
    feature_set_for_dim,
    features_for,
    range_excess,
)
from training.env.signals import TrainingSnapshot
from training.policies.base import Decision, target_for
from training.policies.iql import IQL, IQLConfig, masked_logits
from training.policies.metrics import plain_metrics
from training.policies.model_file import ModelFileProblem, read_model_file
from training.records import LaneInfo

FORMAT = "esper-iql"
FORMAT_VERSION = 1
PLAN_KEYS = ("state_dim", "action_dim", "q_network", "v_network")
OUR_KEYS = (
    "format_version", "q2_network", "policy_network", "obs_mean", "obs_std",
    "feature_set", "hidden_dim", "metadata",
)  # fmt: skip
LAYER_KEYS = (
    "net.0.weight",
    "net.0.bias",
    "net.2.weight",
    "net.2.bias",
    "net.4.weight",
    "net.4.bias",
)


class ModelLoadError(Exception):
    """A model file that cannot be used; the message is one sentence naming the file."""


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


def _short(value: object) -> str:
    """A value's repr fit for a one-line message (a tensor's repr spans lines)."""
    text = " ".join(repr(value).split())
    return text if len(text) <= 40 else text[:37] + "..."


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Checker:
    """Validates a loaded dict, raising ModelLoadError with one sentence naming the file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, problem: str) -> ModelLoadError:
        return ModelLoadError(f"cannot load IQL model {self.path}: {problem}.")

    def integer(self, ckpt: dict, key: str) -> int:
        value = ckpt[key]
        if not _is_int(value) or value < 1:
            raise self.fail(f"{key} must be a positive integer, got {_short(value)}")
        return value

    def number(self, ckpt: dict, key: str, default: float) -> float:
        value = ckpt.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.fail(f"{key} must be a finite number, got {_short(value)}")
        return float(value)

    def network(self, ckpt: dict, key: str, in_dim: int, out_dim: int, hidden: int) -> dict:
        weights = ckpt[key]
        if not isinstance(weights, dict) or set(weights) != set(LAYER_KEYS):
            raise self.fail(f"{key} must hold exactly the MLP weights {', '.join(LAYER_KEYS)}")
        shapes = {
            "net.0.weight": (hidden, in_dim), "net.0.bias": (hidden,),
            "net.2.weight": (hidden, hidden), "net.2.bias": (hidden,),
            "net.4.weight": (out_dim, hidden), "net.4.bias": (out_dim,),
        }  # fmt: skip
        for name, shape in shapes.items():
            tensor = weights[name]
            if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
                raise self.fail(f"{key} {name} is not a floating-point tensor")
            if tuple(tensor.shape) != shape:
                raise self.fail(
                    f"{key} {name} has shape {tuple(tensor.shape)}, expected {shape} "
                    f"(state_dim {in_dim}, hidden size {hidden}, {out_dim} outputs)"
                )
            if not bool(torch.isfinite(tensor).all()):
                raise self.fail(f"{key} {name} contains NaN or infinite values")
        return {name: weights[name].to(torch.float32) for name in LAYER_KEYS}

    def vector(self, ckpt: dict, key: str, dim: int) -> tuple[float, ...]:
        tensor = ckpt[key]
        if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != (dim,):
            raise self.fail(f"{key} must be a tensor of shape ({dim},)")
        if not bool(torch.isfinite(tensor).all()):
            raise self.fail(f"{key} contains NaN or infinite values")
        return tuple(tensor.to(torch.float32).tolist())


def _read(data: bytes, device: str | torch.device, check: _Checker) -> dict:
    try:
        with warnings.catch_warnings():
            # torch's notes on odd pickle protocols: we judge the file ourselves
            warnings.simplefilter("ignore")
            ckpt = torch.load(io.BytesIO(data), map_location=device, weights_only=True)
    except Exception as error:  # noqa: BLE001 - every parse failure is "unusable file"
        code = re.search(r"GLOBAL ([\w.]+)", str(error))
        if code is not None:
            raise check.fail(
                f"it asks to run {code.group(1)} when unpickled, refused without running it"
            ) from error
        raise check.fail("it is not a torch checkpoint") from error
    if not isinstance(ckpt, dict):
        raise check.fail(f"it holds a {type(ckpt).__name__}, not a checkpoint dict")
    return ckpt


def load_checkpoint(
    path: str | os.PathLike[str], device: str | torch.device = "cpu", data: bytes | None = None
) -> LoadedModel:
    """Load our format or the plan's, validating every key, shape and weight first.

    ``data``: the file's bytes, already read by ``read_model_file`` (a worker or a cluster node
    gets them inside its task): loaded from memory, ``path`` only names them."""
    path = Path(path)
    check = _Checker(path)
    if data is None:
        try:  # a regular file under the size cap whose zip CRCs check, before torch reads it
            data = read_model_file(path)
        except ModelFileProblem as problem:
            raise check.fail(str(problem)) from None
    ckpt = _read(data, device, check)
    ours = ckpt.get("format") == FORMAT
    required = PLAN_KEYS + (OUR_KEYS if ours else ())
    missing = [key for key in required if key not in ckpt]
    if missing:
        raise check.fail(f"it lacks {', '.join(missing)}")
    if ours and not (_is_int(ckpt["format_version"]) and ckpt["format_version"] == FORMAT_VERSION):
        raise check.fail(f"format_version {_short(ckpt['format_version'])} is not {FORMAT_VERSION}")
    state_dim, action_dim = check.integer(ckpt, "state_dim"), check.integer(ckpt, "action_dim")
    if action_dim != ACTION_DIM:
        raise check.fail(f"action_dim is {action_dim} but there are {ACTION_DIM} actions")
    first = ckpt["q_network"].get("net.0.weight") if isinstance(ckpt["q_network"], dict) else None
    if not isinstance(first, torch.Tensor) or first.ndim != 2:
        raise check.fail("q_network has no 2-D net.0.weight to read the hidden size from")
    hidden = int(first.shape[0])
    if ours and not (_is_int(ckpt["hidden_dim"]) and ckpt["hidden_dim"] == hidden):
        raise check.fail(
            f"hidden_dim {_short(ckpt['hidden_dim'])} disagrees with the weights ({hidden})"
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
                f"feature_set {_short(feature_set)} does not have state_dim {state_dim} inputs"
            )
        metadata = _metadata(ckpt["metadata"], check)
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


def _metadata(value: object, check: _Checker) -> dict:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value) if isinstance(value, str) else None
    except (ValueError, RecursionError):  # deep nesting too: one sentence, never a traceback
        parsed = None
    if not isinstance(parsed, dict):
        raise check.fail("metadata is neither a dict nor a JSON object string")
    return parsed


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


class IQLPolicy:
    """A loaded IQL checkpoint behind the Policy protocol. Our format acts by the argmax of the
    masked advantage-weighted policy; the plan's format (no policy) by the greedy masked Q."""

    kind = "iql"

    def __init__(
        self,
        model: LoadedModel | str | os.PathLike[str],
        name: str = "iql",
        device: str | torch.device = "cpu",
    ) -> None:
        if not isinstance(model, LoadedModel):
            model = load_checkpoint(model, device)
        if model.feature_set not in FEATURE_SETS:
            raise ModelLoadError(
                f"cannot use IQL model {model.path}: state_dim {model.state_dim} matches no feature "
                f"set ({', '.join(f'{n} {s}' for s, n in FEATURE_SETS.items())}), so no input can be built."
            )
        self.model = model
        self.name = name
        self.iql = model.iql
        self.state_dim = model.state_dim
        self.telemetry_type = model.telemetry_type
        self.feature_set = model.feature_set
        self.model_path = model.path
        self.feature_names = feature_names(model.feature_set)
        self.normalizer = model.normalizer
        self.model_format = model.format
        self.metrics = model.metrics
        # The ablation's behaviour-cloning baseline is stored in a checkpoint's policy slot: it acts
        # on that network alone and has no Q, V or advantage of its own (the networks beside it
        # are another model's), so none is shown or recorded for it.
        if model.metadata.get("policy") == "bc" and self.iql.has_policy:
            self.kind = "bc"

    def lane_info(self) -> LaneInfo:
        """What the run's header and records say about this lane."""
        return LaneInfo(
            self.name,
            self.kind,
            self.model_path,
            self.state_dim,
            self.telemetry_type,
            tuple(self.feature_names),
            self.model_format,
            dict(self.metrics) or None,
        )

    def reset(self) -> None:
        """IQL is memoryless between decisions."""

    def decide(self, observation: TrainingSnapshot, action_mask: Sequence[bool]) -> Decision:
        if len(action_mask) != ACTION_DIM:
            raise ValueError(f"action mask has {len(action_mask)} entries, expected {ACTION_DIM}")
        features = features_for(observation, self.feature_set)
        # Ours normalise inside the policy with the stored statistics; the plan's format reads the
        # raw vector as esper-lite fed it, and is judged against esper-lite's ranges instead.
        plan = self.model_format != FORMAT
        inputs = features if plan else self.normalizer.z_scores(features)
        device = self.iql.device
        x = torch.tensor([inputs], dtype=torch.float32, device=device)
        mask = torch.tensor([[bool(m) for m in action_mask]], dtype=torch.bool, device=device)
        q = self.iql.q_values(x)[0]
        value = float(self.iql.values(x)[0])
        if self.iql.has_policy:
            probs = torch.softmax(masked_logits(self.iql.policy_logits(x), mask), dim=-1)[0]
            scores, probabilities = probs, tuple(probs.tolist())
        else:
            scores, probabilities = masked_logits(q.unsqueeze(0), mask)[0], None
        action = Action(int(scores.argmax()))
        q_values = tuple(q.tolist())
        if self.kind == "bc":
            return Decision(
                action=action,
                reason=self._reason(action, scores, None, mask[0]),
                target_slot=target_for(action, observation),
                probabilities=probabilities,
                features=tuple(float(f) for f in features),
                z_scores=None if plan else tuple(inputs),
                range_excess=tuple(range_excess(features, self.feature_set)) if plan else None,
            )
        return Decision(
            action=action,
            reason=self._reason(action, scores, q_values, mask[0]),
            target_slot=target_for(action, observation),
            q_values=q_values,
            value=value,
            advantage=q_values[action] - value,
            probabilities=probabilities,
            features=tuple(float(f) for f in features),
            z_scores=None if plan else tuple(inputs),
            range_excess=tuple(range_excess(features, self.feature_set)) if plan else None,
        )

    def _reason(
        self, action: Action, scores: torch.Tensor, q: tuple[float, ...] | None, mask: torch.Tensor
    ) -> str:
        others = [a for a in Action if bool(mask[a]) and a != action]
        if not others:
            return f"only {action.name} is allowed"
        runner = max(others, key=lambda a: float(scores[a]))
        if q is None:  # behaviour cloning: probabilities only
            return (
                f"masked BC policy: {action.name} p={float(scores[action]):.2f} "
                f"vs {runner.name} p={float(scores[runner]):.2f}"
            )
        if self.iql.has_policy:
            return (
                f"masked policy: {action.name} p={float(scores[action]):.2f} (Q {q[action]:.2f}) "
                f"vs {runner.name} p={float(scores[runner]):.2f}"
            )
        return f"argmax masked Q: {action.name} (Q {q[action]:.2f} vs next {q[runner]:.2f})"
