"""Image-to-image translation: pix2pix and cyclegan train, sample, resume bitwise and translate a user's own
images; the identity baseline; every bad input is one line with exit code 2."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from test_contracts import assert_resume_is_bitwise, tensors

import ganzoo
from ganzoo.plugins import get_registry

CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
TINY = {"image_size": 32, "data.chars": CHARS, "data.test_chars": 10, "batch_size": 8, "g_width": 8, "d_width": 8,
        "channels_last": False, "num_samples": 4, "sample_every": 0}
CYCLE = {**TINY, "g_blocks": 1, "pool_size": 4}


def train(model: str, out, steps: int = 3, **options):
    options = {**(CYCLE if model == "cyclegan" else TINY), **options}
    return ganzoo.train(model, out=out, steps=steps, progress=False, **options)


def test_pix2pix_trains_on_fonts_and_its_samples_show_source_translation_and_target(tmp_path):
    run = train("pix2pix", tmp_path / "run")
    logs = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    assert {"l1", "loss_d", "loss_g"} <= set(logs[-1]) and logs[-1]["step"] == 3
    translated = ganzoo.sample(run.path, 6, out=tmp_path / "grid.png")
    assert translated.shape == (6, 1, 32, 32)
    width, height = Image.open(tmp_path / "grid.png").size
    assert (width, height) == (2 + 12 * 34, 2 + 2 * 34)  # rows of 4 x (source | translated | target), 32 px + padding


def test_pix2pix_learns_the_mapping_it_is_trained_on(tmp_path):
    """150 steps on 10 glyph pairs bring its L1 to their targets below the identity's (output = input)."""
    run = train("pix2pix", tmp_path / "run", steps=150, **{"data.chars": "abcdefghijklmnopqrstuvwxyz",
                                                             "data.test_chars": 16, "lr_g": 1e-3})
    loaded = ganzoo.load_run(run.path)
    data = get_registry().dataset("fonts").load(_request(loaded.config, "train"))
    batch = next(iter(data.iterate(64)))
    with torch.no_grad():
        out = loaded.generator.sample(len(batch.condition), labels=batch.condition)
    learnt = (out - batch.x).abs().mean()
    identity = (batch.condition - batch.x).abs().mean()
    assert learnt < identity


def _request(config, split):
    from ganzoo.data.loading import data_request

    return data_request(config, split)


def error_lines(result) -> list[str]:
    """What ganzoo printed besides its progress and info lines (the fonts' summary)."""
    return [line for line in result.err.strip().splitlines() if not line.startswith("ganzoo: fonts:")]


def test_pix2pix_refuses_unpaired_data(tmp_path, cli):
    result = cli("train", "pix2pix", "--steps", "1", "--out", tmp_path / "r", "--set", "data.pairing=unpaired",
                 "--image-size", "32")
    assert result.code == 2 and len(error_lines(result)) == 1 and "unpaired" in error_lines(result)[0]


def test_pix2pix_patch_discriminator_sees_about_half_the_image():
    from ganzoo_translation.nets import PatchDiscriminator

    fields = {size: PatchDiscriminator(2, size, 4).receptive_field for size in (32, 64, 128)}
    assert fields == {32: 16, 64: 34, 128: 70}


def test_pix2pix_resumes_bitwise(tmp_path):
    options = dict(TINY)
    options.pop("sample_every")
    assert_resume_is_bitwise(get_registry(), "pix2pix", tmp_path, **options)


def test_cyclegan_killed_after_a_checkpoint_resumes_bitwise(tmp_path):
    """Its learning rate decays over the run's own steps, so the interrupted run is one of the same length:
    the run's folder as it stood after the step-3 checkpoint, resumed to step 6, equals the run that went on."""
    options = {**CYCLE, "steps": 6, "checkpoint_every": 3, "sample_every": 0}
    whole = train("cyclegan", tmp_path / "whole", **options)
    shutil.copytree(whole.path, tmp_path / "killed")
    (tmp_path / "killed" / "checkpoints" / "step-00000006.safetensors").unlink()
    ganzoo.train(resume=tmp_path / "killed", steps=6, progress=False)
    a = tensors(whole.path / "checkpoints" / "step-00000006.safetensors")
    b = tensors(tmp_path / "killed" / "checkpoints" / "step-00000006.safetensors")
    kept = [k for k in a if not k.startswith("rng/")]
    assert any(k.startswith("pool_a/") for k in kept) and set(a) == set(b)
    assert all(torch.equal(a[k], b[k]) for k in kept)


def test_cyclegan_keeps_its_pool_and_decays_its_learning_rate_to_zero(tmp_path):
    from ganzoo.storage.checkpoint import read_checkpoint
    from ganzoo_translation.cyclegan import LinearDecay

    run = train("cyclegan", tmp_path / "run", steps=8, lr_g=1e-3)
    path = run.path / "checkpoints" / "step-00000008.safetensors"
    saved = load_file(str(path))
    assert int(saved["pool_b/filled"]) == 4 and saved["pool_b/images"].abs().sum() > 0
    schedulers = read_checkpoint(path).meta["schedulers"]
    assert schedulers["generator"]["_last_lr"] == [0.0] and schedulers["generator"]["last_epoch"] == 8
    assert [LinearDecay(8)(t) for t in (0, 3, 4, 6, 8)] == [1.0, 1.0, 1.0, 0.5, 0.0]


def test_cyclegan_trains_on_two_independently_shuffled_fonts_and_translates_both_ways(tmp_path):
    run = train("cyclegan", tmp_path / "run")
    assert json.loads((run.path / "config.json").read_text())["config"]["data"]["pairing"] == "unpaired"
    there = ganzoo.translate(run.path, "test", tmp_path / "a2b")
    back = ganzoo.translate(run.path, "test", tmp_path / "b2a", direction="b2a")
    assert len(there.files) == len(back.files) == 10
    assert Image.open(back.files[0]).size == (32, 32)


def test_translate_writes_one_image_per_user_png_with_the_same_names(tmp_path, cli):
    run = train("pix2pix", tmp_path / "run", steps=1)
    mine = tmp_path / "mine"
    mine.mkdir()
    for name, size in (("ka.png", (40, 40)), ("zi.png", (64, 48)), ("photo.jpg", (20, 20))):
        Image.new("RGB", size, (200, 10, 10)).save(mine / name)
    (mine / "notes.txt").write_text("not an image")
    result = cli("translate", run.path, mine, "--out", tmp_path / "out")
    assert result.code == 0 and "3 translated images" in result.out, result.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ka.png", "photo.jpg", "zi.png"]
    assert Image.open(tmp_path / "out" / "zi.png").size == (32, 32)


def test_identity_baseline_returns_its_input(tmp_path):
    run = ganzoo.train("identity", out=tmp_path / "id", progress=False, **{"image_size": 32, "data.chars": CHARS,
                                                                          "data.test_chars": 10})
    G = ganzoo.load(run.path)
    x = torch.rand(3, 1, 32, 32) * 2 - 1
    assert torch.equal(G.sample(3, labels=x), x)


@pytest.mark.parametrize("args, message", [
    (["translate", "{dc}", "{img}", "--out", "{out}"], "does not translate images"),
    (["translate", "{p2p}", "{img}", "--out", "{out}", "--direction", "b2a"], "one direction only"),
    (["translate", "{p2p}", "nowhere", "--out", "{out}"], "no such file or folder, nor a split"),
    (["translate", "{p2p}", "{empty}", "--out", "{out}"], "no image files"),
    (["translate", "{p2p}", "{bad}", "--out", "{out}"], "not a readable image"),
    (["train", "pix2pix", "--image-size", "48", "--steps", "1", "--out", "{out}"], "fonts renders glyphs at 32, 64, 128"),
    (["train", "pix2pix", "--dataset", "digits", "--steps", "1", "--out", "{out}"], "translat"),
])
def test_bad_translation_input_is_one_line_and_exit_2(args, message, tmp_path, translation_runs, cli):
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.png").write_bytes(b"not a png")
    Image.new("L", (8, 8)).save(tmp_path / "img.png")
    values = {**translation_runs, "img": tmp_path / "img.png", "out": tmp_path / "out", "empty": tmp_path / "empty",
              "bad": tmp_path / "bad.png"}
    result = cli(*[a.format(**values) for a in args])
    assert result.code == 2 and len(error_lines(result)) == 1 and message in error_lines(result)[0], result.err
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def translation_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    p2p = train("pix2pix", root / "p2p", steps=1)
    dc = ganzoo.train("dcgan", out=root / "dc", steps=1, progress=False, batch_size=8, num_samples=4)
    return {"p2p": p2p.path, "dc": dc.path}


def test_unpaired_pairing_shuffles_the_two_fonts_independently_and_keeps_the_test_split_paired():
    from ganzoo.configure import resolve_run
    from ganzoo.data.loading import load_data
    from ganzoo.plugin import UnpairedData

    registry = get_registry()
    _, config = resolve_run(registry, "cyclegan", {"image_size": 32, "data.chars": CHARS, "data.test_chars": 10})
    train_data, test_data = load_data(registry, config), load_data(registry, config, split="test")
    assert isinstance(train_data, UnpairedData) and not train_data.info.extras["paired"]
    assert test_data.info.extras["paired"] and test_data.condition is not None
    batch = next(train_data.batches(8, seed=0))
    truth = {key(s): key(t) for s, t in zip(train_data.a, train_data.b, strict=True)}
    served = zip(batch.condition.add(1).mul(127.5).round(), batch.x.add(1).mul(127.5).round(), strict=True)
    matches = sum(truth[key(s)] == key(t) for s, t in served)
    assert matches < 4  # pairs would match 8 of 8; independent orders of 52 glyphs match about none


def key(image) -> bytes:
    return image.to(torch.uint8).numpy().tobytes()


def _glyph_folder(root, names, layout: str) -> None:
    """Random 16 px grey images in the paired A/B, pix2pix side-by-side, or CycleGAN trainA/trainB layout."""
    gen = torch.Generator().manual_seed(0)

    def save(path, width=16):
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = torch.randint(0, 256, (16, width), generator=gen, dtype=torch.uint8).numpy()
        Image.fromarray(pixels).save(path)

    for name in names:
        if layout == "ab":
            save(root / "A" / name)
            save(root / "B" / name)
        elif layout == "side-by-side":
            for split in ("train", "test"):
                save(root / split / name, width=32)
        else:
            for folder in ("trainA", "trainB", "testA", "testB"):
                save(root / folder / name)


@pytest.mark.parametrize("model, layout, dataset", [
    ("pix2pix", "ab", "paired-folder"), ("pix2pix", "side-by-side", "paired-folder"),
    ("cyclegan", "cyclegan", "unpaired-folder"), ("cyclegan", "ab", "paired-folder"),
])
def test_both_variants_train_on_the_folder_layouts_and_are_scored(model, layout, dataset, tmp_path):
    _glyph_folder(tmp_path / "data", [f"{i:02d}.png" for i in range(8)], layout)
    options = {**(CYCLE if model == "cyclegan" else TINY), "data_root": str(tmp_path / "data"), "image_size": 16}
    for key in ("data.chars", "data.test_chars"):
        options.pop(key)
    run = ganzoo.train(model, dataset=dataset, out=tmp_path / "run", steps=2, progress=False, **options)
    assert run.step == 2
    if dataset == "paired-folder":  # paired held-out data: scored against the true targets
        from ganzoo.metrics.protocol import EvalProtocol

        report = ganzoo.evaluate(run.path, EvalProtocol(metrics=("pixels",)))
        assert set(report.scores) == {"l1", "psnr", "ssim"} and 0 < report.scores["l1"] < 2


@pytest.mark.parametrize("model", ["pix2pix", "cyclegan", "identity"])
def test_ganzoo_check_passes_the_translation_models(model, cli):
    sets = ["image_size=32", f"data.chars={CHARS}", "data.test_chars=10"]
    if model != "identity":
        sets += ["g_width=8", "d_width=8"]
    result = cli("check", model, *[arg for s in sets for arg in ("--set", s)])
    assert result.code == 0 and f"OK: {model} passed" in result.out, result.out + result.err


def test_translation_fid_scores_a_large_enough_held_out_split_and_refuses_fewer_than_500(tmp_path, cli, translation_runs,
                                                                                         monkeypatch):
    from ganzoo.metrics import translated
    from ganzoo.metrics.protocol import EvalProtocol

    monkeypatch.setattr(translated, "MIN_IMAGES", 60)  # 60 pairs stand in for 500: the test stays fast
    gen = torch.Generator().manual_seed(0)
    for i in range(60):
        for side in ("A", "B"):
            pixels = torch.randint(0, 256, (16, 16), generator=gen, dtype=torch.uint8).numpy()
            (tmp_path / "data" / side).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(tmp_path / "data" / side / f"{i:03d}.png")
    options = {k: v for k, v in TINY.items() if not k.startswith("data.")}
    run = ganzoo.train("pix2pix", dataset="paired-folder", out=tmp_path / "run", steps=1, progress=False,
                       **{**options, "data_root": str(tmp_path / "data"), "image_size": 16})
    report = ganzoo.evaluate(run.path, EvalProtocol(metrics=("translation-fid",), feature_extractor="ganzoo-digits"))
    assert report.scores["translation_fid"] > 0 and report.protocols["translation-fid"]["num_real"] == 60
    monkeypatch.undo()
    refused = cli("eval", translation_runs["p2p"], "--metrics", "translation-fid")
    assert refused.code == 2 and "needs at least 500 held-out target images" in refused.err and "has 10" in refused.err
