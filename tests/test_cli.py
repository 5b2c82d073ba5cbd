"""CLI behaviour: help everywhere, JSON output, and one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest

from conftest import TINY_DCGAN, run_ganzoo


@pytest.mark.parametrize("command", [[], ["list"], ["info"], ["train"], ["sample"], ["plugins"], ["bench"], ["leaderboard"]])
def test_every_command_has_help(cli, command):
    result = cli(*command, "--help")
    assert result.code == 0 and "Usage:" in result.out


def test_version(cli):
    from ganzoo import __version__

    result = cli("--version")
    assert result.code == 0 and __version__ in result.out


def test_info_json_has_defaults_paper_and_modality(cli):
    data = json.loads(cli("info", "dcgan", "--json").out)
    assert data["paper"].startswith("Radford") and data["modality"] == ["image"]
    assert data["defaults"]["lr_g"] == 2e-4 and data["defaults"]["betas"] == [0.5, 0.999]
    assert json.loads(cli("info", "nonsaturating", "--json").out)["kind"] == "loss"
    assert json.loads(cli("info", "digits", "--json").out)["kind"] == "dataset"


def test_list_losses_and_datasets(cli):
    losses = {r["name"] for r in json.loads(cli("list", "losses", "--json").out)}
    datasets = {r["name"] for r in json.loads(cli("list", "datasets", "--json").out)}
    assert {"nonsaturating", "minimax"} <= losses
    assert {"digits", "mnist", "fashion-mnist", "cifar10", "celeba", "folder"} <= datasets


USAGE_ERRORS = [
    (["train", "dcgn"], "unknown model 'dcgn'; did you mean 'dcgan'"),
    (["train", "dcgan", "--dataset", "digit"], "unknown dataset 'digit'; did you mean 'digits'"),
    (["train", "dcgan", "--loss", "nonsaturatin"], "unknown loss 'nonsaturatin'; did you mean 'nonsaturating'"),
    (["train", "dcgan", "--batch-size", "0"], "batch_size must be in [1, inf], got 0"),
    (["train", "dcgan", "--steps", "-3"], "steps must be in [1, inf], got -3"),
    (["train", "dcgan", "--lr-g", "0"], "lr_g must be in (0, 10], got 0.0"),
    (["train", "dcgan", "--image-size", "48"], "dcgan makes 32x32 or 64x64 images, not 48x48"),
    (["train", "dcgan", "--set", "g_width=0"], "g_width must be in [1, 1024], got 0"),
    (["train", "dcgan", "--set", "nope=1"], "unknown option 'nope'"),
    (["train", "dcgan", "--dataset", "mnist", "--data-root", "/nonexistent"], "mnist: no train files at /nonexistent/MNIST/raw"),
    (["train", "dcgan", "--dataset", "ring"], "model 'dcgan' trains on image data, but dataset 'ring' holds points data"),
    (["train", "dcgan", "--device", "cuda"], "no CUDA GPU"),
    (["train", "dcgan", "--precision", "fp16"], "fp16 needs a CUDA device"),
    (["sample", "/nonexistent/run"], "no such run directory or checkpoint"),
    (["info", "dcgam"], "did you mean 'dcgan'"),
]


@pytest.mark.parametrize("args,message", USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_usage_errors_are_one_line_with_exit_code_2(cli, args, message):
    result = cli(*args)
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.err
    assert "Traceback" not in result.err


def test_debug_shows_the_traceback():
    done = run_ganzoo("--debug", "train", "dcgn")
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_out_holding_another_run_is_refused_then_overwritten(cli, tmp_path):
    out = tmp_path / "run"
    assert cli("train", "dcgan", "--steps", "2", "--out", out, "--quiet", *TINY_DCGAN).code == 0
    refused = cli("train", "dcgan", "--steps", "2", "--out", out, "--quiet", *TINY_DCGAN)
    assert refused.code == 2 and "already holds a run" in refused.err
    assert cli("train", "dcgan", "--steps", "3", "--out", out, "--overwrite", "--quiet", *TINY_DCGAN).code == 0
    assert json.loads((out / "config.json").read_text())["config"]["trainer"]["steps"] == 3
