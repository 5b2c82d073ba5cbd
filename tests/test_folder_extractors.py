"""Folder datasets, honestly: a real held-out set, a folder that knows its identity, grey stays grey."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import ganzoo
from ganzoo.data.base import DataRequest
from ganzoo.data.folder import load_folder, scan_folder
from ganzoo.errors import ConfigError, DataError
from ganzoo.metrics.extractors import read_domain_meta

TINY = {"g_width": 8, "d_width": 8, "latent_dim": 16}


def write_folder(root, per_class=10, classes=("a", "b"), mode="L", seed=0):
    """Class sub-folders of small PNGs: class k is brighter on the left or right half, with noise."""
    rng = np.random.default_rng(seed)
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 80, (16, 16), dtype=np.uint8)
            pixels[:, k * 8 : k * 8 + 8] += 150
            image = Image.fromarray(pixels)
            (image if mode == "L" else image.convert(mode)).save(root / name / f"{i:03d}.png")
    return root


# ---- 1. a held-out set the classifier never saw ----------------------------------------------------
def test_a_folder_holds_out_a_seeded_fifth_of_its_images(tmp_path):
    images = write_folder(tmp_path / "shapes", per_class=20)
    result = ganzoo.fit_extractor("folder", data_root=images, image_size=16, epochs=1, out=tmp_path / "x.safetensors",
                                  progress=False)
    meta = read_domain_meta(result.path)
    assert meta["train_size"] == 32 and meta["heldout_size"] == 8  # 40 images, not 40 "held out" of 40
    assert meta["heldout"] == result.heldout and "20% of the training images, never used in fitting" in result.heldout
    assert "seed-0 permutation" in result.heldout
    again = ganzoo.fit_extractor("folder", data_root=images, image_size=16, epochs=1, out=tmp_path / "y.safetensors",
                                 progress=False)
    assert again.accuracy == result.accuracy  # the same seed holds out the same images


def test_a_folder_has_no_separate_heldout_split_to_ask_for(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    images = write_folder(tmp_path / "shapes")
    with pytest.raises(ConfigError, match="folder has no separate held-out split"):
        ganzoo.fit_extractor("folder", data_root=images, heldout_split="test", epochs=1, progress=False)
    result = cli("fit-extractor", "--dataset", "folder", "--data-root", images, "--image-size", "16", "--epochs", "1")
    assert result.code == 0, result.err
    assert "on 4 images, fitted on 16" in result.out and "held out: 20% of the training images" in result.out


# ---- 2. a folder's identity -----------------------------------------------------------------------
def test_the_identity_follows_path_and_content_not_just_sizes(tmp_path):
    a, b = write_folder(tmp_path / "a"), write_folder(tmp_path / "b")  # the same files in two places
    first = scan_folder(a).identity()
    assert scan_folder(a).identity() == first and first["name"] == "a" and first["files"] == 20
    assert scan_folder(b).identity()["content_sha256"] == first["content_sha256"]
    assert scan_folder(b).identity()["digest"] != first["digest"]
    Image.new("L", (4, 4), 0).save(a / "a" / "frame.bmp")  # an uncompressed image: an edit keeps its size
    before = scan_folder(a).identity()
    Image.new("L", (4, 4), 1).save(a / "a" / "frame.bmp")
    assert scan_folder(a).identity()["digest"] != before["digest"]
    (a / "a" / "frame.bmp").rename(a / "a" / "other.bmp")
    assert scan_folder(a).identity()["content_sha256"] not in (before["content_sha256"], first["content_sha256"])


# ---- 3. grey folders load as 1 channel -------------------------------------------------------------
@pytest.mark.parametrize("modes, option, channels", [
    (("L",), "auto", 1),
    (("L", "RGB"), "auto", 3),
    (("P",), "auto", 1),  # a palette of greys only
    (("L",), "3", 3),
    (("RGB",), "1", 1),
    (("RGB",), 3, 3),
])
def test_channels_follow_the_images_unless_the_option_says_otherwise(tmp_path, modes, option, channels):
    for i, mode in enumerate(modes):
        write_folder(tmp_path / "images", per_class=2, classes=(f"c{i}",), mode=mode)
    data = load_folder(DataRequest(root=tmp_path / "images", image_size=16, options={"channels": option}))
    assert data.info.shape == (channels, 16, 16) and next(data.iterate(8)).x.shape[1] == channels


def test_a_colour_palette_is_not_grey_and_a_bad_channel_count_is_refused(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (8, 8), (200, 30, 30)).convert("P").save(folder / "red.png")
    assert load_folder(DataRequest(root=folder, image_size=16)).info.shape[0] == 3
    with pytest.raises(DataError, match="channels must be 1, 3 or auto, got '2'"):
        load_folder(DataRequest(root=folder, options={"channels": "2"}))


def test_a_grey_folder_trains_a_one_channel_model(tmp_path):
    images = write_folder(tmp_path / "grey")
    result = ganzoo.train("dcgan", dataset="folder", data_root=images, image_size=32, steps=1, batch_size=4,
                          out=tmp_path / "run", progress=False, **TINY)
    assert json.loads((result.path / "config.json").read_text())["config"]["data"]["channels"] == "auto"
    assert ganzoo.load(result.path).output_shape[0] == 1
