"""Datasets: digits offline, the resumable batch order, torchvision layouts, folders, clear errors."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from ganzoo.data.base import DataRequest, index_batches
from ganzoo.data.digits import load_digits
from ganzoo.data.folder import load_folder
from ganzoo.data.toy2d import grid_mixture, mixture_loader, ring_mixture
from ganzoo.data.vision import load_cifar10, load_mnist
from ganzoo.errors import DataError


def test_digits_is_offline_32x32_in_unit_range_with_a_fixed_split():
    train = load_digits(DataRequest(split="train"))
    test = load_digits(DataRequest(split="test"))
    assert len(train) + len(test) == 1797 and len(test) == 360
    assert train.info.shape == (1, 32, 32) and train.info.num_classes == 10
    assert train.x.min() >= -1 and train.x.max() <= 1 and train.x.max() > 0.9
    assert torch.bincount(test.labels).min() >= 35  # stratified: every class in the test split
    again = load_digits(DataRequest(split="train"))
    assert torch.equal(train.x, again.x)


def test_digits_rejects_unknown_split():
    with pytest.raises(DataError, match="splits train, test, all"):
        load_digits(DataRequest(split="validation"))


def test_batch_order_is_a_function_of_seed_and_position():
    full = [b.tolist() for _, b in zip(range(12), index_batches(50, 8, seed=3), strict=False)]
    resumed = [b.tolist() for _, b in zip(range(5), index_batches(50, 8, seed=3, start=7), strict=False)]
    assert resumed == full[7:12]
    other = [b.tolist() for _, b in zip(range(12), index_batches(50, 8, seed=4), strict=False)]
    assert other != full
    epoch = sorted(i for batch in full[:6] for i in batch)  # 6 batches per epoch of 50, drop-last
    assert len(set(epoch)) == 48


def test_two_ranks_split_each_global_batch():
    r0 = next(index_batches(40, 4, seed=1, rank=0, world_size=2)).tolist()
    r1 = next(index_batches(40, 4, seed=1, rank=1, world_size=2)).tolist()
    single = next(index_batches(40, 8, seed=1)).tolist()
    assert r0 + r1 == single


def test_batch_larger_than_dataset_is_a_clear_error():
    with pytest.raises(DataError, match="larger than the dataset"):
        next(index_batches(10, 64, seed=0))


def test_mnist_test_split_from_shared_data(shared_data):
    data = load_mnist(DataRequest(root=shared_data, split="test", image_size=32))
    assert len(data) == 10_000 and data.info.shape == (1, 32, 32)
    assert torch.bincount(data.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    batch = next(data.batches(16, seed=0))
    assert batch.x.shape == (16, 1, 32, 32) and -1 <= batch.x.min() and batch.x.max() <= 1


def test_missing_mnist_says_where_it_looked_and_how_to_fix(tmp_path):
    with pytest.raises(DataError) as info:
        load_mnist(DataRequest(root=tmp_path, split="train"))
    message = str(info.value)
    assert str(tmp_path / "MNIST" / "raw") in message and "--data-root" in message and "--download" in message


def test_missing_cifar_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="cifar10: no train files"):
        load_cifar10(DataRequest(root=tmp_path))


def test_folder_with_classes_converts_modes_and_skips_junk(tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "dogs").mkdir()
    Image.new("L", (20, 30), 128).save(tmp_path / "cats" / "gray.png")
    Image.new("RGBA", (16, 16), (255, 0, 0, 128)).save(tmp_path / "cats" / "rgba.png")
    Image.new("P", (16, 16)).save(tmp_path / "dogs" / "palette.gif")
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    (tmp_path / "dogs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    data = load_folder(DataRequest(root=tmp_path, image_size=16, options={"channels": 3}))
    assert len(data) == 3 and data.info.num_classes == 2 and data.info.shape == (3, 16, 16)
    batch = next(data.iterate(8))
    assert batch.x.shape == (3, 3, 16, 16) and sorted(batch.labels.tolist()) == [0, 0, 1]


@pytest.mark.parametrize("setup,message", [
    (lambda p: p / "missing", "does not exist"),
    (lambda p: p, "no readable images"),
])
def test_folder_errors(tmp_path, setup, message):
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(DataError, match=message):
        load_folder(DataRequest(root=setup(tmp_path)))


def test_toy_mixtures_match_the_papers():
    ring, grid = ring_mixture(), grid_mixture()
    assert len(ring.modes) == 8 and ring.std == 0.01
    assert torch.allclose(ring.modes.norm(dim=1), torch.ones(8))
    assert len(grid.modes) == 25 and grid.std == 0.05 and set(grid.modes[:, 0].tolist()) == {-4, -2, 0, 2, 4}
    data = mixture_loader("grid")(DataRequest())
    assert data.info.modality == "points" and data.x.shape[1] == 2
