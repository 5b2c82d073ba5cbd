"""The example third-party distribution plugins/examples/ganzoo-wgan: outside ganzoo's own install,
installed with one pip command, listed with its distribution, trained through the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile

import pytest

from plugin_env import BUILD_LITTER, ROOT, copy_source

EXAMPLE = ROOT / "plugins" / "examples" / "ganzoo-wgan"
TINY_WGAN = ["--set", "g_width=8", "--set", "d_width=8", "--set", "latent_dim=16"]


@pytest.fixture(scope="module")
def wgan_env(plugin_env, tmp_path_factory):
    """The throwaway environment with the example installed the way users install it (a built wheel)."""
    source = copy_source(EXAMPLE, tmp_path_factory.mktemp("example") / "ganzoo-wgan")
    plugin_env.install(source)
    return plugin_env


def test_ganzoo_own_wheel_leaves_the_example_out(tmp_path):
    tree = tmp_path / "ganzoo"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(".venv", ".git", "runs", *BUILD_LITTER))
    code = f"from setuptools import build_meta; print(build_meta.build_wheel({str(tmp_path)!r}))"
    built = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = zipfile.ZipFile(tmp_path / built.stdout.strip().splitlines()[-1])
    names = wheel.namelist()
    assert not [n for n in names if "wgan" in n or "examples" in n]
    entry_points = wheel.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "wgan" not in entry_points and "dcgan = ganzoo_dcgan" in entry_points
    assert "ganzoo/templates/plugin/pyproject.toml.tmpl" in names  # new-plugin works from a regular install


def test_example_is_listed_with_its_distribution_and_version(wgan_env):
    listed = wgan_env.ganzoo("list", "all", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    wgan = {row["name"]: row for row in data["models"]}["wgan-gp"]
    assert (wgan["plugin"], wgan["distribution"], wgan["version"]) == ("wgan", "ganzoo-wgan", "0.1.0")
    losses = {row["name"]: row["distribution"] for row in data["losses"]}
    assert losses["hinge"] == "ganzoo"  # core's, not redefined by the example
    assert losses["lsgan"] == losses["wasserstein"] == "ganzoo-wgan"
    assert {"dcgan", "vanilla"} <= {row["name"] for row in data["models"]}  # built-ins unaffected


def test_wgan_gp_trains_through_the_cli(wgan_env, tmp_path):
    run = tmp_path / "run"
    trained = wgan_env.ganzoo("train", "wgan-gp", "--dataset", "digits", "--steps", "2", "--batch-size", "8",
                              "--device", "cpu", "--out", run, "--quiet", "--set", "log_every=1", *TINY_WGAN)
    assert trained.returncode == 0, trained.stderr
    logs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logs] == [1, 2] and {"gp", "wasserstein", "loss_d", "loss_g"} <= set(logs[-1])
    config = json.loads((run / "config.json").read_text())["config"]["trainer"]
    assert config["d_steps"] == 5 and config["loss"] == "wasserstein" and config["betas"] == [0.0, 0.9]


def test_the_example_passes_its_own_tests(wgan_env):
    """Among them: its wasserstein and lsgan losses train the built-in dcgan (what `--loss lsgan` selects)."""
    tested = wgan_env.run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", EXAMPLE / "tests", cwd=EXAMPLE)
    assert tested.returncode == 0, tested.stdout + tested.stderr
