"""Data files as users have them: every PIL image mode, junk and truncated files, CIFAR-10's binary batches."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.data.base import DataRequest
from ganzoo.data.folder import ImageFiles, load_folder
from ganzoo.data.vision import CIFAR10_FOLDER, CIFAR10_RECORD, load_cifar10
from ganzoo.errors import DataError

MID_GREY = {  # a mid-grey image in each mode, as cameras, scanners and editors write them
    "1": (Image.new("1", (8, 8), 1), 1.0),
    "L": (Image.new("L", (8, 8), 128), 0.0),
    "P": (Image.new("L", (8, 8), 128).convert("P"), 0.0),
    "RGB": (Image.new("RGB", (8, 8), (128, 128, 128)), 0.0),
    "CMYK": (Image.new("RGB", (8, 8), (128, 128, 128)).convert("CMYK"), 0.0),
    "YCbCr": (Image.new("RGB", (8, 8), (128, 128, 128)).convert("YCbCr"), 0.0),
    "I;16": (Image.fromarray(np.full((8, 8), 32896, dtype=np.uint16)), 0.0),
    "I": (Image.fromarray(np.full((8, 8), 32896, dtype=np.int32)), 0.0),
    "F": (Image.fromarray(np.full((8, 8), 0.502, dtype=np.float32)), 0.0),
    "RGBA transparent": (Image.new("RGBA", (8, 8), (0, 0, 0, 0)), 1.0),  # nothing drawn: white paper
    "LA half": (Image.new("LA", (8, 8), (0, 128)), 0.0),  # black at half opacity over white
}


@pytest.mark.parametrize("mode", sorted(MID_GREY))
@pytest.mark.parametrize("channels", [1, 3])
def test_every_image_mode_becomes_the_expected_grey_level(tmp_path, mode, channels):
    image, expected = MID_GREY[mode]
    path = tmp_path / "image.tiff"
    image.save(path)
    x, label = ImageFiles([path], [0], 16, channels)[0]
    assert x.shape == (channels, 16, 16) and label == 0
    assert x.min() >= -1 and x.max() <= 1
    assert float(x.mean()) == pytest.approx(expected, abs=0.02), f"{mode} -> {float(x.mean())}"


def write_images(folder, n=12, size=16):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(folder / f"{i:02d}.jpg")
    return folder


def test_junk_files_are_skipped_with_a_count_and_training_goes_on(tmp_path, caplog):
    images = write_images(tmp_path / "images")
    (images / "notes.txt").write_text("not an image")
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (images / "empty.jpg").write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        result = ganzoo.train("dcgan", dataset="folder", data_root=images, steps=2, batch_size=4, out=tmp_path / "run",
                              progress=False, g_width=8, d_width=8, latent_dim=16)
    assert result.step == 2
    assert "folder: skipped 3 files that are not readable images" in caplog.text


def test_a_truncated_jpeg_is_replaced_by_the_next_image_with_a_warning(tmp_path, caplog):
    images = write_images(tmp_path / "images", n=3, size=64)
    whole = (images / "01.jpg").read_bytes()
    (images / "01.jpg").write_bytes(whole[: len(whole) // 2])  # its header still passes the scan
    data = load_folder(DataRequest(root=images, image_size=16))
    assert len(data) == 3
    files = data.dataset
    with caplog.at_level(logging.WARNING):
        replaced, _ = files[1]
    assert torch.equal(replaced, files[2][0])
    assert f"folder: cannot decode {images / '01.jpg'}" in caplog.text and "using the next readable image" in caplog.text


def write_cifar_batch(path, labels, seed):
    rng = np.random.default_rng(seed)
    records = rng.integers(0, 255, (len(labels), CIFAR10_RECORD), dtype=np.uint8)
    records[:, 0] = labels
    path.write_bytes(records.tobytes())
    return records


def test_cifar10_reads_the_binary_batches_without_unpickling(tmp_path):
    folder = tmp_path / CIFAR10_FOLDER
    folder.mkdir()
    for i in range(1, 6):
        write_cifar_batch(folder / f"data_batch_{i}.bin", [i, 9, 0], seed=i)
    test = write_cifar_batch(folder / "test_batch.bin", [3, 4], seed=9)
    train = load_cifar10(DataRequest(root=tmp_path, split="train"))
    assert len(train) == 15 and train.labels.tolist()[:6] == [1, 9, 0, 2, 9, 0]
    loaded = load_cifar10(DataRequest(root=tmp_path, split="test"))
    assert loaded.info.shape == (3, 32, 32) and loaded.labels.tolist() == [3, 4]
    # record layout: label, then 1024 red, 1024 green, 1024 blue bytes, row-major
    assert loaded.x[1, 1, 0, 5].item() == test[1, 1 + 1024 + 5]


def test_a_file_that_is_not_a_cifar_batch_is_a_clear_error(tmp_path):
    folder = tmp_path / CIFAR10_FOLDER
    folder.mkdir()
    (folder / "test_batch.bin").write_bytes(b"\x00" * 1000)
    with pytest.raises(DataError, match="not a CIFAR-10 binary batch"):
        load_cifar10(DataRequest(root=tmp_path, split="test"))
