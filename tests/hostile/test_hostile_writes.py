"""Writes that fail and inputs that lie about their size: a full disk (a small real filesystem
where one can be mounted, an injected ENOSPC everywhere), a read-only or immutable folder, a
zip that declares gigabytes, a dataset whose dones are not 0 or 1. Each is one sentence naming
the file and the cause; no temporary file is left; finished work is saved elsewhere and named."""

import errno
import os
import shutil
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from training.policies.dataset_checks import load_training_dataset
from training.policies.offline_data import OfflineDataset
from training.util.safe_io import (
    PathError,
    WriteFailed,
    atomic_write,
    check_input_dir,
    check_output_file,
    write_or_rescue,
)

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "tests" / "fixtures" / "tiny_iql.pt"


def dataset(path: Path, n: int = 32, dones=None) -> Path:
    rng = np.random.default_rng(0)
    masks = np.ones((n, 7), dtype=bool)
    states = rng.normal(size=(n, 37)).astype(np.float32)
    done = np.zeros(n, np.float32) if dones is None else dones
    np.savez(
        path,
        states=states,
        actions=rng.integers(0, 7, n),
        rewards=rng.normal(size=n).astype(np.float32),
        next_states=states,
        dones=done,
        masks=masks,
        next_masks=masks,
        metadata=np.asarray('{"feature_set": "seed"}'),
    )
    return path


def run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


@pytest.fixture
def small_fs(tmp_path):
    """A 96 KiB tmpfs: a real full disk. Skipped where mounting is not allowed."""
    mount = tmp_path / "small"
    mount.mkdir()
    if (
        os.geteuid() != 0
        or run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(mount)]).returncode
    ):
        pytest.skip("cannot mount a small filesystem here")
    yield mount
    run(["umount", str(mount)])


def test_a_regular_file_given_as_a_folder_is_named_as_one(tmp_path):
    (tmp_path / "passwd").write_text("root:x:0:0\n")
    with pytest.raises(PathError, match=r"passwd is a regular file, not a folder"):
        check_input_dir(tmp_path / "passwd", "--data-dir")


def test_dones_must_be_0_or_1(tmp_path):
    dones = np.zeros(32, np.float32)
    dones[5] = 2.0
    with pytest.raises(
        ValueError, match=r"dones must be 0 or 1 \(the episode ended or not\); 1 are not, e\.g\. 2$"
    ):
        load_training_dataset(dataset(tmp_path / "d.npz", dones=dones))


def test_a_zip_bomb_is_refused_by_the_size_it_declares_before_anything_is_inflated(
    tmp_path, monkeypatch
):
    path = dataset(tmp_path / "bomb.npz")
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")  # the first member's central directory entry
    # declares 4 GiB once unpacked
    data[central + 24 : central + 28] = struct.pack("<I", 0xFFFF0000)
    path.write_bytes(bytes(data))
    inflated = []
    monkeypatch.setattr(np, "load", lambda *a, **k: inflated.append(a))
    start = time.perf_counter()
    with pytest.raises(
        ValueError,
        match=r"bomb\.npz declares 4,096 MiB once unpacked, more than the 1,024 MiB "
        r"allowed; it was not unpacked",
    ):
        load_training_dataset(path)
    assert inflated == [] and time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"states,actions\n1,2\n", "is a text file"),
        (b"", "is empty"),
        (b"\x80\x04\x95 pickle", "is a Python pickle, which esper-iql never loads"),
    ],
    ids=["text", "empty", "pickle"],
)
def test_a_file_that_is_not_an_npz_is_named_as_what_it_is(tmp_path, content, said):
    path = tmp_path / "d.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError) as error:
        load_training_dataset(path)
    assert f"{said}, not an .npz dataset (esper-iql collect writes one)" in str(error.value), (
        error.value
    )
    assert "allow_pickle" not in str(error.value)


def test_a_single_npy_array_is_named_as_one(tmp_path):
    np.save(tmp_path / "d.npy", np.zeros(3))
    with pytest.raises(ValueError, match="is a single .npy array, not an .npz dataset"):
        load_training_dataset(tmp_path / "d.npy")


def test_finished_work_whose_write_fails_is_rescued_and_named(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    out = tmp_path / "out"
    out.mkdir()
    calls = []

    def write(tmp: Path) -> None:
        calls.append(tmp)
        if tmp.parent == out:
            tmp.write_bytes(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
        tmp.write_bytes(b"the whole report")

    with pytest.raises(WriteFailed) as failure:
        write_or_rescue(out / "report.json", write, "report")
    rescued = failure.value.rescued
    assert str(failure.value) == (
        f"cannot write report {out / 'report.json'}: No space left on device; "
        f"it was saved to {rescued} instead"
    )
    assert rescued.parent == tmp_path / "tmp" and rescued.read_bytes() == b"the whole report"
    assert rescued.name.startswith("report-rescued-") and rescued.suffix == ".json"
    assert list(out.iterdir()) == []  # no temporary file, no half report


def test_a_rescue_that_fails_too_says_so(tmp_path, monkeypatch):
    def write(tmp: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(WriteFailed, match="; it could not be saved elsewhere either$") as failure:
        write_or_rescue(tmp_path / "d.npz", write, "output")
    assert failure.value.rescued is None and list(tmp_path.iterdir()) == []


def test_a_checkpoint_on_a_full_disk_is_one_sentence_and_leaves_no_temporary_file(small_fs):
    import torch

    from training.policies.checkpoint import load_checkpoint, save_checkpoint

    model = load_checkpoint(MODEL)
    big = torch.nn.Linear(64, 1024)  # a checkpoint larger than the filesystem
    model.iql.q_network.net[0] = big
    with pytest.raises(
        PathError, match=r"^cannot write checkpoint .*/m\.pt: No space left on device$"
    ):
        atomic_write(
            small_fs / "m.pt",
            lambda tmp: save_checkpoint(tmp, model.iql, model.normalizer, model.feature_set, {}),
            "checkpoint",
        )
    assert list(small_fs.iterdir()) == []


def test_a_dataset_on_a_full_disk_is_one_sentence_and_leaves_no_temporary_file(small_fs, tmp_path):
    source = OfflineDataset.from_npz(dataset(tmp_path / "d.npz", n=4000))
    with pytest.raises(
        PathError, match=r"^cannot write output .*/d\.npz: No space left on device$"
    ):
        atomic_write(small_fs / "d.npz", source.to_npz, "output")
    assert list(small_fs.iterdir()) == []


def test_an_output_folder_that_cannot_take_a_file_is_refused_before_any_work(tmp_path):
    """A read-only filesystem or an immutable folder (root included) is refused with the
    cause, by the permission check or, where that passes, by a file tried there."""
    cases = []
    folder = tmp_path / "immutable"
    folder.mkdir()
    if shutil.which("chattr") and run(["chattr", "+i", str(folder)]).returncode == 0:
        cases.append((folder, "(operation not permitted|permission denied)"))
    readonly = tmp_path / "ro"
    readonly.mkdir()
    if (
        os.geteuid() == 0
        and run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(readonly)]).returncode
        == 0
    ):
        cases.append((readonly, "(read-only file system|permission denied)"))
    try:
        if not cases:
            pytest.skip("neither chattr nor mount is allowed here")
        for place, cause in cases:
            with pytest.raises(
                PathError, match=f"^cannot write report {place}/r.json: {cause} in folder {place}$"
            ):
                check_output_file(place / "r.json", "report", probe=True)
            assert list(place.iterdir()) == []
    finally:
        run(["chattr", "-i", str(folder)])
        run(["umount", str(readonly)])


def test_the_folder_probe_finds_what_permission_bits_do_not_show(tmp_path, monkeypatch):
    """E.g. root on a root-squashed NFS export, or a quota: ``access()`` says yes, a file cannot
    be made. Injected: the probe's file creation fails."""
    import tempfile

    def refused(*args, **kwargs):
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    assert check_output_file(tmp_path / "r.json", "report") == tmp_path / "r.json"
    with pytest.raises(
        PathError, match=f"^cannot write report {tmp_path}/r.json: disk quota exceeded in folder"
    ):
        check_output_file(tmp_path / "r.json", "report", probe=True)
