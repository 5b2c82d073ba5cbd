"""Gated PixelCNN: raster-order masking without a blind spot, exact bits/dim (by hand, and a distribution that
sums to one), the row-by-row sampler against the naive one, training, a bitwise resume, ``ganzoo check``, and
the refusal of discriminator options."""

from __future__ import annotations

import itertools
import json
import math

import pytest
import torch

import ganzoo
from ganzoo.plugin import BuildContext, DataInfo
from ganzoo.plugins import get_registry
from ganzoo.storage.checkpoint import read_checkpoint
from ganzoo_pixelcnn import SPEC, train_step
from ganzoo_pixelcnn.nets import GatedLayer, PixelCNN

TINY = {"width": 8, "layers": 3, "kernel": 3}
TINY_CLI = [arg for k, v in TINY.items() for arg in ("--set", f"{k}={v}")]

pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture(autouse=True)
def one_thread():
    """These networks are tiny: one thread is fastest, and on shared cores several threads can spin for seconds."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def pixelcnn(shape=(1, 5, 5), levels=17, dtype=torch.float64, seed=0, **hparams) -> PixelCNN:
    torch.manual_seed(seed)
    return PixelCNN(shape, levels, **{**TINY, **hparams}).to(dtype)


def random_images(G: PixelCNN, n: int, seed: int = 1, dtype=torch.float64) -> torch.Tensor:
    levels = torch.randint(G.levels, (n, *G.output_shape), generator=torch.Generator().manual_seed(seed))
    return G.to_values(levels).to(dtype)


def dependencies(outputs_of, x: torch.Tensor) -> torch.Tensor:
    """(H, W, H, W): True where output (r, c) of ``outputs_of(x)`` (H, W) has a nonzero gradient w.r.t. pixel (r', c')."""
    x = x.clone().requires_grad_(True)
    outputs = outputs_of(x)
    height, width = outputs.shape
    found = torch.zeros(height, width, height, width, dtype=torch.bool)
    for r, c in itertools.product(range(height), range(width)):
        (grad,) = torch.autograd.grad(outputs[r, c], x, retain_graph=True)
        found[r, c] = grad[0].abs().sum(0) > 0
    return found


def earlier(r: int, c: int, height: int, width: int) -> torch.Tensor:
    """True at the pixels before (r, c) in raster order."""
    order = torch.arange(height * width).view(height, width)
    return order < r * width + c


# ---- (a) masking --------------------------------------------------------------------------------------------
def test_the_first_layer_with_mask_a_sees_only_the_pixels_before_each_pixel():
    torch.manual_seed(0)
    layer = GatedLayer(2, 4, 3, "A")
    x = torch.randn(1, 2, 5, 6)
    horizontal = dependencies(lambda x: layer.horizontal_step(x, layer.vertical_step(x))[0].sum(0), x)
    vertical = dependencies(lambda x: layer.vertical_step(x)[0].sum(0), x)
    for r, c in itertools.product(range(5), range(6)):
        seen = horizontal[r, c]
        assert not seen[~earlier(r, c, 5, 6)].any(), f"the first layer at {(r, c)} sees itself or a later pixel"
        if c > 0:
            assert seen[r, c - 1]  # the pixel to the left (horizontal stack)
        if r > 0:
            assert seen[r - 1, c] and seen[r - 1, min(c + 1, 5)]  # above and above-right (vertical stack)
        assert not vertical[r, c, r:].any(), f"the vertical stack at row {r} sees its own row or a lower one"


def test_the_whole_network_sees_exactly_the_pixels_before_each_pixel_no_blind_spot():
    G = pixelcnn((2, 5, 5), levels=5, layers=5, dtype=torch.float32)  # 5 layers of 3x3 reach every earlier pixel
    x = random_images(G, 1, dtype=torch.float32)
    weights = torch.linspace(-1, 1, G.levels).view(1, -1, 1, 1)
    seen = dependencies(lambda x: (G.logits(x)[0] * weights).sum((0, 1)), x)
    for r, c in itertools.product(range(5), range(5)):
        before = earlier(r, c, 5, 5)
        assert not seen[r, c][~before].any(), f"the logits at {(r, c)} depend on that pixel or a later one"
        assert seen[r, c][before].all(), f"the logits at {(r, c)} miss an earlier pixel (a blind spot)"


def test_the_network_never_looks_down_rows_0_to_r_give_the_same_logits():
    G = pixelcnn((1, 6, 7), layers=4)
    x = random_images(G, 3)
    full = G.logits(x)
    for r in range(6):
        torch.testing.assert_close(G.logits(x[:, :, : r + 1]), full[..., : r + 1, :], rtol=0, atol=1e-12)


# ---- (b) the likelihood --------------------------------------------------------------------------------------
def test_bits_per_dim_by_hand_with_logits_set_through_the_last_layer():
    G = pixelcnn((1, 2, 2), levels=3, layers=2)
    last = G.head[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64))  # every pixel's logits
    denominator = 1 + math.e + math.e**3
    p = [1 / denominator, math.e / denominator, math.e**3 / denominator]
    # levels 0, 1, 2, 1 and 2, 2, 2, 2 as 3-level data is served
    images = torch.tensor([[[[-1.0, 0.0], [1.0, 0.0]]], [[[1.0, 1.0], [1.0, 1.0]]]], dtype=torch.float64)
    expected = [-(math.log2(p[0]) + 2 * math.log2(p[1]) + math.log2(p[2])) / 4, -math.log2(p[2])]
    torch.testing.assert_close(G.bits_per_dim(images), torch.tensor(expected, dtype=torch.float64))


def test_bits_per_dim_is_the_mean_of_minus_log2_of_each_pixels_softmax_by_hand():
    G = pixelcnn((1, 2, 2), levels=17)
    image = torch.tensor([[[[0.0, 3.0], [16.0, 7.0]]]], dtype=torch.float64) / 8 - 1  # as native digits serve levels
    logits = G.logits(image)[0, 0]  # (levels, 2, 2)
    total = 0.0
    for (r, c), level in zip(itertools.product(range(2), range(2)), (0, 3, 16, 7), strict=True):
        row = [float(v) for v in logits[:, r, c].detach()]
        total -= math.log2(math.exp(row[level]) / sum(math.exp(v) for v in row))
    assert float(G.bits_per_dim(image).detach()) == pytest.approx(total / 4, rel=1e-12)
    assert G.likelihood == "exact"


def test_the_model_is_a_proper_distribution_every_image_together_has_probability_one():
    G = pixelcnn((1, 2, 2), levels=3, layers=3)
    images = G.to_values(torch.tensor(list(itertools.product(range(3), repeat=4))).view(-1, 1, 2, 2)).double()
    with torch.no_grad():
        probability = torch.exp2(-G.bits_per_dim(images) * 4)
    assert len(images) == 81 and float(probability.sum()) == pytest.approx(1.0, abs=1e-12)


def test_bits_per_dim_stays_full_precision_inside_a_bf16_autocast_region():
    G = pixelcnn((1, 8, 8), dtype=torch.float32)
    x = random_images(G, 4, dtype=torch.float32)
    with torch.no_grad():
        exact = G.bits_per_dim(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert torch.equal(G.bits_per_dim(x), exact)
            assert not torch.equal(-G.log_prob(x) / (64 * math.log(2)), exact)  # the network itself did run in bf16


def test_levels_follow_the_data_17_for_native_digits_256_otherwise():
    native = SPEC.build_generator(BuildContext(DataInfo("image", (1, 8, 8), extras={"levels": 17}), TINY))
    uint8 = SPEC.build_generator(BuildContext(DataInfo("image", (3, 8, 8)), TINY))
    assert native.levels == 17 and native.logits(torch.zeros(2, 1, 8, 8)).shape == (2, 1, 17, 8, 8)
    assert uint8.levels == 256 and uint8.logits(torch.zeros(2, 3, 8, 8)).shape == (2, 3, 256, 8, 8)
    served = torch.arange(256.0).view(1, 1, 16, 16) / 127.5 - 1  # how uint8 data is served
    assert torch.equal(uint8.to_levels(served).flatten(), torch.arange(256))


# ---- (c) sampling ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,levels,layers", [((1, 8, 8), 17, 3), ((3, 5, 6), 256, 3), ((1, 10, 9), 17, 2)])
def test_the_row_by_row_sampler_gives_the_naive_samplers_images(shape, levels, layers):
    """Also where the sampler's windows (the receptive field, layers * k//2 = 2 or 3 rows up and columns left) crop."""
    G = pixelcnn(shape, levels, dtype=torch.float32, layers=layers)
    assert G.reach == layers
    z = torch.randn(6, G.latent_dim, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        fast, naive = G.sample_levels(z), G.sample_levels_naive(z)
    assert torch.equal(fast, naive) and len(fast.unique()) > 1
    assert torch.equal(G(z), G.to_values(fast)) and torch.equal(G(z), G(z.clone()))  # a function of z


def test_samples_are_seeded_and_on_the_datas_grey_levels():
    G = pixelcnn((1, 8, 8), 17, dtype=torch.float32)
    first = G.sample(5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(first, G.sample(5, generator=torch.Generator().manual_seed(0)))
    assert not torch.equal(first, G.sample(5, generator=torch.Generator().manual_seed(1)))
    levels = (first + 1) * 8
    assert torch.equal(levels, levels.round()) and levels.min() >= 0 and levels.max() <= 16


def test_a_confident_network_samples_its_mode_and_u_picks_the_level_by_inverse_cdf():
    G = pixelcnn((1, 3, 3), levels=4, dtype=torch.float32)
    with torch.no_grad():
        G.head[-1].weight.zero_()
        G.head[-1].bias.copy_(torch.log(torch.tensor([0.1, 0.2, 0.3, 0.4])))
    # u = Phi(z): the CDF is 0.1, 0.3, 0.6, 1.0, so u 0.05 -> 0, 0.2 -> 1, 0.5 -> 2, 0.9 -> 3
    u = torch.tensor([0.05, 0.2, 0.5, 0.9, 0.05, 0.2, 0.5, 0.9, 0.29])
    z = torch.special.ndtri(u).view(1, 9)
    assert G.sample_levels(z).flatten().tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 1]


# ---- training, resume, check, refusals -------------------------------------------------------------------------
def test_trains_on_native_digits_through_the_cli_and_learns(cli, tmp_path):
    out = tmp_path / "run"
    result = cli("train", "pixelcnn", "--steps", "40", "--batch-size", "32", "--out", out, "--quiet",
                 "--set", "log_every=10", *TINY_CLI)
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if '"loss"' in line]
    assert [r["step"] for r in rows] == [10, 20, 30, 40]
    assert all(r["bits_per_dim"] == pytest.approx(r["loss"] / math.log(2)) for r in rows)
    assert rows[0]["bits_per_dim"] < math.log2(17) + 0.5 and rows[-1]["bits_per_dim"] < rows[0]["bits_per_dim"] - 0.3
    info = json.loads((out / "config.json").read_text())
    assert info["config"]["data"]["native"] is True
    G = ganzoo.load(out)
    assert G.levels == 17 and G.output_shape == (1, 8, 8)


def test_the_train_step_logs_the_exact_nll_of_the_batch_it_trained_on(tmp_path):
    from ganzoo.configure import resolve_run
    from ganzoo.trainer.setup import prepare_state

    registry = get_registry()
    spec, config = resolve_run(registry, "pixelcnn", {**TINY, "batch_size": 8, "device": "cpu", "precision": "fp32"})
    state = prepare_state(registry, spec, config)
    batch = next(state.data.batches(8, seed=int(config["seed"]), device="cpu")).x
    with torch.no_grad():
        expected = state.generator.bits_per_dim(batch).mean()
    logged = train_step(state)
    assert set(logged) == {"loss", "bits_per_dim"}
    assert float(logged["bits_per_dim"]) == pytest.approx(float(expected), rel=1e-5)


def test_the_cores_bits_per_dim_metric_scores_the_exact_likelihood_on_the_held_out_native_scans(tmp_path):
    from ganzoo.data.base import DataRequest
    from ganzoo.data.digits import load_digits
    from ganzoo.evaluation import evaluate_run
    from ganzoo.metrics.protocol import EvalProtocol

    run = tmp_path / "run"
    ganzoo.train("pixelcnn", steps=5, batch_size=16, out=run, progress=False, **TINY)
    report = evaluate_run(run, EvalProtocol(metrics=("bits_per_dim", "sharpness"), num_samples=64))
    heldout = load_digits(DataRequest(split="test", options={"native": True})).x
    with torch.no_grad():
        expected = float(ganzoo.load(run).bits_per_dim(heldout).mean())
    assert report.scores["bits_per_dim"] == pytest.approx(expected, rel=1e-6) and "bits_per_dim_bound" not in report.scores
    assert report.protocols["bits_per_dim"] == {"reference": "digits:test", "num_images": 360, "shape": [1, 8, 8],
                                                "levels": 17}
    assert report.protocols["sharpness"]["image_size"] == [1, 32, 32]  # samples are scored upsampled, as real digits


def test_resume_is_bitwise(tmp_path):
    """6 steps straight equal 3 steps, a resume in a new trainer and 3 more: every tensor of the checkpoint."""
    options = {"steps": 6, "checkpoint_every": 3, "log_every": 1, "batch_size": 16, "progress": False, **TINY}
    ganzoo.train("pixelcnn", out=tmp_path / "a", **options)
    ganzoo.train("pixelcnn", out=tmp_path / "b", **{**options, "steps": 3})
    ganzoo.train(resume=tmp_path / "b", steps=6, progress=False)
    a, b = (read_checkpoint(tmp_path / run / "checkpoints" / "step-00000006.safetensors").tensors for run in "ab")
    kept = [k for k in a if not k.startswith("rng/")]
    assert any(k.startswith("optim/") for k in kept) and not any(k.startswith("discriminator/") for k in a)
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in kept)


def test_ganzoo_check_passes_with_the_defaults():
    report = ganzoo.check("pixelcnn", device="cpu")
    assert report.ok, [(f.check, f.status, f.message) for f in report.findings]


@pytest.mark.parametrize("args,key", [(["--d-steps", "2"], "d_steps"), (["--loss", "hinge"], "loss"),
                                      (["--lr-d", "1e-3"], "lr_d")])
def test_discriminator_options_are_refused_in_one_line_writing_nothing(cli, tmp_path, args, key):
    out = tmp_path / "run"
    result = cli("train", "pixelcnn", "--steps", "2", "--out", out, *args)
    lines = result.err.strip().splitlines()
    assert result.code == 2 and len(lines) == 1, result.err
    assert lines[0].startswith("ganzoo: error: ") and f"has no discriminator, so it takes no {key}" in lines[0]
    assert not out.exists() and list(tmp_path.iterdir()) == []
