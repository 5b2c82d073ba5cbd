"""The losses against their closed forms, including logits far beyond float32's sigmoid range."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ganzoo import losses


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@pytest.mark.parametrize("real,fake", [(0.0, 0.0), (2.0, -1.0), (-3.0, 4.0), (0.5, 0.5)])
def test_discriminator_loss_matches_closed_form(real, fake):
    expected = -math.log(sigmoid(real)) - math.log(1 - sigmoid(fake))
    got = losses.bce_discriminator_loss(torch.tensor([real]), torch.tensor([fake]))
    assert got.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("fake", [-4.0, -1.0, 0.0, 1.0, 4.0])
def test_generator_losses_match_closed_forms(fake):
    t = torch.tensor([fake])
    assert losses.nonsaturating_generator_loss(t).item() == pytest.approx(-math.log(sigmoid(fake)), rel=1e-5)
    assert losses.minimax_generator_loss(t).item() == pytest.approx(math.log(1 - sigmoid(fake)), rel=1e-5)


def test_losses_average_over_the_batch():
    real, fake = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 3.0])
    expected = sum(-math.log(sigmoid(r)) for r in real.tolist()) / 2 + sum(
        -math.log(1 - sigmoid(f)) for f in fake.tolist()
    ) / 2
    assert losses.bce_discriminator_loss(real, fake).item() == pytest.approx(expected, rel=1e-5)


@given(st.floats(min_value=-1e4, max_value=1e4, allow_nan=False))
def test_extreme_logits_give_finite_losses_and_gradients(logit):
    x = torch.tensor([logit], requires_grad=True)
    for value in (
        losses.bce_discriminator_loss(x, x),
        losses.nonsaturating_generator_loss(x),
        losses.minimax_generator_loss(x),
    ):
        (grad,) = torch.autograd.grad(value, x)
        assert torch.isfinite(value) and torch.isfinite(grad).all()


def test_extreme_logits_match_asymptotes():
    # D(G(z)) -> 0: the non-saturating loss grows like -logit; the minimax loss flattens to 0
    very_fake = torch.tensor([-200.0])
    assert losses.nonsaturating_generator_loss(very_fake).item() == pytest.approx(200.0)
    assert losses.minimax_generator_loss(very_fake).item() == pytest.approx(0.0, abs=1e-30)
    # a confident, correct D has ~0 loss; a confidently wrong one pays |logit| twice
    assert losses.bce_discriminator_loss(torch.tensor([100.0]), torch.tensor([-100.0])).item() == pytest.approx(0.0, abs=1e-30)
    assert losses.bce_discriminator_loss(torch.tensor([-100.0]), torch.tensor([100.0])).item() == pytest.approx(200.0)


def test_minimax_saturates_where_nonsaturating_does_not():
    """Goodfellow et al. 2014, section 3: early in training log(1 - D(G(z))) has vanishing gradient."""
    x = torch.tensor([-10.0], requires_grad=True)
    (g_minimax,) = torch.autograd.grad(losses.minimax_generator_loss(x), x)
    (g_nonsat,) = torch.autograd.grad(losses.nonsaturating_generator_loss(x), x)
    assert abs(g_minimax.item()) < 1e-4 < abs(g_nonsat.item())
