"""The ``cifar10`` preset through its real loading code: torchvision's CIFAR10 reads a small data
set written here in torchvision's on-disk format (``cifar-10-batches-py``: five pickled training
batches, a test batch and ``batches.meta``), and one episode runs end to end on it."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets.cifar

from esper_tui.cli.iql import main
from training.env.data import CIFAR10_CLASSES, DataConfig, DataError, load_task

MODEL = Path(__file__).parent / "fixtures" / "tiny_iql.pt"
TRAIN_PER_CLASS, TEST_PER_CLASS = 30, 8


def write_cifar10(root: Path, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """A few dozen images per class in torchvision's layout; returns the training images (N, 32,
    32, 3) and labels in file order. Each class has its own mean colour, so it can be learned."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)

    def images(per_class: int) -> tuple[np.ndarray, list[int]]:
        labels = [c for c in range(10) for _ in range(per_class)]
        order = rng.permutation(len(labels))
        labels = [labels[i] for i in order]
        base = np.array([[25 * c, 255 - 25 * c, 128] for c in labels], dtype=np.float64)[
            :, None, None, :
        ]
        pixels = np.clip(base + rng.normal(0, 40, (len(labels), 32, 32, 3)), 0, 255).astype(
            np.uint8
        )
        return pixels, labels

    def batch(pixels: np.ndarray, labels: list[int], name: str) -> None:
        # channel planes, as CIFAR stores them
        rows = pixels.transpose(0, 3, 1, 2).reshape(len(labels), 3072)
        with open(folder / name, "wb") as handle:
            pickle.dump(
                {"batch_label": name, "labels": labels, "data": rows, "filenames": []}, handle
            )

    train_pixels, train_labels = images(TRAIN_PER_CLASS)
    per_batch = len(train_labels) // 5
    for k in range(5):
        part = slice(k * per_batch, (k + 1) * per_batch)
        batch(train_pixels[part], train_labels[part], f"data_batch_{k + 1}")
    test_pixels, test_labels = images(TEST_PER_CLASS)
    batch(test_pixels, test_labels, "test_batch")
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump(
            {"label_names": list(CIFAR10_CLASSES), "num_cases_per_batch": per_batch}, handle
        )
    return train_pixels, train_labels


@pytest.fixture
def without_checksums(monkeypatch):
    """torchvision checks every file against the MD5 of the real archive, which a generated data
    set cannot match: this fixture, in this test file only, lets a file that exists pass."""
    monkeypatch.setattr(
        torchvision.datasets.cifar, "check_integrity", lambda path, md5=None: Path(path).is_file()
    )


def test_the_loader_reads_torchvisions_format_into_normalised_tensors(tmp_path, without_checksums):
    pixels, labels = write_cifar10(tmp_path)
    task = load_task(DataConfig(preset="cifar10", data_dir=tmp_path, seed=3))
    assert task.name == "cifar10" and task.class_names == CIFAR10_CLASSES
    assert tuple(task.x_train.shape) == (10 * TRAIN_PER_CLASS, 3, 32, 32)
    assert tuple(task.x_val.shape) == (10 * TEST_PER_CLASS, 3, 32, 32)
    assert task.y_train.tolist() == labels and task.batch_size == 128
    mean = torch.tensor((0.4914, 0.4822, 0.4465)).view(3, 1, 1)
    std = torch.tensor((0.2470, 0.2435, 0.2616)).view(3, 1, 1)
    first = torch.from_numpy(pixels[0]).permute(2, 0, 1).float() / 255.0
    assert torch.allclose(task.x_train[0], (first - mean) / std, atol=1e-6)


def test_one_episode_runs_end_to_end_on_cifar10(tmp_path, without_checksums):
    write_cifar10(tmp_path / "data")
    data, report_path = str(tmp_path / "data"), str(tmp_path / "report.json")
    flags = "--preset cifar10 --episodes 1 --epochs 2 --device cpu".split()
    code = main(
        ["compare", "--model", str(MODEL), *flags, "--data-dir", data, "--report", report_path]
    )
    assert code == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["preset"] == "cifar10" and report["episodes"] == 1
    for lane in report["lanes"].values():
        assert len(lane["final_accuracy"]) == 1 and 0.0 <= lane["final_accuracy"][0] <= 100.0
        assert sum(lane["actions"].values()) == 2


def test_files_that_fail_torchvisions_checksums_are_one_sentence(tmp_path):
    write_cifar10(tmp_path)  # the real integrity check: a generated file is not the real archive
    with pytest.raises(DataError, match=r"could not load CIFAR-10 from .*corrupted"):
        load_task(DataConfig(preset="cifar10", data_dir=tmp_path))
