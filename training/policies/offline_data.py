"""The offline dataset ``esper-iql collect`` writes and ``esper-iql train`` reads (an .npz).

Arrays: ``states`` float32 [N, D], ``actions`` int64 [N], ``rewards`` float32 [N],
``next_states`` float32 [N, D], ``dones`` [N], ``masks`` bool [N, 7] (valid actions at s),
``next_masks`` bool [N, 7], and ``metadata``, a 0-d string array holding JSON. Loaded with
``allow_pickle=False``: nothing in the file is executed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from training.actions import ACTION_DIM
from training.features import feature_set_for_dim

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
    def from_npz(cls, path: str | os.PathLike[str]) -> OfflineDataset:
        """Read a dataset; a missing or malformed file raises ValueError naming it."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"offline dataset {path} does not exist or is not a file")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except Exception as error:  # noqa: BLE001 - any parse failure means "not a dataset"
            raise ValueError(f"offline dataset {path} is not a readable .npz file ({error})") from error
        try:
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
