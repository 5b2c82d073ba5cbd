"""Folder datasets and their extractors, honestly: a real held-out set, one extractor per folder, grey stays grey."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import ganzoo
from conftest import TINY_DCGAN
from ganzoo.configure import resolve_run
from ganzoo.data.base import DataInfo, DataRequest
from ganzoo.data.folder import load_folder, scan_folder
from ganzoo.errors import ConfigError, DataError
from ganzoo.metrics.base import EvalContext
from ganzoo.metrics.extractors import DomainWeights, ExtractorDataMismatch, check_fitted_on, read_domain_meta
from ganzoo.metrics.fidelity import data_identity
from ganzoo.nets.base import Generator
from ganzoo.plugins import get_registry

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


# ---- 2. one extractor per folder, refused for other data -------------------------------------------
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


def fitted(name, dataset="folder", identity=None):
    return DomainWeights(name, None, {"dataset": dataset, "identity": identity})  # type: ignore[arg-type]


def test_an_extractor_is_checked_against_the_data_it_scores():
    a = {"name": "a", "root": "/data/a", "files": 10, "digest": "1" * 64}
    b = {"name": "b", "root": "/data/b", "files": 12, "digest": "2" * 64}
    check_fitted_on(fitted("ganzoo-folder-a-11111111", identity=a), "folder", a)
    check_fitted_on(fitted("ganzoo-digits", "digits"), "digits", None)
    with pytest.raises(ExtractorDataMismatch, match=r"was fitted on folder /data/a \(10 images, digest 11111111\), "
                                                    r"not on this run's folder /data/b \(12 images, digest 22222222\)"):
        check_fitted_on(fitted("ganzoo-folder-a-11111111", identity=a), "folder", b)
    with pytest.raises(ExtractorDataMismatch, match="does not record which folder data it was fitted on"):
        check_fitted_on(DomainWeights("ganzoo-folder", None, {"dataset": "folder"}), "folder", b)  # type: ignore[arg-type]
    with pytest.raises(ExtractorDataMismatch, match="was fitted on folder /data/a .*, not on this run's digits"):
        check_fitted_on(fitted("ganzoo-folder-a-11111111", identity=a), "digits", None)
    check_fitted_on(fitted("ganzoo-digits", "digits"), "folder", b)  # a fixed dataset's: a declared shared feature space
    check_fitted_on(fitted("ganzoo-digits", "digits"), "mnist", None)  # as the CPU leaderboard uses it


@pytest.fixture
def two_folders(tmp_path, monkeypatch):
    """Folders A and B, an extractor fitted on each in a private cache, and a 1-step run on B."""
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    a, b = write_folder(tmp_path / "a", seed=1), write_folder(tmp_path / "b", seed=2)
    names = [ganzoo.fit_extractor("folder", data_root=f, image_size=16, epochs=1, progress=False).meta["name"] for f in (a, b)]
    run = tmp_path / "run-b"
    ganzoo.train("dcgan", dataset="folder", data_root=b, image_size=32, steps=1, batch_size=4, out=run, progress=False,
                 **TINY)
    return a, b, names, run


def test_each_folder_gets_its_own_extractor_and_eval_refuses_the_other(two_folders, cli):
    a, b, (name_a, name_b), run = two_folders
    digest_a, digest_b = scan_folder(a).identity()["digest"][:8], scan_folder(b).identity()["digest"][:8]
    assert (name_a, name_b) == (f"ganzoo-folder-a-{digest_a}", f"ganzoo-folder-b-{digest_b}")
    result = cli("eval", run, "--num-samples", "20", "--feature-extractor", name_a)
    assert result.code == 2 and result.err.count("\n") == 1
    assert f"{name_a} was fitted on folder {a} (20 images, digest {digest_a}), not on this run's folder {b}" in result.err
    assert f"ganzoo fit-extractor --dataset folder --data-root {b}" in result.err
    result = cli("eval", run, "--num-samples", "20", "--metrics", "isc", "--json")  # auto: B's own
    assert result.code == 0, result.err
    assert json.loads(result.out)["protocol"]["isc"]["feature_extractor"] == name_b


def test_eval_every_refuses_an_extractor_fitted_on_another_folder(two_folders, cli, tmp_path):
    a, b, (name_a, _), _ = two_folders
    result = cli("train", "dcgan", "--dataset", "folder", "--data-root", b, "--image-size", "32", "--steps", "2",
                 "--batch-size", "4", "--eval-every", "1", "--set", "eval_samples=20", "--set", f"feature_extractor={name_a}",
                 "--out", tmp_path / "run", "--quiet", *TINY_DCGAN)
    assert result.code == 2 and result.err.count("\n") == 1 and f"{name_a} was fitted on folder {a}" in result.err


def test_a_run_without_a_recorded_identity_is_checked_against_its_folder_as_it_is(tmp_path):
    images = write_folder(tmp_path / "old")
    info = DataInfo("image", (1, 32, 32), num_classes=2, extras={"classes": ["a", "b"]})  # as ganzoo 0.1.0 wrote it
    registry = get_registry()
    _, config = resolve_run(registry, "dcgan", {"dataset": "folder", "data_root": str(images), "channels": "3"})
    ctx = EvalContext(Generator(16, (1, 32, 32)), config, info, None, [], registry=registry)
    assert data_identity(ctx) == scan_folder(images).identity()
    _, digits_config = resolve_run(registry, "dcgan", {})
    digits = EvalContext(Generator(16, (1, 32, 32)), digits_config, DataInfo("image", (1, 32, 32)), None, [],
                         registry=registry)
    assert data_identity(digits) is None and not digits.cache  # a fixed dataset is not loaded for it


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
