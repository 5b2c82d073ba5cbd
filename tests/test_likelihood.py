"""The likelihood baselines' core: native digits, the score view, bits_per_dim, the Parzen estimate, sharpness, vae."""

from __future__ import annotations

import math

import pytest
import torch
from test_contracts import assert_resume_is_bitwise

import ganzoo
from ganzoo.data.base import DataRequest
from ganzoo.data.digits import load_digits, to_scored
from ganzoo.errors import ConfigError
from ganzoo.evaluation import evaluate_run
from ganzoo.metrics.likelihood import parzen_log_likelihood, parzen_scores, validation_images
from ganzoo.metrics.protocol import EvalProtocol
from ganzoo.metrics.sharpness import laplacian_variance
from ganzoo.plugins import get_registry
from ganzoo_vae.nets import VAE, level_indices


class Fixed(torch.nn.Module):
    """A network replaced by a fixed output, for computations by hand."""

    def __init__(self, output: torch.Tensor) -> None:
        super().__init__()
        self.output = output

    def forward(self, _: torch.Tensor) -> torch.Tensor:
        return self.output


def digits(split: str, native: bool = False):
    return load_digits(DataRequest(split=split, options={"native": native}))


# ---- native digits and their score view -------------------------------------------------------------------------
def test_native_digits_hold_17_levels_and_upsample_to_exactly_the_default_digits():
    native, default = digits("test", native=True), digits("test")
    assert native.x.shape[1:] == (1, 8, 8) and native.info.extras["levels"] == 17
    assert sorted(set(native.x.unique().tolist())) == [level / 8 - 1 for level in range(17)]
    assert torch.equal(to_scored(native.x, default.info), default.x)


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "vae"
    ganzoo.train("vae", steps=40, out=path, progress=False, width=8, latent_dim=4)
    return path


def test_a_native_run_is_scored_beside_the_gans_of_the_default_digits(vae_run, tiny_run, private_cache):
    protocol = EvalProtocol(metrics=("fid", "sharpness", "bits_per_dim"), num_samples=200)
    vae = evaluate_run(vae_run, protocol)
    gan = evaluate_run(tiny_run, protocol.with_changes(metrics=("fid", "sharpness")))
    assert vae.protocols["fid"] == gan.protocols["fid"] and vae.protocols["sharpness"] == gan.protocols["sharpness"]
    assert vae.protocols["fid"]["image_size"] == [1, 32, 32] and vae.protocols["fid"]["reference"] == "digits:train"
    assert vae.scores["sharpness_real"] == gan.scores["sharpness_real"]
    assert vae.protocols["bits_per_dim"] == {"reference": "digits:test", "num_images": 360, "shape": [1, 8, 8],
                                             "levels": 17}
    assert set(vae.scores) >= {"bits_per_dim_bound"} and "bits_per_dim" not in vae.scores
    assert 0 < vae.scores["bits_per_dim_bound"] < 2 * math.log2(17)


def test_bits_per_dim_is_refused_for_a_gan_in_one_line(tiny_run, cli):
    result = cli("eval", tiny_run, "--metrics", "bits_per_dim")
    assert result.code == 2 and "scores a model's likelihood" in result.err and result.err.count("\n") == 1


# ---- the vae's ELBO, by hand ---------------------------------------------------------------------------------------
def test_the_elbo_in_bits_per_dim_matches_a_hand_computation():
    torch.manual_seed(0)
    model = VAE(channels=1, size=8, width=2, latent_dim=2, levels=3)
    x = torch.tensor([-1.0, 0.0, 1.0, 0.0] * 16).view(1, 1, 8, 8)
    mean, log_var = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.0, math.log(0.25)]])
    logits = torch.zeros(1, 3, 1, 8, 8)
    logits[:, 1] = math.log(2.0)  # every pixel: p = (1/4, 1/2, 1/4) over the levels -1, 0, 1
    model.encode, model.decode = Fixed(torch.cat([mean, log_var], dim=1)), Fixed(logits)
    nll_nats = 32 * math.log(4) + 32 * math.log(2)  # 32 pixels at -1 or 1 (p 1/4), 32 at 0 (p 1/2)
    kl_nats = 0.5 * ((0.25 + 1 - 1 - 0) + (1 + 0.25 - 1 - math.log(0.25)))
    bits = model.bits_per_dim(x, generator=torch.Generator().manual_seed(0))
    assert bits.shape == (1,) and float(bits) == pytest.approx((nll_nats + kl_nats) / (64 * math.log(2)), rel=1e-6)
    assert level_indices(x, 3).flatten()[:4].tolist() == [0, 1, 2, 1]


def test_a_vae_sample_is_the_decoders_expected_image():
    torch.manual_seed(0)
    model = VAE(channels=1, size=8, width=2, latent_dim=2, levels=3)
    logits = torch.zeros(1, 3, 1, 8, 8)
    logits[:, 2] = math.log(2.0)  # p = (1/4, 1/4, 1/2): E = -1/4 + 0 + 1/2
    model.decode = Fixed(logits)
    assert torch.allclose(model(torch.zeros(1, 2)), torch.full((1, 1, 8, 8), 0.25))


def test_vae_resumes_bitwise(tmp_path):
    assert_resume_is_bitwise(get_registry(), "vae", tmp_path, width=4, latent_dim=2, kl_warmup=4)


def test_ganzoo_check_vae_passes():
    report = ganzoo.check("vae", device="cpu")
    assert report.ok, report


@pytest.mark.parametrize("option", [("--d-steps", "2"), ("--loss", "hinge"), ("--lr-d", "1e-3")])
def test_discriminator_options_are_refused_for_the_vae(cli, tmp_path, option):
    result = cli("train", "vae", "--out", tmp_path / "run", *option)
    assert result.code == 2 and "has no discriminator" in result.err and result.err.count("\n") == 1
    assert not (tmp_path / "run").exists()


# ---- the Parzen estimate -----------------------------------------------------------------------------------------
def test_parzen_log_likelihood_matches_a_hand_computation():
    samples, image = torch.tensor([[0.0], [1.0]]), torch.tensor([[0.5]])
    expected = math.log(0.5 * 2 * math.exp(-0.125) / math.sqrt(2 * math.pi))
    assert float(parzen_log_likelihood(samples, image, 1.0)) == pytest.approx(expected)
    two_d = parzen_log_likelihood(torch.zeros(1, 2), torch.tensor([[3.0, 4.0]]), 0.5)
    assert float(two_d) == pytest.approx(-25 / (2 * 0.25) - math.log(2 * math.pi * 0.25))


def draw(pool: torch.Tensor, n: int = 2000) -> torch.Tensor:
    return pool[torch.randint(len(pool), (n,), generator=torch.Generator().manual_seed(1))]


def test_parzen_ranks_a_copy_of_the_training_images_above_novel_faithful_samples():
    """Theis et al. 2016: a model that copies what it was fitted on beats one that makes new, faithful digits.

    The copier copies the training images outside the validation subset (those it "trained" on); the novel
    model draws training digits shifted one pixel sideways, and a 4-step-blurred one draws real digits blurred.
    A copier of every training image, validation subset included, is caught: its exact copies of validation
    images pull the bandwidth down, and held-out images score lower.
    """
    train, test = digits("train").x, digits("test").x
    validation = validation_images(train)
    held = {tuple(v.flatten().tolist()) for v in validation}
    rest = torch.stack([t for t in train if tuple(t.flatten().tolist()) not in held])
    copier = parzen_scores(draw(rest), train, test, None)
    shifted = parzen_scores(draw(torch.roll(train, 1, dims=-1)), train, test, None)
    blurred = torch.nn.functional.avg_pool2d(train, 3, stride=1, padding=1, count_include_pad=False)
    blur = parzen_scores(draw(blurred), train, test, None)
    assert copier["parzen"] > shifted["parzen"] and copier["parzen"] > blur["parzen"]
    caught = parzen_scores(draw(train), train, test, None)
    assert caught["parzen_sigma"] < copier["parzen_sigma"] and caught["parzen"] < copier["parzen"]


@pytest.mark.parametrize("value", ["0", "-0.1", "nan"])
def test_a_parzen_bandwidth_that_is_not_positive_is_one_line(cli, vae_run, value):
    result = cli("eval", vae_run, "--metrics", "parzen", "--parzen-bandwidth", value, "--json")
    assert result.code == 2 and "Parzen bandwidth must be a positive number" in result.err and not result.out
    with pytest.raises(ConfigError):
        EvalProtocol(parzen_bandwidth=float(value))


# ---- sharpness -------------------------------------------------------------------------------------------------------
def test_blur_lowers_sharpness_and_a_flat_image_has_none():
    real = digits("test").x
    def blur(images):
        return torch.nn.functional.avg_pool2d(images, 3, stride=1, padding=1, count_include_pad=False)

    once, twice = laplacian_variance(blur(real)).mean(), laplacian_variance(blur(blur(real))).mean()
    assert twice < once < laplacian_variance(real).mean()
    assert torch.all(laplacian_variance(torch.zeros(2, 1, 8, 8)) == 0)


def test_a_suite_asking_bits_per_dim_of_a_gan_is_refused(tmp_path):
    from ganzoo.benchmarking.suite import SuiteError, load_suite

    suite = tmp_path / "s.toml"
    suite.write_text('name = "s"\n[[entry]]\nname = "g"\nmodel = "dcgan"\nsteps = 2\n'
                     '[entry.protocol]\nmetrics = ["fid", "bits_per_dim"]\n')
    with pytest.raises(SuiteError, match="entry 'g': metric 'bits_per_dim' scores a model's likelihood"):
        load_suite(suite)
