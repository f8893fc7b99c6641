"""The offline dataset: transitions (s, a, r, s', done) of a behaviour policy, how they are built
from a run's records, and their one file format (an .npz) with its one writer and one reader.

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
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from training.env.actions import ACTION_DIM
from training.env.features import ALL_FEATURE_SETS, FEATURE_SETS, feature_names, feature_set_for_dim
from training.records import EpochRecord, Record

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
    # The same states under every feature set the collection stored (``states_<set>`` in the
    # file); empty when only ``states`` is known.
    by_set: dict[str, np.ndarray] = field(default_factory=dict)
    next_by_set: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        arrays = {key: np.asarray(getattr(self, key)) for key in ARRAY_KEYS}
        for key, value in arrays.items():
            object.__setattr__(self, key, value)
        states, actions = arrays["states"], arrays["actions"]
        if states.ndim != 2 or states.shape[1] == 0:
            raise ValueError(f"states must be an [N, D] array, got shape {states.shape}")
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
            raise ValueError(
                f"dones must be 0 or 1 (the episode ended or not); {odd.size} are not, e.g. {float(odd.flat[0]):g}"
            )
        if not np.issubdtype(actions.dtype, np.integer):
            raise ValueError(f"actions must be integers, got {actions.dtype}")
        if n and (actions.min() < 0 or actions.max() >= ACTION_DIM):
            raise ValueError(f"actions must lie in 0..{ACTION_DIM - 1}")
        for key in ("masks", "next_masks"):
            if arrays[key].dtype != np.bool_:
                raise ValueError(f"{key} must be boolean, got {arrays[key].dtype}")
        invalid = ~arrays["masks"][np.arange(n), actions]
        if invalid.any():
            raise ValueError(f"{int(invalid.sum())} transitions take an action their mask forbids")
        if not isinstance(self.metadata, dict):
            raise ValueError("metadata must be a dict")
        if set(self.by_set) != set(self.next_by_set) or not set(self.by_set) <= set(FEATURE_SETS):
            raise ValueError(
                f"stored feature sets {sorted(self.by_set)} and {sorted(self.next_by_set)} differ "
                f"or are not among {', '.join(FEATURE_SETS)}"
            )
        for name in ("by_set", "next_by_set"):
            held = {
                fs: np.asarray(values, dtype=np.float32)
                for fs, values in getattr(self, name).items()
            }
            for fs, values in held.items():
                if values.shape != (n, FEATURE_SETS[fs]):
                    raise ValueError(
                        f"the '{fs}' states have shape {values.shape}, expected {(n, FEATURE_SETS[fs])}"
                    )
                if not np.isfinite(values).all():
                    raise ValueError(f"the '{fs}' states contain NaN or infinite values")
            object.__setattr__(self, name, held)

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
        states = np.asarray(arrays["states"])
        if states.ndim != 2 or states.shape[0] == 0 or states.shape[1] == 0:
            raise ValueError(f"states must be a non-empty [N, D] array, got shape {states.shape}")
        metadata = arrays.get("metadata", {})
        if not isinstance(metadata, dict):
            metadata = _metadata_from_json(metadata)
        a = {key: np.asarray(arrays[key]) for key in ARRAY_KEYS}
        return cls(
            a["states"],
            a["actions"],
            a["rewards"],
            a["next_states"],
            a["dones"],
            a["masks"],
            a["next_masks"],
            metadata,
        )

    @classmethod
    def concatenate(
        cls, parts: Sequence[OfflineDataset], feature_set: str, metadata: dict | None = None
    ) -> OfflineDataset:
        """Episodes' transitions joined in the given (episode) order; ``states`` in ``feature_set``."""
        parts = [p for p in parts if len(p)]
        sets = tuple(parts[0].by_set) if parts else ALL_FEATURE_SETS

        def cat(arrays: list[np.ndarray], dtype, width: int | None) -> np.ndarray:
            if arrays:
                return np.concatenate(arrays).astype(dtype, copy=False)
            return np.zeros((0,) if width is None else (0, width), dtype=dtype)

        by_set = {
            fs: cat([p.by_set[fs] for p in parts], np.float32, FEATURE_SETS[fs]) for fs in sets
        }
        next_by_set = {
            fs: cat([p.next_by_set[fs] for p in parts], np.float32, FEATURE_SETS[fs]) for fs in sets
        }
        return cls(
            states=by_set[feature_set],
            actions=cat([p.actions for p in parts], np.int64, None),
            rewards=cat([p.rewards for p in parts], np.float32, None),
            next_states=next_by_set[feature_set],
            dones=cat([p.dones for p in parts], np.float32, None),
            masks=cat([p.masks for p in parts], bool, ACTION_DIM),
            next_masks=cat([p.next_masks for p in parts], bool, ACTION_DIM),
            metadata=dict(metadata or {}),
            by_set=by_set,
            next_by_set=next_by_set,
        )

    @classmethod
    def from_npz(
        cls, path: str | os.PathLike[str], feature_set: str | None = None
    ) -> OfflineDataset:
        """Read a dataset, in ``feature_set`` when given; a missing or malformed file, or a
        feature set the file does not hold, raises ValueError naming it."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"offline dataset {path} does not exist or is not a file")
        what = file_kind(path)
        if what is not None:
            raise ValueError(
                f"{path} is {what}, not an .npz dataset (esper-iql collect -o FILE.npz writes one)"
            )
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except Exception as error:  # noqa: BLE001 - any parse failure means "not a dataset"
            # numpy's own message would advise allow_pickle=True: never pass that on
            raise ValueError(
                f"offline dataset {path} is a damaged .npz file ({type(error).__name__})"
            ) from None
        try:
            if feature_set is not None:
                arrays = _select_feature_set(arrays, feature_set)
            return cls.from_dict(arrays)
        except ValueError as error:
            raise ValueError(f"offline dataset {path} is malformed: {error}") from error

    def to_npz(self, path: str | os.PathLike[str]) -> None:
        """Write the dataset in the format ``from_npz`` reads (compressed, no pickles):
        ``states``/``next_states`` in its own feature set (what older readers expect), and
        ``states_<set>``/``next_states_<set>`` for every feature set it holds."""
        if len(self) == 0:
            raise ValueError("no transitions were collected (an episode needs at least 2 epochs)")
        arrays = {key: getattr(self, key) for key in ARRAY_KEYS}
        for fs in self.by_set:
            arrays[f"states_{fs}"] = self.by_set[fs]
            arrays[f"next_states_{fs}"] = self.next_by_set[fs]
        with open(path, "wb") as handle:
            np.savez_compressed(handle, **arrays, metadata=np.asarray(json.dumps(self.metadata)))  # type: ignore[arg-type]  # numpy stubs: **kwds could fill allow_pickle


def file_kind(path: Path) -> str | None:
    """What a file that is not an .npz dataset is, in words ("a PyTorch checkpoint"); None for
    a zip that holds arrays (an .npz). Reads the first bytes and, for a zip, its member names."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError as error:
        return f"unreadable ({error.strerror})"
    if not head:
        return "empty"
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return "a damaged zip archive"
        if any(name.endswith(".npy") for name in names):
            return None
        if any(name.endswith("data.pkl") for name in names):
            return "a PyTorch checkpoint"
        return "a zip archive that holds no arrays"
    if head.startswith(b"\x93NUMPY"):
        return "a single NumPy array (.npy)"
    if head[:1] == b"\x80":
        return "a Python pickle, which esper-iql never loads"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{") and b'"kind"' in text:
        return "a JSON-lines record"
    if text.startswith((b"{", b"[")):
        return "a JSON file"
    if b"\0" not in head:
        return "a text file"
    return "a file of unknown contents"


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
    return tuple(
        fs for fs in FEATURE_SETS if f"states_{fs}" in arrays and f"next_states_{fs}" in arrays
    )


def _select_feature_set(arrays: dict, feature_set: str) -> dict:
    """``arrays`` with ``states``/``next_states`` (and the metadata) in ``feature_set``."""
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {feature_set!r}; choose none, seed or full")
    metadata = arrays.get("metadata", {})
    metadata = dict(metadata) if isinstance(metadata, dict) else _metadata_from_json(metadata)
    if feature_set in stored_feature_sets(arrays):
        arrays = dict(
            arrays,
            states=arrays[f"states_{feature_set}"],
            next_states=arrays[f"next_states_{feature_set}"],
        )
    elif metadata.get("feature_set") != feature_set:
        held = ", ".join(stored_feature_sets(arrays)) or str(metadata.get("feature_set", "unknown"))
        raise ValueError(
            f"it holds no '{feature_set}' states (only {held}); collect it again to train on them"
        )
    metadata.update(
        feature_set=feature_set,
        state_dim=FEATURE_SETS[feature_set],
        feature_names=list(feature_names(feature_set)),
    )
    return dict(arrays, metadata=metadata)


@dataclass
class TransitionBuilder:
    """A sink that turns each lane's epoch records into transitions as they arrive. ``add``
    takes the state under every feature set beside the record (``EpsilonHeuristic.last_features``);
    a plain call uses only the record's own feature vector."""

    feature_set: str = "seed"
    actions: list[int] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    dones: list[bool] = field(default_factory=list)
    masks: list[tuple[bool, ...]] = field(default_factory=list)
    next_masks: list[tuple[bool, ...]] = field(default_factory=list)
    by_set: dict[str, list[tuple[float, ...]]] = field(default_factory=dict)
    next_by_set: dict[str, list[tuple[float, ...]]] = field(default_factory=dict)
    _last: dict[tuple[int, str], tuple[EpochRecord, dict]] = field(default_factory=dict)

    def __call__(self, record: Record) -> None:
        if isinstance(record, EpochRecord) and record.decision is not None:
            if record.decision.features is None:  # no state to learn from; never a silent gap
                raise ValueError(
                    f"the decision of {record.lane!r} at epoch {record.epoch} has no features"
                )
            self.add(record, {self.feature_set: record.decision.features})

    def add(self, record: EpochRecord, features: dict[str, tuple[float, ...]]) -> None:
        if record.decision is None:
            return
        key = (record.episode, record.lane)
        previous = self._last.get(key)
        if previous is not None and (prev_decision := previous[0].decision) is not None:
            prev_features = previous[1]
            self.actions.append(prev_decision.action)
            self.rewards.append(record.reward)
            self.dones.append(record.epoch >= record.max_epochs)
            self.masks.append(prev_decision.action_mask)
            self.next_masks.append(record.decision.action_mask)
            for fs, state in prev_features.items():
                self.by_set.setdefault(fs, []).append(state)
                self.next_by_set.setdefault(fs, []).append(features[fs])
        self._last[key] = (record, features)

    def __len__(self) -> int:
        return len(self.actions)

    def dataset(self, metadata: dict | None = None) -> OfflineDataset:
        """The transitions so far; ``states`` in the builder's feature set."""
        sets = tuple(self.by_set) or (self.feature_set,)
        by_set = {fs: _rows(self.by_set.get(fs, []), FEATURE_SETS[fs]) for fs in sets}
        next_by_set = {fs: _rows(self.next_by_set.get(fs, []), FEATURE_SETS[fs]) for fs in sets}
        return OfflineDataset(
            states=by_set[self.feature_set],
            actions=np.asarray(self.actions, dtype=np.int64),
            rewards=np.asarray(self.rewards, dtype=np.float32),
            next_states=next_by_set[self.feature_set],
            dones=np.asarray(self.dones, dtype=np.float32),
            masks=np.asarray(self.masks, dtype=bool).reshape(-1, ACTION_DIM),
            next_masks=np.asarray(self.next_masks, dtype=bool).reshape(-1, ACTION_DIM),
            metadata=dict(metadata or {}),
            by_set=by_set,
            next_by_set=next_by_set,
        )


def _rows(rows: list, width: int) -> np.ndarray:
    return np.asarray(rows, dtype=np.float32).reshape(-1, width)
