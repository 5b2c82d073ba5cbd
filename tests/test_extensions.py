"""Training extensions: EMA, DiffAugment, ADA, R1, LeCam; their math, exact resume, selection and bad input."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import torch
from torch import nn

import ganzoo
from conftest import ROOT, TINY_DCGAN
from ganzoo.driver.state import DiscriminatorStep, Losses
from ganzoo.errors import GanzooError
from ganzoo.extensions.augment import ADA, ada_augment, color, cutout, parse_policy, translation
from ganzoo.extensions.ema import EMAGenerator, ramped_decay, recompute_batch_norm
from ganzoo.extensions.regularizers import R1, LeCam
from ganzoo.storage.checkpoint import read_checkpoint

TINY = {"g_width": 8, "d_width": 8, "latent_dim": 16, "log_every": 2, "checkpoint_every": 6, "sample_every": 0}
EACH = {
    "ema": {"ema": 0.9, "ema_start": 2},
    "diffaugment": {"augment": "diffaugment"},
    "ada": {"augment": "ada:0.2", "ada_kimg": 1.0},
    "r1-lazy": {"reg": ["r1:1:2"]},
    "lecam": {"reg": ["lecam:0.3"]},
}


def tensors_at(run_dir, step: int) -> dict[str, torch.Tensor]:
    return read_checkpoint(run_dir / "checkpoints" / f"step-{step:08d}.safetensors").tensors


# ---- exact resume -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(EACH))
def test_each_extension_resumes_bitwise(tmp_path, name):
    options = {**TINY, **EACH[name]}
    ganzoo.train("dcgan", steps=12, out=tmp_path / "straight", progress=False, **options)
    ganzoo.train("dcgan", steps=6, out=tmp_path / "split", progress=False, **options)
    ganzoo.train(resume=tmp_path / "split", steps=12, progress=False)
    a, b = tensors_at(tmp_path / "straight", 12), tensors_at(tmp_path / "split", 12)
    assert set(a) == set(b)
    own = [k for k in a if k.startswith("extension/")]
    assert (name in ("diffaugment", "r1-lazy")) or own, "the extension keeps resumable state"
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, different[:3]


def test_all_extensions_together_survive_a_kill_and_resume_exactly(tmp_path):
    """SIGKILL a combined run after its first checkpoint; resuming it ends bitwise where an uninterrupted run does."""
    flags = [*TINY_DCGAN, "--ema", "0.95", "--augment", "ada:0.2", "--set", "ada_kimg=1", "--reg", "r1:1:2",
             "--reg", "lecam:0.3", "--set", "checkpoint_every=5", "--set", "sample_every=0", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def ganzoo_cli(*args):
        return [sys.executable, "-m", "ganzoo", *map(str, args)]

    done = subprocess.run(ganzoo_cli("train", "dcgan", "--steps", "20", "--out", tmp_path / "straight", *flags),
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    victim = subprocess.Popen(ganzoo_cli("train", "dcgan", "--steps", "100000", "--out", tmp_path / "killed", *flags),
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = tmp_path / "killed" / "checkpoints" / "step-00000005.safetensors"
    deadline = time.monotonic() + 240
    while not first.exists() and time.monotonic() < deadline and victim.poll() is None:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    saved = sorted(p.name for p in (tmp_path / "killed" / "checkpoints").glob("step-*.safetensors"))
    assert saved and saved[-1] < "step-00000020.safetensors", saved
    resumed = subprocess.run(ganzoo_cli("train", "--resume", tmp_path / "killed", "--steps", "20", "--quiet"),
                             env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    a, b = tensors_at(tmp_path / "straight", 20), tensors_at(tmp_path / "killed", 20)
    assert {k.split("/")[1] for k in a if k.startswith("extension/")} == {"ema", "ada", "lecam"}
    assert all(torch.equal(a[k], b[k]) for k in a) and set(a) == set(b)


# ---- EMA ----------------------------------------------------------------------------------------
def test_ema_follows_g_until_its_start_then_averages_with_the_ramped_decay():
    G = nn.Linear(1, 1, bias=False)
    ema = EMAGenerator(0.9, start=2, ramp=0.0)
    state = SimpleNamespace(generator=G, step=0)
    ema.setup(state)
    for step, value in enumerate([1.0, 2.0, 3.0, 4.0]):
        with torch.no_grad():
            G.weight.fill_(value)
        state.step = step
        ema.after_optimizer_step(state, "discriminator")  # only G steps count
        ema.after_optimizer_step(state, "generator")
    # steps 0 and 1 copy G (2.0); step 2: 0.9 * 2 + 0.1 * 3 = 2.1; step 3: 0.9 * 2.1 + 0.1 * 4 = 2.29
    assert float(ema.average.module.weight) == pytest.approx(2.29)


def test_the_decay_ramp_bounds_the_half_life_by_a_share_of_the_steps_averaged():
    assert ramped_decay(0.999, 0, 0.1) == 0.999
    assert ramped_decay(0.999, 100, 0.1) == pytest.approx(0.5 ** (1 / 10))  # half-life 10 updates
    assert ramped_decay(0.999, 10**6, 0.1) == 0.999
    assert ramped_decay(0.999, 100, 0.0) == 0.999


def test_batch_norm_statistics_are_recomputed_for_the_averaged_weights_without_touching_the_rng():
    from ganzoo.plugin import DCGANGenerator

    G = DCGANGenerator(8, 1, 32, 8)
    bn = next(m for m in G.modules() if isinstance(m, nn.BatchNorm2d))
    before = torch.get_rng_state()
    recompute_batch_norm(G)
    first = bn.running_mean.clone()
    recompute_batch_norm(G)
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(bn.running_mean, first) and not torch.equal(first, torch.zeros_like(first))
    assert bn.momentum == 0.1  # the module's own momentum is restored


def test_sampling_and_scores_use_the_ema_by_default_and_say_so(tmp_path, cli):
    run = ganzoo.train("dcgan", steps=6, out=tmp_path / "run", progress=False, ema=0.5, **TINY)
    assert ganzoo.load_run(run.path).weights == "ema" and ganzoo.load_run(run.path, weights="raw").weights == "raw"
    ema_images = ganzoo.sample(run.path, 8, seed=3)
    raw_images = ganzoo.sample(run.path, 8, seed=3, weights="raw")
    assert not torch.equal(ema_images, raw_images)
    report = ganzoo.evaluate(run.path, metrics="fid", num_samples=64, batch_size=32)
    assert report.weights == "ema" and report.to_json()["weights"] == "ema"
    raw = cli("eval", run.path, "--metrics", "fid", "--num-samples", "64", "--weights", "raw", "--json")
    assert raw.code == 0, raw.err
    assert json.loads(raw.out)["weights"] == "raw" and json.loads(raw.out)["eval"]["fid"] != report.scores["fid"]


# ---- augmentation -------------------------------------------------------------------------------
def test_translation_shifts_whole_pixels_with_zero_fill_and_cutout_zeroes_a_half_size_square():
    torch.manual_seed(0)
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, 8, 8] = 1.0
    moved = translation(x)
    kept = moved.flatten(1).sum(1)
    assert set(kept.tolist()) <= {1.0}  # the one bright pixel moves by at most 2 pixels, never off the image
    where = moved[:, 0].flatten(1).argmax(1)
    dy, dx = where // 16 - 8, where % 16 - 8
    assert dy.abs().max() <= 2 and dx.abs().max() <= 2 and (dy != 0).any() and (dx != 0).any()
    ones = torch.ones(64, 1, 16, 16)
    zeroed = (cutout(ones) == 0).flatten(1).sum(1)
    assert zeroed.max() == 64 and zeroed.min() > 0  # an 8x8 square, clipped where it crosses the border


def test_augmentations_pass_gradients_and_colour_leaves_grey_images_grey():
    x = torch.rand(8, 1, 16, 16, requires_grad=True)
    (translation(color(x)).sum() + cutout(x).sum() + ada_augment(x, 0.9).sum()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert color(torch.rand(4, 1, 8, 8)).shape == (4, 1, 8, 8)
    assert torch.equal(ada_augment(x.detach(), 0.0), x.detach())


def test_a_policy_typo_gets_a_suggestion():
    assert parse_policy("") == ("color", "translation", "cutout")
    with pytest.raises(GanzooError, match="did you mean 'translation'"):
        parse_policy("color,translaton")


def _d_step(real_logits: torch.Tensor, step: int = 0):
    state = SimpleNamespace(step=step)
    losses = Losses(torch.tensor(0.0), real_logits, torch.zeros_like(real_logits))
    return DiscriminatorStep(state, None, None, None, None, None, 0), losses


def test_ada_raises_p_while_d_is_sure_of_the_reals_and_lowers_it_when_not():
    ada = ADA(target=0.6, kimg=0.256)  # 256 images move p by 1
    for _ in range(8):  # two adjustments of 4 D steps x 16 images: +0.25 each
        ada.discriminator_terms(*_d_step(torch.ones(16)))
    assert ada.p == pytest.approx(0.5) and ada.last_rt == 1.0
    for _ in range(4):
        ada.discriminator_terms(*_d_step(-torch.ones(16)))
    assert ada.p == pytest.approx(0.25)
    restored = ADA(0.6, 0.256)
    restored.load_state_dict(ada.state_dict())
    assert (restored.p, restored.steps, restored.last_rt) == (ada.p, ada.steps, ada.last_rt)


# ---- regularisers -------------------------------------------------------------------------------
def test_r1_of_a_linear_critic_is_half_gamma_times_its_squared_weight_norm():
    w = torch.tensor([3.0, 4.0])
    real = torch.randn(5, 2, requires_grad=True)
    logits = real @ w
    r1 = R1(gamma=10.0, every=2)
    step = DiscriminatorStep(SimpleNamespace(step=4), real, real, None, None, None, 0)
    terms = r1.discriminator_terms(step, Losses(torch.tensor(0.0), logits, logits))
    assert float(terms["r1"]) == pytest.approx(10.0 / 2 * 25.0 * 2)  # |w|^2 = 25, lazy x2
    assert r1.discriminator_terms(DiscriminatorStep(SimpleNamespace(step=5), real, real, None, None, None, 0),
                                  Losses(torch.tensor(0.0), logits, logits)) == {}


def test_lecam_penalises_outputs_beyond_the_anchors_and_moves_them():
    lecam = LeCam(weight=2.0, decay=0.5)
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 1.0])
    step = DiscriminatorStep(SimpleNamespace(step=0), None, None, None, None, None, 0)
    term = lecam.discriminator_terms(step, Losses(torch.tensor(0.0), real, fake))["lecam"]
    # anchors 0: relu(real - 0)^2 mean = (1 + 9) / 2 = 5; relu(0 - fake)^2 mean = (1 + 0) / 2 = 0.5
    assert float(term) == pytest.approx(2.0 * 5.5)
    assert lecam.anchors.tolist() == pytest.approx([1.0, 0.0])  # 0.5 * 0 + 0.5 * mean(real) = 1; fake mean 0


# ---- selection and bad input -------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--extension", "emma"], "unknown training extension 'emma'; did you mean 'ema'?"),
    (["--augment", "difaugment"], "unknown augmentation 'difaugment'; did you mean 'diffaugment'?"),
    (["--augment", "diffaugment:color,flip"], "unknown DiffAugment policy 'flip'"),
    (["--augment", "lecam:1"], "lecam is not asked for with augment: use reg"),
    (["--ema", "1.0"], "ema must be in (0, 1), got 1"),
    (["--ema", "0"], "ema must be in (0, 1), got 0"),
    (["--reg", "r1:-1"], "r1's gamma must be >= 0, got -1"),
    (["--reg", "lecam:-0.5"], "lecam's weight must be >= 0, got -0.5"),
    (["--reg", "r1:x"], "r1's gamma must be a number"),
])
def test_bad_extension_input_is_one_line_exit_2_and_writes_nothing(cli, tmp_path, args, message):
    out = tmp_path / "run"
    result = cli("train", "dcgan", "--steps", "2", "--out", out, "--quiet", *TINY_DCGAN, *args)
    assert result.code == 2, result.err
    lines = [line for line in result.err.strip().splitlines() if "warning" not in line]
    assert len(lines) == 1 and message in lines[0], result.err
    assert not out.exists()


@pytest.mark.parametrize("model, dataset", [("vanilla", "ring"), ("seqgan", "oracle")])
def test_augmentation_is_refused_on_points_and_sequence_models(cli, tmp_path, model, dataset):
    out = tmp_path / "run"
    result = cli("train", model, "--dataset", dataset, "--steps", "2", "--out", out, "--augment", "diffaugment")
    assert result.code == 2 and "augment" in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert not out.exists()


def test_weights_ema_on_a_run_without_ema_is_refused(cli, tmp_path):
    run = ganzoo.train("dcgan", steps=2, out=tmp_path / "run", progress=False, **TINY)
    out = tmp_path / "grid.png"
    result = cli("sample", run.path, "--weights", "ema", "--out", out)
    assert result.code == 2 and "trained without --ema" in result.err
    assert not out.exists()
    assert cli("eval", run.path, "--weights", "ema").code == 2


def test_extensions_combine_and_log_what_they_do(tmp_path):
    run = ganzoo.train("dcgan", steps=4, out=tmp_path / "run", progress=False, ema=0.9, augment="ada",
                       reg=["r1:1", "lecam:0.1"], **TINY)
    assert {"ada_p", "ada_rt", "r1", "lecam"} <= set(run.last_log)
    assert all(math.isfinite(v) for v in run.last_log.values() if isinstance(v, float))
    stored = json.loads((run.path / "config.json").read_text())["config"]["trainer"]
    assert stored["ema"] == 0.9 and stored["augment"] == "ada" and stored["reg"] == ["r1:1", "lecam:0.1"]


def test_data_fraction_trains_on_a_seeded_subset_but_scores_against_the_whole_split(tmp_path):
    from ganzoo.configure import resolve_run
    from ganzoo.plugins import get_registry
    from ganzoo.trainer.setup import prepare_state

    registry = get_registry()
    spec, config = resolve_run(registry, "dcgan", {"fraction": 0.1, "seed": 3, **TINY})
    state = prepare_state(registry, spec, config)
    _, other_seed = resolve_run(registry, "dcgan", {"fraction": 0.1, "seed": 4, **TINY})
    assert len(state.data) == 143  # int(1437 * 0.1)
    assert torch.equal(state.data.x, prepare_state(registry, spec, other_seed).data.x)  # the same images for every seed
    run = ganzoo.train("dcgan", steps=2, out=tmp_path / "run", progress=False, fraction=0.1, **TINY)
    report = ganzoo.evaluate(run.path, metrics="fid", num_samples=64, batch_size=32)
    assert report.protocols["fid"]["num_real"] == 1437


def test_ganzoo_plot_draws_adas_p_in_its_own_panel(tmp_path):
    from ganzoo.analysis.curves import _panels, collect, plot_curves

    run = ganzoo.train("dcgan", steps=4, out=tmp_path / "run", progress=False, augment="ada", reg=["r1:1"],
                       **{**TINY, "log_every": 1})
    path, curves = plot_curves(run.path)
    panels = dict(_panels(collect([json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()])))
    assert path.is_file() and panels["ADA: augmentation probability p, overfitting r_t"] == ["ada_p", "ada_rt"]
    assert panels["regulariser terms"] == ["r1"] and len(curves.series["ada_p"][0]) == 4
