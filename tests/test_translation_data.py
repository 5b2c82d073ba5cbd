"""The translation datasets of files and of digits (issue 16): layouts, pairing, direction, bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from ganzoo.data.digits import load_digits
from ganzoo.plugin import ConfigError, DataError, DataRequest, DatasetSpec, TensorData, UnpairedData
from ganzoo_translation.edges import EDGES2DIGITS
from ganzoo_translation.folders import PAIRED_FOLDER, UNPAIRED_FOLDER


def request(spec: DatasetSpec, root: Path | None, split: str = "train", size: int | None = 8, **overrides: Any) -> DataRequest:
    """A request as the loader gets it: every declared option at its default, then ``overrides``."""
    options = {k: (v.default if hasattr(v, "default") else v) for k, v in spec.options.items()} | overrides
    return DataRequest(root=root, split=split, image_size=size, options=options)


def grey(path: Path, value: int, size: tuple[int, int] = (8, 8)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", size, value).save(path)


def side_by_side(path: Path, left: tuple[int, int, int], right: tuple[int, int, int], half: int = 12) -> None:
    """An AB image 2 * half wide: A the left half, B the right, each one colour."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (2 * half, half), left)
    image.paste(Image.new("RGB", (half, half), right), (half, 0))
    image.save(path)


def values(images: torch.Tensor) -> list[int]:
    """The one value of each constant image."""
    assert (images == images[:, :1, :1, :1]).all()
    return images[:, 0, 0, 0].tolist()


def error(spec: DatasetSpec, req: DataRequest, kind: type[Exception] = DataError) -> str:
    with pytest.raises(kind) as caught:
        spec.load(req)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.fixture
def ab_root(tmp_path: Path) -> Path:
    """A/ and B/ of three grey images matched by name, with other suffixes in B and files to ignore."""
    for stem, a, b, suffix in (("emu", 30, 130, ".bmp"), ("cat", 10, 110, ".png"), ("dog", 20, 120, ".gif")):
        grey(tmp_path / "A" / f"{stem}.png", a, (8, 6))
        grey(tmp_path / "B" / f"{stem}{suffix}", b, (10, 10))
    (tmp_path / "A" / "notes.txt").write_text("not an image")
    (tmp_path / "B" / ".DS_Store").write_bytes(b"\0")
    return tmp_path


def test_ab_layout_pairs_files_by_name(ab_root: Path) -> None:
    data = PAIRED_FOLDER.load(request(PAIRED_FOLDER, ab_root, size=16))
    assert isinstance(data, TensorData) and data.labels is None
    assert data.x.dtype == data.condition.dtype == torch.uint8
    assert data.x.shape == data.condition.shape == (3, 1, 16, 16)  # all grey: one channel (auto)
    assert values(data.condition) == [10, 20, 30] and values(data.x) == [110, 120, 130]  # cat, dog, emu
    info = data.info
    assert info.modality == "translation" and info.shape == (1, 16, 16)
    assert info.extras["condition_shape"] == [1, 16, 16] and info.extras["paired"] is True
    assert info.extras["domains"] == ["A", "B"] and info.extras["layout"] == "A/B"
    assert info.extras["identity"]["files"] == 6 and info.extras["identity"]["root"] == str(ab_root.resolve())
    batch = next(data.batches(3, seed=0))
    assert batch.x.dtype == torch.float32 and batch.condition is not None
    assert sorted(batch.condition[:, 0, 0, 0].tolist()) == pytest.approx([10 / 127.5 - 1, 20 / 127.5 - 1, 30 / 127.5 - 1])
    # a flat A/, B/ is every split
    assert torch.equal(PAIRED_FOLDER.load(request(PAIRED_FOLDER, ab_root, "test", size=16)).x, data.x)


def test_direction_b2a_swaps_sources_and_targets(ab_root: Path) -> None:
    forward = PAIRED_FOLDER.load(request(PAIRED_FOLDER, ab_root))
    back = PAIRED_FOLDER.load(request(PAIRED_FOLDER, ab_root, direction="b2a"))
    assert torch.equal(back.x, forward.condition) and torch.equal(back.condition, forward.x)
    assert back.info.extras["domains"] == ["B", "A"]
    assert back.info.extras["identity"]["digest"] != forward.info.extras["identity"]["digest"]


def test_channels_option(ab_root: Path) -> None:
    data = PAIRED_FOLDER.load(request(PAIRED_FOLDER, ab_root, channels="3"))
    assert data.x.shape == (3, 3, 8, 8) and data.info.extras["condition_shape"] == [3, 8, 8]
    assert values(data.x[:, 1:2]) == [110, 120, 130]  # grey levels kept in every channel


def test_ab_folders_per_split(tmp_path: Path) -> None:
    for split, count in (("train", 3), ("test", 2)):
        for i in range(count):
            grey(tmp_path / split / "A" / f"{i}.png", i)
            grey(tmp_path / split / "B" / f"{i}.png", 100 + i)
    train = PAIRED_FOLDER.load(request(PAIRED_FOLDER, tmp_path))
    test = PAIRED_FOLDER.load(request(PAIRED_FOLDER, tmp_path, "test"))
    assert len(train) == 3 and len(test) == 2 and values(test.x) == [100, 101]
    assert train.info.extras["layout"] == "train/A, train/B"


def test_side_by_side_images_split_into_halves(tmp_path: Path) -> None:
    side_by_side(tmp_path / "train" / "2.png", (200, 10, 10), (10, 200, 10))
    side_by_side(tmp_path / "train" / "1.png", (0, 0, 255), (255, 255, 0))
    side_by_side(tmp_path / "val" / "9.png", (5, 6, 7), (8, 9, 10), half=20)
    data = PAIRED_FOLDER.load(request(PAIRED_FOLDER, tmp_path, size=8))
    assert data.x.shape == data.condition.shape == (2, 3, 8, 8)
    assert data.condition[:, :, 0, 0].tolist() == [[0, 0, 255], [200, 10, 10]]  # left halves, sorted by name
    assert data.x[:, :, 0, 0].tolist() == [[255, 255, 0], [10, 200, 10]]  # right halves
    assert (data.x == data.x[:, :, :1, :1]).all() and (data.condition == data.condition[:, :, :1, :1]).all()
    assert data.info.extras["layout"] == "side-by-side train/"
    test = PAIRED_FOLDER.load(request(PAIRED_FOLDER, tmp_path, "test", direction="b2a"))  # no test/: val/
    assert test.condition[:, :, 0, 0].tolist() == [[8, 9, 10]] and test.x[:, :, 0, 0].tolist() == [[5, 6, 7]]
    grey_data = PAIRED_FOLDER.load(request(PAIRED_FOLDER, tmp_path, channels="1"))
    assert grey_data.x.shape == (2, 1, 8, 8)


def test_auto_channels_are_decided_per_domain(tmp_path: Path) -> None:
    side_by_side(tmp_path / "train" / "0.png", (90, 90, 90), (10, 200, 10))  # grey sources stored as RGB
    data = PAIRED_FOLDER.load(request(PAIRED_FOLDER, tmp_path))
    assert data.info.extras["condition_shape"] == [1, 8, 8] and data.info.shape == (3, 8, 8)
    assert values(data.condition) == [90]


def test_unpaired_layout_draws_domains_independently(tmp_path: Path) -> None:
    for i in range(8):
        grey(tmp_path / "trainA" / f"a{i}.png", 10 * i)
        grey(tmp_path / "trainB" / f"b{i}.png", 10 * i + 5)
    grey(tmp_path / "trainB" / "b8.png", 85)
    for i in range(2):
        side_by_side(tmp_path / "testA" / f"{i}.png", (i, 50, 100), (i, 50, 100), half=4)
        grey(tmp_path / "testB" / f"{i}.png", 7)
    data = UNPAIRED_FOLDER.load(request(UNPAIRED_FOLDER, tmp_path))
    assert isinstance(data, UnpairedData) and len(data) == 9
    assert data.a.shape == (8, 1, 8, 8) and data.b.shape == (9, 1, 8, 8) and data.a.dtype == torch.uint8
    assert data.info.extras["paired"] is False and data.info.extras["domains"] == ["A", "B"]
    assert values(data.a) == [10 * i for i in range(8)] and values(data.b) == [10 * i + 5 for i in range(9)]
    batch = next(data.batches(8, seed=3))
    order_a = [round((v + 1) * 127.5) // 10 for v in batch.condition[:, 0, 0, 0].tolist()]
    order_b = [round((v + 1) * 127.5) // 10 for v in batch.x[:, 0, 0, 0].tolist()]
    assert len(set(order_a)) == 8 and len(set(order_b)) == 8 and order_a != order_b
    test = UNPAIRED_FOLDER.load(request(UNPAIRED_FOLDER, tmp_path, "test", direction="b2a"))
    assert test.a.shape == (2, 1, 8, 8) and test.b.shape == (2, 3, 8, 8)  # b2a: testB is the source
    assert test.info.extras["domains"] == ["B", "A"] and test.info.extras["condition_shape"] == [1, 8, 8]


def test_paired_folder_bad_input(tmp_path: Path, ab_root: Path) -> None:
    missing = tmp_path / "nowhere"
    assert f"{missing} does not exist" in error(PAIRED_FOLDER, request(PAIRED_FOLDER, missing))
    assert "pass --data-root DIR" in error(PAIRED_FOLDER, request(PAIRED_FOLDER, None))
    assert "has splits train, test; got 'val'" in error(PAIRED_FOLDER, request(PAIRED_FOLDER, ab_root, "val"))
    assert "data.channels must be one of auto, 1, 3" in error(PAIRED_FOLDER, request(PAIRED_FOLDER, ab_root, channels="2"),
                                                             ConfigError)
    assert "data.direction must be one of a2b, b2a" in error(PAIRED_FOLDER, request(PAIRED_FOLDER, ab_root, direction="up"),
                                                            ConfigError)
    assert "image size must be between 4 and 1024" in error(PAIRED_FOLDER, request(PAIRED_FOLDER, ab_root, size=2),
                                                            ConfigError)
    for name in ("ant.png", "bee.png", "cow.png"):
        grey(ab_root / "A" / name, 1)
    assert "paired-folder: 3 files of A have no match in B (first: ant.png)" in error(
        PAIRED_FOLDER, request(PAIRED_FOLDER, ab_root))
    for name in ("ant.png", "bee.png", "cow.png", "yak.png"):
        grey(ab_root / "B" / name, 1)
    assert "paired-folder: 1 file of B has no match in A (first: yak.png)" in error(
        PAIRED_FOLDER, request(PAIRED_FOLDER, ab_root))
    grey(ab_root / "A" / "yak.jpg", 1)
    grey(ab_root / "A" / "yak.bmp", 1)
    assert "yak.bmp and yak.jpg in" in error(PAIRED_FOLDER, request(PAIRED_FOLDER, ab_root))
    (ab_root / "A" / "yak.jpg").unlink()
    (ab_root / "A" / "yak.bmp").write_bytes(b"this is no bitmap")
    assert f"cannot read {ab_root / 'A' / 'yak.bmp'}" in error(PAIRED_FOLDER, request(PAIRED_FOLDER, ab_root))

    only_a = tmp_path / "only-a"
    grey(only_a / "A" / "x.png", 1)
    assert f"{only_a / 'B'} does not exist" in error(PAIRED_FOLDER, request(PAIRED_FOLDER, only_a))
    empty = tmp_path / "empty"
    (empty / "A").mkdir(parents=True)
    (empty / "B").mkdir()
    assert f"no images in {empty / 'A'}" in error(PAIRED_FOLDER, request(PAIRED_FOLDER, empty))

    pix2pix = tmp_path / "pix2pix"
    side_by_side(pix2pix / "train" / "0.png", (1, 2, 3), (4, 5, 6))
    assert "has neither A/ and B/ folders nor a test/ or val/ folder" in error(
        PAIRED_FOLDER, request(PAIRED_FOLDER, pix2pix, "test"))
    Image.new("RGB", (25, 12)).save(pix2pix / "train" / "1.png")
    assert f"{pix2pix / 'train' / '1.png'} is 25 pixels wide; a side-by-side image needs an even width" in error(
        PAIRED_FOLDER, request(PAIRED_FOLDER, pix2pix))
    (pix2pix / "test").mkdir()
    assert f"no images in {pix2pix / 'test'}" in error(PAIRED_FOLDER, request(PAIRED_FOLDER, pix2pix, "test"))


def test_unpaired_folder_bad_input(tmp_path: Path) -> None:
    assert "does not exist" in error(UNPAIRED_FOLDER, request(UNPAIRED_FOLDER, tmp_path / "nowhere"))
    grey(tmp_path / "trainA" / "0.png", 1)
    assert f"unpaired-folder: {tmp_path / 'trainB'} does not exist; it needs CycleGAN's" in error(
        UNPAIRED_FOLDER, request(UNPAIRED_FOLDER, tmp_path))
    (tmp_path / "trainB").mkdir()
    (tmp_path / "trainB" / "readme.txt").write_text("no images here")
    assert f"unpaired-folder: no images in {tmp_path / 'trainB'}" in error(UNPAIRED_FOLDER, request(UNPAIRED_FOLDER, tmp_path))


@pytest.fixture(scope="module")
def edges_train() -> TensorData:
    return EDGES2DIGITS.load(DataRequest(split="train"))


def test_edges2digits_pairs_outlines_with_digits(edges_train: TensorData) -> None:
    data = edges_train
    assert data.x.shape == data.condition.shape == (1437, 1, 32, 32)
    assert data.x.dtype == data.condition.dtype == torch.uint8 and data.labels is None
    assert data.info.shape == (1, 32, 32) and data.info.extras == {
        "condition_shape": [1, 32, 32], "paired": True, "domains": ["edges", "digits"]}
    assert set(data.condition.unique().tolist()) == {0, 255}  # white edges on black
    assert (data.condition.flatten(1).amax(1) == 255).all()  # every digit has an outline
    assert not torch.equal(data.condition, data.x)
    edges = data.condition > 0
    assert (data.x[edges] > 0).all() and (data.x[~edges] == 0).any()  # edges lie on the strokes; not everything is edge
    assert (data.x < 32).float().mean() > 0.4 and (data.x.flatten(1).amax(1) > 200).all()  # white digits on black
    digits = load_digits(DataRequest(split="train"))  # the targets are the digits dataset's images
    assert (data.x.float().div(127.5).sub(1.0) - digits.x).abs().max() <= 0.5 / 127.5 + 1e-6


def test_edges2digits_is_deterministic_with_a_fixed_split(edges_train: TensorData) -> None:
    again = EDGES2DIGITS.load(DataRequest(split="train"))
    assert torch.equal(again.x, edges_train.x) and torch.equal(again.condition, edges_train.condition)
    test = EDGES2DIGITS.load(DataRequest(split="test", image_size=64))
    assert test.x.shape == test.condition.shape == (360, 1, 64, 64)
    assert "image_size 48" in error(EDGES2DIGITS, DataRequest(image_size=48), ConfigError)
    assert "edges2digits has splits train, test; got 'all'" in error(EDGES2DIGITS, DataRequest(split="all"))
