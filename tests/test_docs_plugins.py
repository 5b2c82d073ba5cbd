"""docs/plugins.md stays true: its hooks match ganzoo/hookspecs.py and its code examples run."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import re

import pytest

from ganzoo import api, hookspecs
from plugin_env import ROOT, FakeEntryPoint, module_from, use_entry_points

GUIDE = ROOT / "docs" / "plugins.md"
EXAMPLE_BLOCK = re.compile(r"<!-- example: (?P<name>[\w./-]+) -->\n```\w*\n(?P<code>.*?)```", re.S)
TINY = {"latent_dim": 8, "hidden": 16, "batch_size": 16, "device": "cpu", "progress": False}


def examples() -> dict[str, str]:
    """Code blocks of the guide marked with an `<!-- example: NAME -->` line, by name."""
    return {m["name"]: m["code"] for m in EXAMPLE_BLOCK.finditer(GUIDE.read_text(encoding="utf-8"))}


def hook_specs() -> dict[str, str]:
    return {name: inspect.getdoc(fn) for name, fn in vars(hookspecs).items()
            if callable(fn) and hasattr(fn, f"{hookspecs.PROJECT}_spec")}


def normalise(text: str) -> str:
    return " ".join(text.split())


def test_every_hook_is_documented_with_its_docstring():
    guide = GUIDE.read_text(encoding="utf-8")
    specs = hook_specs()
    assert set(specs) == {"register_models", "register_losses", "register_datasets", "register_metrics",
                          "register_executors", "register_extensions"}
    sections = dict(re.findall(r"^### `(\w+)\(register\)`\n(.*?)(?=^#)", guide, re.M | re.S))
    assert set(sections) == set(specs), "the guide's hook headings differ from ganzoo/hookspecs.py"
    for name, doc in specs.items():
        assert normalise(doc) in normalise(sections[name]), f"{name}: docstring not in its section"


def test_the_minimal_example_fits_in_60_lines_and_trains_through_the_cli(plugin_env, tmp_path):
    blocks = examples()
    module = blocks["minimal-plugin/ganzoo_mlp_gan.py"]
    assert len(module.strip().splitlines()) <= 60
    package = tmp_path / "minimal-plugin"
    package.mkdir()
    (package / "ganzoo_mlp_gan.py").write_text(module)
    (package / "pyproject.toml").write_text(blocks["minimal-plugin/pyproject.toml"])
    plugin_env.install(package)
    run = tmp_path / "run"
    trained = plugin_env.ganzoo("train", "mlp-gan", "--steps", "2", "--batch-size", "16", "--device", "cpu",
                                "--set", "hidden=16", "--out", run, "--quiet")
    assert trained.returncode == 0, trained.stderr
    assert json.loads((run / "config.json").read_text())["model"] == "mlp-gan"


def registered_by(hook) -> list:
    """What a hook function registers."""
    added: list = []
    hook(register=added.append)
    return added


VARIANTS_SOURCE = """
from ganzoo.plugin import hookimpl

@hookimpl
def register_models(register):
    for variant in VARIANTS:
        register(variant)
"""


@pytest.fixture
def guide_plugin(monkeypatch):
    """The guide's examples loaded as plugins: the minimal variant with the loss, dataset and metric, and
    the minimal variant again with the guide's R1 objective and with its warm-up phases, as the guide describes."""
    blocks = examples()
    source = "\n".join(blocks[name] for name in ("minimal-plugin/ganzoo_mlp_gan.py", "loss", "dataset", "metric"))
    guide = module_from(source, "guide_plugin")
    steps = module_from(blocks["r1-objective"] + "\n" + blocks["phases"], "guide_steps")
    (mlp,) = registered_by(guide.register_models)
    variants = module_from(VARIANTS_SOURCE, "guide_variants")
    variants.VARIANTS = [
        dataclasses.replace(mlp, name="mlp-r1", objective=steps.R1Objective(), options={**mlp.options, "r1_gamma": 10.0}),
        dataclasses.replace(mlp, name="mlp-warmup", phases=steps.schedule, options={**mlp.options, "warmup_steps": 2}),
    ]
    use_entry_points(monkeypatch, FakeEntryPoint("guide", guide), FakeEntryPoint("guide-variants", variants),
                     FakeEntryPoint("vanilla", importlib.import_module("ganzoo_vanilla"), "ganzoo"))


def test_the_step_and_phase_examples_train(guide_plugin, tmp_path):
    r1 = api.train("mlp-r1", steps=2, out=tmp_path / "r1", **TINY)
    assert r1.step == 2 and {"loss_d", "loss_g", "r1"} <= set(r1.last_log)
    warm = api.train("mlp-warmup", steps=2, out=tmp_path / "warm", **TINY)
    phases = [json.loads(line)["phase"] for line in (tmp_path / "warm" / "metrics.jsonl").read_text().splitlines()]
    assert warm.step == 4 and phases == ["d-warmup", "adversarial"]


def test_the_loss_and_metric_examples_work(guide_plugin, tmp_path):
    run = api.train("mlp-gan", loss="smoothed", steps=2, out=tmp_path / "run", **TINY)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["config"]["trainer"]["loss"] == "smoothed"
    report = api.evaluate(run.path, metrics="mean-gap", num_samples=64, batch_size=32)
    assert report.scores["mean_gap"] > 0 and report.protocols["mean-gap"]["num_samples"] == 64


def test_the_dataset_example_trains_a_builtin_variant(guide_plugin, tmp_path):
    run = api.train("vanilla", dataset="spiral", steps=2, batch_size=16, g_hidden=16, d_hidden=8, latent_dim=4,
                    device="cpu", progress=False, out=tmp_path / "run")
    info = json.loads((tmp_path / "run" / "config.json").read_text())
    assert run.step == 2 and info["config"]["data"]["dataset"] == "spiral" and info["data_info"]["shape"] == [2]


def test_the_extension_example_applies_to_dcgan_without_dcgan_changing(plugin_env, tmp_path):
    blocks = examples()
    package = tmp_path / "extension-plugin"
    package.mkdir()
    (package / "ganzoo_vflip.py").write_text(blocks["extension-plugin/ganzoo_vflip.py"])
    (package / "pyproject.toml").write_text(blocks["extension-plugin/pyproject.toml"])
    plugin_env.install(package)
    listed = plugin_env.ganzoo("list", "extensions", "--json")
    assert listed.returncode == 0 and "vflip" in {e["name"] for e in json.loads(listed.stdout)}
    run = tmp_path / "run"
    trained = plugin_env.ganzoo("train", "dcgan", "--steps", "2", "--set", "g_width=8", "--set", "d_width=8",
                                "--set", "log_every=1", "--extension", "vflip:0.3", "--out", run, "--quiet")
    assert trained.returncode == 0, trained.stderr
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["vflip_p"] for r in logged] == pytest.approx([0.3, 0.3])
    assert json.loads((run / "config.json").read_text())["config"]["trainer"]["extensions"] == ["vflip:0.3"]
    bad = plugin_env.ganzoo("train", "dcgan", "--steps", "2", "--extension", "vflip:2", "--out", tmp_path / "bad")
    assert bad.returncode == 2 and "vflip: p must be in [0, 1], got 2.0" in bad.stderr and not (tmp_path / "bad").exists()
