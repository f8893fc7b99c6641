"""A dataset is checked whole before the first training step, so that ``esper-iql train`` never
trains every step and then fails at save, or trains on values that can only give NaN losses.

``OfflineDataset`` already checks shapes, dtypes, finiteness and masks; here: the file itself
(a FIFO or device would block or never end), its size, the magnitudes, a feature width that the
loaders and the dashboard accept, and metadata that the checkpoint can store.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np

from training.env.features import FEATURE_SETS
from training.policies.offline_data import OfflineDataset, file_kind
from training.util.safe_io import PathError, check_input_file

MAX_DATASET_BYTES = 4 * 2**30
# What the archive may unpack to, by the sizes its directory declares (read before a byte is
# inflated: a zip bomb of a few MB declaring GiBs is refused at once). A transition with all
# three feature sets stored takes under 1 kB, so this is about a million transitions.
MAX_UNPACKED_BYTES = 2**30
MAX_MEMBERS = 256  # arrays in the archive; a dataset has about twenty
MAX_MAGNITUDE = 1e6  # raw features and rewards are accuracies, losses, norms: far below this
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a member, or an empty archive
NPY_MAGIC = b"\x93NUMPY"


def validate_for_training(dataset: OfflineDataset) -> None:
    """Raise ``ValueError`` (one sentence) for a dataset that training would choke on."""
    if dataset.state_dim not in FEATURE_SETS.values():
        widths = ", ".join(f"{dim} ({name})" for name, dim in FEATURE_SETS.items())
        raise ValueError(
            f"its states have {dataset.state_dim} features; the policies read {widths}"
        )
    if (
        dataset.feature_set not in FEATURE_SETS
        or FEATURE_SETS[dataset.feature_set] != dataset.state_dim
    ):
        raise ValueError(
            f"its metadata names feature set {dataset.feature_set[:40]!r}, "
            f"which does not have {dataset.state_dim} features"
        )
    for key in ("states", "next_states", "rewards", "dones"):
        if np.iscomplexobj(getattr(dataset, key)):
            raise ValueError(f"{key} holds complex numbers")
    for key in ("states", "next_states", "rewards"):
        values = np.asarray(getattr(dataset, key), dtype=np.float64)
        peak = float(np.abs(values).max()) if values.size else 0.0
        if peak > MAX_MAGNITUDE:
            raise ValueError(
                f"{key} reach {peak:.3g}, beyond the {MAX_MAGNITUDE:.0e} any real run produces"
            )
    try:
        json.dumps(dataset.metadata, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as error:
        raise ValueError(
            f"its metadata cannot be stored in a checkpoint ({type(error).__name__})"
        ) from None


def check_archive(path: Path, max_unpacked: int = MAX_UNPACKED_BYTES) -> None:
    """An .npz is a zip of .npy arrays: anything else (a text file, one .npy array, a pickle)
    is named as what it is, before numpy guesses at it (and advises loading it unsafely), and
    an archive is refused by the unpacked sizes it declares before anything is inflated.
    ``ValueError`` (one sentence) otherwise."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as error:
        raise ValueError(
            f"cannot read offline dataset {path}: {error.strerror or type(error).__name__}"
        ) from None
    if head.startswith(NPY_MAGIC):
        raise ValueError(
            f"offline dataset {path} is a single .npy array, not an .npz dataset (esper-iql collect writes one)"
        )
    if not head.startswith(ZIP_MAGIC):
        raise ValueError(
            f"offline dataset {path} is {file_kind(path)}, not an .npz dataset "
            "(esper-iql collect writes one)"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise ValueError(
            f"offline dataset {path} is a corrupt .npz archive ({type(error).__name__})"
        ) from None
    if len(members) > MAX_MEMBERS:
        raise ValueError(
            f"offline dataset {path} holds {len(members)} arrays; a dataset has about twenty"
        )
    declared = sum(member.file_size for member in members)
    if declared > max_unpacked:
        raise ValueError(
            f"offline dataset {path} declares {declared / 2**20:,.0f} MiB once unpacked, more than the "
            f"{max_unpacked / 2**20:,.0f} MiB allowed; it was not unpacked"
        )


def load_training_dataset(
    path: str | os.PathLike[str], feature_set: str | None = None
) -> OfflineDataset:
    """Read and check a dataset; every problem is a ``ValueError`` naming the file."""
    try:
        checked = check_input_file(path, "offline dataset", MAX_DATASET_BYTES)
    except PathError as error:
        raise ValueError(str(error)) from None
    check_archive(checked)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. complex values cast to real: refuse, never print
            dataset = OfflineDataset.from_npz(checked, feature_set)
    except (RecursionError, MemoryError, OverflowError, Warning) as error:
        raise ValueError(
            f"offline dataset {checked} is malformed ({type(error).__name__})"
        ) from None
    try:
        validate_for_training(dataset)
    except ValueError as error:
        raise ValueError(f"offline dataset {checked} cannot be trained on: {error}") from None
    return dataset
