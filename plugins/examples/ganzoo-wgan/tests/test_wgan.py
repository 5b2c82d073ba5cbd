"""Tests of the installed ganzoo-wgan plugin: `pip install -e ".[test]"`, then `pytest`."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganzoo import api
from ganzoo.plugins import get_registry
from ganzoo_wgan.losses import LSGAN, WASSERSTEIN
from ganzoo_wgan.objective import gradient_penalty, interpolate


def test_the_variant_and_losses_are_listed_from_this_distribution():
    models = {row["name"]: row for row in api.list_entries("models")}
    losses = {row["name"]: row for row in api.list_entries("losses")}
    assert models["wgan-gp"]["distribution"] == "ganzoo-wgan" and models["wgan-gp"]["version"] == "0.1.0"
    assert {"wasserstein", "lsgan"} <= set(losses)
    assert {losses[name]["plugin"] for name in ("wasserstein", "lsgan")} == {"wgan"}


def test_paper_hyper_parameters_are_the_defaults():
    defaults = api.info("wgan-gp")["defaults"]
    assert defaults["d_steps"] == 5 and defaults["gp_weight"] == 10.0 and defaults["loss"] == "wasserstein"
    assert defaults["lr_g"] == defaults["lr_d"] == 1e-4 and list(defaults["betas"]) == [0.0, 0.9]


def test_losses_on_known_scores():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.5])
    assert WASSERSTEIN.d_loss(real, fake) == pytest.approx(-0.75 - 1.25)  # mean(fake) - mean(real)
    assert WASSERSTEIN.g_loss(fake) == pytest.approx(0.75)
    assert LSGAN.d_loss(real, fake) == pytest.approx(0.5 * (1 + 0.25) / 2 + 0.5 * (4 + 0.25) / 2)
    assert LSGAN.g_loss(fake) == pytest.approx(0.5 * (9 + 0.25) / 2)


def test_gradient_penalty_of_a_linear_critic():
    slope = torch.tensor([3.0, 4.0])  # gradient norm 5 everywhere: penalty (5 - 1)^2
    points = torch.randn(6, 2, requires_grad=True)
    assert gradient_penalty(points @ slope, points).item() == pytest.approx(16.0)


def test_interpolation_uses_one_weight_per_sample():
    torch.manual_seed(0)
    real, fake = torch.zeros(2000, 1, 4, 4), torch.ones(2000, 1, 4, 4)
    mixed = interpolate(real, fake)
    per_sample = mixed.flatten(1)
    assert torch.equal(per_sample.min(dim=1).values, per_sample.max(dim=1).values)  # constant within a sample
    assert 0.27 < float(per_sample[:, 0].std()) < 0.31  # U[0, 1] across samples: std 0.289


def test_the_critic_has_no_batch_norm():
    from ganzoo.plugin import BuildContext, DataInfo, RunConfig

    spec = get_registry().model("wgan-gp")
    hparams = {name: option.default for name, option in spec.options.items()}
    critic = spec.build_discriminator(BuildContext(DataInfo("image", (1, 32, 32)), RunConfig({"model": hparams})))
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules())
    assert any(isinstance(m, nn.GroupNorm) and m.num_groups == 1 for m in critic.modules())  # layer norm


def test_the_dry_run_passes():
    report = api.check("wgan-gp", device="cpu", g_width=8, d_width=8)
    assert report.ok, [f"{f.check}: {f.message}" for f in report.failed]


def test_it_trains_with_five_critic_steps_per_generator_step(tmp_path):
    run = api.train("wgan-gp", steps=2, batch_size=8, g_width=8, d_width=8, device="cpu",
                    out=tmp_path / "run", progress=False)
    assert run.step == 2 and {"loss_d", "loss_g", "gp", "wasserstein"} <= set(run.last_log)
    assert api.load_run(run.path).checkpoint.meta["batches_drawn"] == 10  # 2 steps x 5 critic batches


@pytest.mark.parametrize("loss", ["wasserstein", "lsgan"])
def test_its_losses_train_a_builtin_variant(loss, tmp_path):
    run = api.train("dcgan", loss=loss, steps=1, batch_size=8, g_width=8, d_width=8, latent_dim=16, device="cpu",
                    out=tmp_path / "run", progress=False)
    assert run.step == 1 and math.isfinite(run.last_log["loss_d"]) and math.isfinite(run.last_log["loss_g"])
