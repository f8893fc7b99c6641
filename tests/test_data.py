"""The image tasks."""

import pytest
import torch

from training.env.data import DataConfig, DataError, load_task, preflight


def test_synthetic_is_identical_for_identical_seeds():
    a = load_task(DataConfig(preset="tiny", seed=4))
    b = load_task(DataConfig(preset="tiny", seed=4))
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_val, b.y_val)


def test_different_seeds_give_different_images():
    a = load_task(DataConfig(preset="tiny", seed=4))
    b = load_task(DataConfig(preset="tiny", seed=5))
    assert not torch.equal(a.x_train, b.x_train)


def test_tiny_has_a_few_hundred_standardised_images_of_ten_classes():
    task = load_task(DataConfig(preset="tiny"))
    assert 100 <= task.train_size <= 1000 and task.x_train.shape[1:] == (3, 32, 32)
    assert set(task.y_train.tolist()) == set(range(10))
    assert abs(task.x_train.mean().item()) < 0.05 and abs(task.x_train.std().item() - 1) < 0.05


def test_batch_order_depends_only_on_seed_and_epoch():
    task = load_task(DataConfig(preset="tiny"))
    first = [y.tolist() for _, y in task.train_batches(3, seed=9)]
    again = [y.tolist() for _, y in task.train_batches(3, seed=9)]
    other = [y.tolist() for _, y in task.train_batches(4, seed=9)]
    assert first == again and first != other


def test_unknown_preset_names_the_choices():
    with pytest.raises(DataError, match="synthetic, tiny, cifar10"):
        DataConfig(preset="imagenet")


def test_missing_cifar10_names_the_folder_and_the_flag(tmp_path):
    with pytest.raises(DataError, match=f"{tmp_path}.*--download"):
        load_task(DataConfig(preset="cifar10", data_dir=tmp_path))


def test_cifar10_needs_a_data_dir():
    with pytest.raises(DataError, match="--data-dir"):
        preflight(DataConfig(preset="cifar10"))
