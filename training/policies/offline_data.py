"""The offline dataset ``esper-iql collect`` writes and ``esper-iql train`` reads (an .npz).

Arrays: ``states`` float32 [N, D], ``actions`` int64 [N], ``rewards`` float32 [N],
``next_states`` float32 [N, D], ``dones`` [N], ``masks`` bool [N, 7] (valid actions at s),
``next_masks`` bool [N, 7], and ``metadata``, a 0-d string array holding JSON. Loaded with
``allow_pickle=False``: nothing in the file is executed.

A collection since the ablation also stores ``states_<set>``/``next_states_<set>`` for every
feature set (none 27, seed 37, full 54); ``from_npz(path, feature_set)`` picks one. Files with
only ``states`` still load, in the feature set they were collected with.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from training.actions import ACTION_DIM
from training.features import FEATURE_SETS, feature_names, feature_set_for_dim

ARRAY_KEYS = ("states", "actions", "rewards", "next_states", "dones", "masks", "next_masks")


@dataclass(frozen=True, eq=False)
class OfflineDataset:
    """Transitions of a behaviour policy. Validated on construction so that training never
    meets a malformed row (an action invalid at its own state would make L_pi infinite)."""

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_states: np.ndarray
    dones: np.ndarray
    masks: np.ndarray
    next_masks: np.ndarray
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        arrays = {key: np.asarray(getattr(self, key)) for key in ARRAY_KEYS}
        for key, value in arrays.items():
            object.__setattr__(self, key, value)
        states, actions = arrays["states"], arrays["actions"]
        if states.ndim != 2 or states.shape[0] == 0 or states.shape[1] == 0:
            raise ValueError(f"states must be a non-empty [N, D] array, got shape {states.shape}")
        n, d = states.shape
        expected = {
            "actions": (n,), "rewards": (n,), "next_states": (n, d), "dones": (n,),
            "masks": (n, ACTION_DIM), "next_masks": (n, ACTION_DIM),
        }  # fmt: skip
        for key, shape in expected.items():
            if arrays[key].shape != shape:
                raise ValueError(f"{key} has shape {arrays[key].shape}, expected {shape}")
        for key in ("states", "next_states", "rewards", "dones"):
            if not np.issubdtype(arrays[key].dtype, np.number) and arrays[key].dtype != np.bool_:
                raise ValueError(f"{key} must be numeric, got {arrays[key].dtype}")
            if not np.isfinite(arrays[key].astype(np.float64)).all():
                raise ValueError(f"{key} contains NaN or infinite values")
        dones = arrays["dones"]
        if not np.isin(dones, (0, 1)).all():
            odd = dones[~np.isin(dones, (0, 1))]
            raise ValueError(f"dones must be 0 or 1 (the episode ended or not); {odd.size} are not, e.g. {float(odd.flat[0]):g}")
        if not np.issubdtype(actions.dtype, np.integer):
            raise ValueError(f"actions must be integers, got {actions.dtype}")
        if actions.min() < 0 or actions.max() >= ACTION_DIM:
            raise ValueError(f"actions must lie in 0..{ACTION_DIM - 1}")
        for key in ("masks", "next_masks"):
            if arrays[key].dtype != np.bool_:
                raise ValueError(f"{key} must be boolean, got {arrays[key].dtype}")
        invalid = ~arrays["masks"][np.arange(n), actions]
        if invalid.any():
            raise ValueError(f"{int(invalid.sum())} transitions take an action their mask forbids")
        if not isinstance(self.metadata, dict):
            raise ValueError("metadata must be a dict")

    def __len__(self) -> int:
        return int(self.states.shape[0])

    @property
    def state_dim(self) -> int:
        return int(self.states.shape[1])

    @property
    def feature_set(self) -> str:
        """The metadata's ``feature_set`` when it names one, else the plan's inference from D."""
        return str(self.metadata.get("feature_set") or feature_set_for_dim(self.state_dim))

    @classmethod
    def from_dict(cls, arrays: Mapping[str, object]) -> OfflineDataset:
        missing = [key for key in ARRAY_KEYS if key not in arrays]
        if missing:
            raise ValueError(f"offline dataset lacks {', '.join(missing)}")
        metadata = arrays.get("metadata", {})
        if not isinstance(metadata, dict):
            metadata = _metadata_from_json(metadata)
        return cls(**{key: np.asarray(arrays[key]) for key in ARRAY_KEYS}, metadata=metadata)

    @classmethod
    def from_npz(cls, path: str | os.PathLike[str], feature_set: str | None = None) -> OfflineDataset:
        """Read a dataset, in ``feature_set`` when given; a missing or malformed file, or a
        feature set the file does not hold, raises ValueError naming it."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"offline dataset {path} does not exist or is not a file")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except Exception as error:  # noqa: BLE001 - any parse failure means "not a dataset"
            raise ValueError(f"offline dataset {path} is not a readable .npz file ({error})") from error
        try:
            if feature_set is not None:
                arrays = _select_feature_set(arrays, feature_set)
            return cls.from_dict(arrays)
        except ValueError as error:
            raise ValueError(f"offline dataset {path} is malformed: {error}") from error

    def to_npz(self, path: str | os.PathLike[str]) -> None:
        """Write the dataset in the format ``from_npz`` reads (compressed, no pickles)."""
        arrays = {key: getattr(self, key) for key in ARRAY_KEYS}
        with open(path, "wb") as handle:
            np.savez_compressed(handle, **arrays, metadata=np.array(json.dumps(self.metadata)))


def _metadata_from_json(value: object) -> dict:
    try:
        parsed = json.loads(str(np.asarray(value)[()]))
    except (TypeError, ValueError) as error:
        raise ValueError(f"metadata is not a JSON string ({error})") from error
    if not isinstance(parsed, dict):
        raise ValueError("metadata JSON must be an object")
    return parsed


def stored_feature_sets(arrays: Mapping[str, object]) -> tuple[str, ...]:
    """The feature sets a dataset's arrays hold under ``states_<set>``."""
    return tuple(fs for fs in FEATURE_SETS if f"states_{fs}" in arrays and f"next_states_{fs}" in arrays)


def _select_feature_set(arrays: dict, feature_set: str) -> dict:
    """``arrays`` with ``states``/``next_states`` (and the metadata) in ``feature_set``."""
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {feature_set!r}; choose none, seed or full")
    metadata = arrays.get("metadata", {})
    metadata = dict(metadata) if isinstance(metadata, dict) else _metadata_from_json(metadata)
    if feature_set in stored_feature_sets(arrays):
        arrays = dict(arrays, states=arrays[f"states_{feature_set}"], next_states=arrays[f"next_states_{feature_set}"])
    elif metadata.get("feature_set") != feature_set:
        held = ", ".join(stored_feature_sets(arrays)) or str(metadata.get("feature_set", "unknown"))
        raise ValueError(f"it holds no '{feature_set}' states (only {held}); collect it again to train on them")
    metadata.update(feature_set=feature_set, state_dim=FEATURE_SETS[feature_set],
                    feature_names=list(feature_names(feature_set)))  # fmt: skip
    return dict(arrays, metadata=metadata)
