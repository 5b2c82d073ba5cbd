"""Image scores: torch-fidelity parity, the sanity table, offline Inception, eval and --eval-every."""

from __future__ import annotations

import json
import time

import pytest
import torch
import torch_fidelity
from safetensors import safe_open

import ganzoo
from conftest import run_ganzoo
from ganzoo.errors import ConfigError
from ganzoo.metrics.extractors import domain_weights, resolve_extractor
from ganzoo.metrics.fidelity import FidelityGenerator, ImageTensors, features_of_generator, score_features, to_uint8_rgb
from ganzoo.metrics.sanity import NOISE_LEVELS, sanity_table
from ganzoo.nets.base import Generator
from ganzoo.plugins import get_registry

TINY = {"g_width": 8, "d_width": 8, "latent_dim": 16}


pytestmark = pytest.mark.usefixtures("private_cache")


def test_shipped_digits_extractor_records_its_accuracy():
    weights = domain_weights("ganzoo-digits")
    assert weights.meta["dataset"] == "digits" and weights.meta["heldout_size"] == 360
    assert weights.meta["accuracy"] >= 0.97
    assert weights.path.stat().st_size < 2_000_000


def test_sanity_table_on_digits():
    rows = {row.case: row for row in sanity_table(get_registry(), "digits", "ganzoo-digits")}
    heldout, noise = rows["test split"], rows["Gaussian noise images"]
    assert heldout.fid < 1.0 < 100.0 < noise.fid
    corrupted = [rows[f"test + noise {s}"] for s in NOISE_LEVELS]
    fids, kids = [r.fid for r in corrupted], [r.kid for r in corrupted]
    assert fids == sorted(fids) and len(set(fids)) == len(fids)  # strictly rising with the noise
    assert kids == sorted(kids)
    assert heldout.kid < corrupted[0].kid and corrupted[-1].kid < noise.kid
    # IS lies in [1, 10] by construction; real digits must come near the 10 classes the classifier separates
    assert heldout.isc > 7.5 and rows["train split (itself)"].isc > 8.0 and noise.isc < 1.5
    assert 0.0 <= rows["train split (itself)"].fid < 1e-6  # identical sets: 0 up to rounding, never negative


def test_scores_match_torch_fidelity_calculate_metrics(tiny_run):
    extractor = resolve_extractor("ganzoo-digits")
    G = ganzoo.load(tiny_run)
    real = torch.cat([b.x for b in _digits().iterate(500)])[:300]
    expected = torch_fidelity.calculate_metrics(
        input1=FidelityGenerator(G, seed=5), input1_model_num_samples=200, input2=ImageTensors(real),
        feature_extractor="ganzoo-digits", feature_extractor_weights_path=str(extractor.weights_path),
        fid=True, isc=True, kid=True, kid_subset_size=100, cuda=False, cache=False, verbose=False,
        batch_size=64, rng_seed=5, save_cpu_ram=True,
    )
    model = extractor.create(["logits_unbiased", "pool"], cuda=False)
    fake = features_of_generator(G, model, 200, 64, 5, cuda=False)
    from ganzoo.metrics.fidelity import features_of_images
    got = score_features(fake, features_of_images(real, model), ["fid", "isc", "kid"], type(model), seed=5)
    got_kid = torch_fidelity.metric_kid.kid_featuresdict_to_metric(fake, features_of_images(real, model), "pool",
                                                                  kid_subset_size=100, rng_seed=5, verbose=False)
    assert got["fid"] == pytest.approx(expected["frechet_inception_distance"], rel=1e-6)
    assert got["isc"] == pytest.approx(expected["inception_score_mean"], rel=1e-6)
    assert got_kid["kernel_inception_distance_mean"] == pytest.approx(expected["kernel_inception_distance_mean"], rel=1e-6)


def _digits():
    from ganzoo.data.base import DataRequest
    from ganzoo.data.digits import load_digits

    return load_digits(DataRequest(split="train"))


def test_generated_images_stream_in_batches(tiny_run):
    G = ganzoo.load(tiny_run)
    sizes = []
    original = G.forward

    def spy(z, labels=None):
        sizes.append(len(z))
        return original(z, labels)

    G.forward = spy
    model = resolve_extractor("ganzoo-digits").create(["pool"], cuda=False)
    features = features_of_generator(G, model, 1000, 128, 0, cuda=False)
    assert len(features["pool"]) == 1000 and max(sizes) == 128 and sum(sizes) == 1000


class Conditional(Generator):
    def __init__(self):
        super().__init__(4, (1, 8, 8), num_classes=3)

    def forward(self, z, labels=None):
        assert labels is not None and labels.max() < 3
        return (labels.float().view(-1, 1, 1, 1) / 2 - 0.5).expand(len(z), 1, 8, 8)


def test_conditional_generators_draw_their_own_labels():
    wrapper = FidelityGenerator(Conditional(), seed=1)
    assert wrapper.num_classes == 0  # torch-fidelity's own conditional path crashes on recent NumPy
    images = wrapper(torch.randn(30, 4))
    assert images.dtype == torch.uint8 and images.shape == (30, 3, 8, 8)
    assert len(images[:, 0, 0, 0].unique()) == 3


def test_uint8_conversion():
    x = torch.tensor([-1.0, 0.0, 1.0, 3.0]).view(1, 1, 2, 2)
    out = to_uint8_rgb(x)
    assert out.shape == (1, 3, 2, 2) and out[0, 0].flatten().tolist() == [0, 128, 255, 255]


def test_eval_json_records_scores_and_protocol_and_reuses_reference_features(cli, tiny_run, tmp_path):
    result = cli("eval", tiny_run, "--num-samples", "300", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert {"fid", "isc", "isc_std", "kid", "kid_std"} <= set(report["eval"])
    protocol = report["protocol"]["fid"]
    assert protocol["feature_extractor"] == "ganzoo-digits" and protocol["num_generated"] == 300
    assert protocol["num_real"] == 1437 and protocol["reference"] == "digits:train"
    assert protocol["torch_fidelity"] == torch_fidelity.__version__ and len(protocol["extractor_weights_sha256"]) == 64
    assert report["better"]["fid"] == "lower" and report["better"]["isc"] == "higher"
    cached = list((tmp_path / "cache" / "reference").glob("*.safetensors"))
    assert len(cached) == 1
    with safe_open(str(cached[0]), framework="pt") as handle:
        assert handle.metadata()["extractor"] == "ganzoo-digits"
    again = json.loads(cli("eval", tiny_run, "--num-samples", "300", "--json").out)
    assert again["eval"] == report["eval"]
    prc = json.loads(cli("eval", tiny_run, "--num-samples", "300", "--metrics", "prc", "--json").out)
    assert set(prc["eval"]) == {"precision", "recall", "f_score"}


def test_eval_refuses_metrics_of_another_modality(cli, tmp_path):
    ganzoo.train("vanilla", dataset="ring", steps=2, out=tmp_path / "ring", progress=False,
                 g_hidden=8, d_hidden=8, latent_dim=2)
    result = cli("eval", tmp_path / "ring", "--metrics", "fid")
    assert result.code == 2 and "metric 'fid' scores image models; this run is points" in result.err


def test_inception_without_weights_fails_fast_with_the_fixes(tmp_path):
    run = tmp_path / "run"
    ganzoo.train("dcgan", steps=2, out=run, progress=False, **TINY)
    started = time.perf_counter()
    done = run_ganzoo("eval", run, "--feature-extractor", "inception-v3-compat",
                      env={"TORCH_HOME": str(tmp_path / "torch"), "GANZOO_INCEPTION_WEIGHTS": ""})
    elapsed = time.perf_counter() - started
    assert done.returncode == 2 and elapsed < 5 + 5  # 5 s budget plus the interpreter and torch import
    line = done.stderr.strip()
    assert len(line.splitlines()) == 1
    for needle in ("weights-inception-2015-12-05-6726825d.pth", "--inception-weights", "GANZOO_INCEPTION_WEIGHTS",
                   str(tmp_path / "torch" / "hub" / "checkpoints"), "https://github.com/toshas/torch-fidelity"):
        assert needle in line


def random_inception_weights(path, monkeypatch):
    """A randomly initialised Inception state dict in the format torch-fidelity reads."""
    from torch_fidelity import feature_extractor_inceptionv3 as inception

    monkeypatch.setattr(inception, "load_state_dict_from_url", lambda *a, **k: None)
    monkeypatch.setattr(inception.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
    model = inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"])
    monkeypatch.undo()
    torch.save(model.state_dict(), path)


def test_inception_wiring_with_a_local_weights_file(tmp_path, tiny_run, monkeypatch):
    weights = tmp_path / "inception.pth"
    random_inception_weights(weights, monkeypatch)
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    report = ganzoo.evaluate(tiny_run, num_samples=12, num_real=12, batch_size=12,
                             feature_extractor="inception-v3-compat", inception_weights=str(weights))
    assert {"fid", "isc", "kid"} <= set(report.scores) and all(v == v for v in report.scores.values())
    protocol = report.protocols["fid"]
    assert protocol["feature_extractor"] == "inception-v3-compat" and protocol["num_real"] == 12


def test_weights_files_holding_code_are_refused(tmp_path):
    import pickle

    class Payload:
        def __reduce__(self):
            return (print, ("pwned",))

    bad = tmp_path / "bad.pth"
    bad.write_bytes(pickle.dumps({"w": Payload()}))
    with pytest.raises(ConfigError, match="not a plain tensor weights file"):
        resolve_extractor("inception-v3-compat", bad)


def test_unknown_extractor_lists_the_known_ones():
    with pytest.raises(ConfigError, match="inception-v3-compat, ganzoo-digits"):
        resolve_extractor("vgg")


def test_eval_every_logs_scores_keeps_the_best_and_prints_the_final(cli, tmp_path):
    out = tmp_path / "run"
    result = cli("train", "dcgan", "--steps", "20", "--out", out, "--quiet", "--eval-every", "10",
                 "--set", "eval_samples=200", "--set", "g_width=8", "--set", "d_width=8", "--set", "latent_dim=16")
    assert result.code == 0, result.err
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if "eval" in r]
    assert [r["step"] for r in evals] == [10, 20]
    assert evals[0]["protocol"]["fid"]["num_generated"] == 200
    assert (out / "checkpoints" / "best.safetensors").is_file()
    assert "final scores at step 20: fid" in result.out and "ganzoo-digits" in result.out


def test_a_resumed_run_keeps_a_better_best_checkpoint(cli, tmp_path):
    out = tmp_path / "run"
    tiny = ["--set", "eval_samples=100", "--set", "eval_metrics=fid", "--set", "g_width=8", "--set", "d_width=8",
            "--set", "latent_dim=16", "--set", "checkpoint_every=5"]
    assert cli("train", "dcgan", "--steps", "5", "--out", out, "--quiet", "--eval-every", "5", *tiny).code == 0
    log = out / "metrics.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    for record in records:
        if "eval" in record:
            record["eval"]["fid"] = 0.0  # a best that no later evaluation can beat
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    best = out / "checkpoints" / "best.safetensors"
    before = best.read_bytes()
    resumed = cli("train", "--resume", out, "--steps", "10", "--quiet")
    assert resumed.code == 0, resumed.err
    assert [r["step"] for r in map(json.loads, log.read_text().splitlines()) if "eval" in r] == [5, 10]
    assert best.read_bytes() == before


def test_scores_while_training_in_bf16_match_ganzoo_eval_in_fp32(cli, tmp_path):
    out = tmp_path / "run"
    result = cli("train", "dcgan", "--steps", "4", "--out", out, "--quiet", "--eval-every", "4", "--precision", "bf16",
                 "--set", "eval_samples=200", "--set", "eval_metrics=fid", "--set", "g_width=8", "--set", "d_width=8",
                 "--set", "latent_dim=16")
    assert result.code == 0, result.err
    during = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if '"eval"' in line][-1]
    after = ganzoo.evaluate(out, metrics="fid", num_samples=200, seed=0)
    assert during["eval"]["fid"] == pytest.approx(after.scores["fid"], rel=1e-5)


def test_fit_extractor_is_reproducible_from_its_seed(tmp_path):
    a = ganzoo.fit_extractor("digits", epochs=2, seed=3, out=tmp_path / "a.safetensors", progress=False)
    b = ganzoo.fit_extractor("digits", epochs=2, seed=3, out=tmp_path / "b.safetensors", progress=False)
    assert a.meta["accuracy"] == b.meta["accuracy"] > 0.3 and a.meta["heldout"] == "digits:test"  # chance: 0.1
    from safetensors.torch import load_file

    wa, wb = load_file(str(a.path)), load_file(str(b.path))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_fit_extractor_holds_out_part_of_a_lone_split(shared_data, tmp_path):
    result = ganzoo.fit_extractor("mnist", data_root=shared_data, split="test", image_size=32, epochs=1,
                                  out=tmp_path / "m.safetensors", progress=False)
    assert result.meta["heldout_size"] == 2000 and result.meta["train_size"] == 8000
    assert "20%" in result.heldout
