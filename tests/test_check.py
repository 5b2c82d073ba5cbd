"""`ganzoo check`: a dry run that names what is wrong with a variant in plain words."""

from __future__ import annotations

import json

import pytest

from ganzoo import api
from plugin_env import FakeEntryPoint, module_from, use_entry_points

TINY = {"g_hidden": 16, "d_hidden": 8, "latent_dim": 4}

# Variants with one bug each, built on the vanilla MLP so each check takes a fraction of a second.
BROKEN_SOURCE = """
import dataclasses

import torch
from torch import nn

from ganzoo.hookspecs import hookimpl
from ganzoo.nets.base import Generator
from ganzoo_vanilla import SPEC
from ganzoo_vanilla.models import MaxoutDiscriminator, build_discriminator, build_generator


class TwoColumnLogits(MaxoutDiscriminator):
    def forward(self, x, labels=None):
        return self.net(x).repeat(1, 2)             # (B, 2): not one logit per sample


class WrongShape(Generator):
    def __init__(self, latent_dim):
        super().__init__(latent_dim, (1, 28, 28))   # digits are (1, 32, 32)
        self.net = nn.Linear(latent_dim, 28 * 28)

    def forward(self, z, labels=None):
        return self.net(z).view(len(z), 1, 28, 28)


class NoLatent(Generator):
    def __init__(self):
        super().__init__(0, (1, 32, 32))            # no latent vector, yet sample() is not overridden
        self.image = nn.Parameter(torch.zeros(1, 1, 32, 32))

    def forward(self, z, labels=None):
        return self.image.expand(len(z), -1, -1, -1)


def two_column_d(ctx):
    return TwoColumnLogits(ctx.data.shape, ctx["d_hidden"], ctx["maxout_pieces"], ctx["dropout"])


def exploding_build(ctx):
    raise ValueError("hidden size must be even")


def lazy_step(state):
    state.next_batch()
    return {"loss_d": torch.zeros(())}              # forgot to optimise anything


def vector_step(state):
    batch = state.next_batch()
    loss = state.discriminator(batch.x).square()
    state.optimize(loss.mean(), "discriminator")
    return {"loss_d": loss.detach()}                # one value per sample, not a scalar


VARIANTS = {
    "ok-mlp": {},
    "bad-logits": {"build_discriminator": two_column_d},
    "bad-shape": {"build_generator": lambda ctx: WrongShape(ctx["latent_dim"])},
    "bad-build": {"build_generator": exploding_build},
    "no-latent": {"build_generator": lambda ctx: NoLatent()},
    "lazy-step": {"train_step": lazy_step},
    "vector-step": {"train_step": vector_step},
}


@hookimpl
def register_models(register):
    for name, changes in VARIANTS.items():
        register(dataclasses.replace(SPEC, name=name, modality="image", **changes))
"""


@pytest.fixture
def broken_variants(monkeypatch):
    use_entry_points(monkeypatch, FakeEntryPoint("broken-variants", module_from(BROKEN_SOURCE, "broken_variants")))


def findings(report) -> dict[str, tuple[str, str]]:
    return {f.check: (f.status, f.message) for f in report.findings}


def test_a_sound_variant_passes_every_check(broken_variants):
    report = api.check("ok-mlp", device="cpu", **TINY)
    assert report.ok and report.data_shape == [1, 32, 32] and report.batch_size == 16
    assert [f.check for f in report.findings] == [
        "data", "build", "generator", "discriminator", "setup", "step adversarial", "checkpoint"]
    assert "updated generator, discriminator" in findings(report)["step adversarial"][1]


EXPECTED = [
    ("bad-logits", "discriminator", "D gave shape (16, 2) for 16 real samples; it must return one raw logit per sample"),
    ("bad-shape", "generator", "G.output_shape is (1, 28, 28) but the data's samples are (1, 32, 32)"),
    ("bad-build", "build", "ValueError: hidden size must be even (at broken_variants.py:41)"),
    ("no-latent", "generator", "G.latent_dim is 0; pass the latent size to Generator.__init__ (0 only for generators"),
    ("lazy-step", "step adversarial", "the step changed no parameters"),
    ("vector-step", "step adversarial", "the step's output 'loss_d' is shape (16,); log one number per key"),
]


@pytest.mark.parametrize("model,check,message", EXPECTED, ids=[e[0] for e in EXPECTED])
def test_each_broken_contract_is_named_in_plain_words(broken_variants, model, check, message):
    report = api.check(model, device="cpu", **TINY)
    status, text = findings(report)[check]
    assert not report.ok and status == "fail" and message in text, text
    failed_at = [f.check for f in report.findings].index(check)
    assert all(f.status == "skipped" for f in report.findings[failed_at + 1:])  # what needs it is not attempted


def test_the_cli_reports_ok_in_a_few_lines(cli, broken_variants):
    result = cli("check", "ok-mlp", "--device", "cpu", *[f"--set={k}={v}" for k, v in TINY.items()])
    assert result.code == 0, result.err
    lines = result.out.strip().splitlines()
    assert lines[-1] == "OK: ok-mlp passed 7 checks" and len(lines) == 9


def test_the_cli_exits_2_naming_the_failure(cli, broken_variants):
    result = cli("check", "bad-logits", "--set", "d_hidden=8")
    assert result.code == 2
    assert "FAIL  discriminator" in result.out and "skip  setup" in result.out
    assert result.err.strip().splitlines() == [
        "ganzoo: error: bad-logits: 1 check failed, 3 skipped (first: discriminator: D gave shape (16, 2) for 16 real "
        "samples; it must return one raw logit per sample, shape (16,) (end forward with .view(len(x))))"]


def test_json_report(cli, broken_variants):
    result = cli("check", "lazy-step", "--json", "--set", "d_hidden=8")
    assert result.code == 2
    data = json.loads(result.out)
    assert data["ok"] is False and data["model"] == "lazy-step" and data["dataset"] == "digits"
    assert {f["check"]: f["status"] for f in data["findings"]}["step adversarial"] == "fail"


def test_unknown_model_is_a_one_line_error(cli):
    result = cli("check", "dcgn")
    assert result.code == 2 and "unknown model 'dcgn'; did you mean 'dcgan'" in result.err


@pytest.mark.parametrize("command", ["check", "new-plugin"])
def test_authoring_commands_have_help(cli, command):
    result = cli(command, "--help")
    assert result.code == 0 and "Usage:" in result.out
