"""Plugin discovery: entry points, GANZOO_LOAD_PLUGINS, broken plugins reported by name."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from conftest import TINY_DCGAN, run_ganzoo
from ganzoo import plugins


def make_distribution(site: Path, dist: str, module: str, source: str, entry: str | None = None) -> None:
    """A throwaway installed distribution: a module plus a dist-info with a `ganzoo` entry point."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text(f"[ganzoo]\n{entry or module} = {module}\n")


def test_builtin_variants_are_listed_with_their_plugin(cli):
    result = cli("list", "--json")
    assert result.code == 0
    rows = {r["name"]: r for r in json.loads(result.out)}
    assert {"vanilla", "dcgan"} <= set(rows)
    assert rows["dcgan"]["plugin"] == "dcgan" and rows["dcgan"]["distribution"] == "ganzoo"
    assert rows["vanilla"]["plugin"] == "vanilla" and rows["vanilla"]["version"]


def test_builtins_come_from_entry_points_not_a_shortcut():
    from importlib import metadata

    names = {ep.name: ep.value for ep in metadata.entry_points(group="ganzoo")}
    assert names.get("dcgan") == "ganzoo_dcgan" and names.get("vanilla") == "ganzoo_vanilla"
    loaded = plugins.load_plugins({"GANZOO_LOAD_PLUGINS": "dcgan"})
    assert loaded.registry.models.names() == ["dcgan"]


def test_empty_selection_loads_no_plugins(cli, monkeypatch):
    monkeypatch.setenv("GANZOO_LOAD_PLUGINS", "")
    result = cli("list", "--json")
    assert result.code == 0 and json.loads(result.out) == []
    status = {r["name"]: r["status"] for r in json.loads(cli("plugins", "--json").out)}
    assert status["dcgan"] == status["vanilla"] == "disabled"
    assert status["ganzoo-core"] == "loaded"  # core's losses and datasets stay available


def test_selection_parsing():
    assert plugins.selected_plugins({}) is None
    assert plugins.selected_plugins({"GANZOO_LOAD_PLUGINS": ""}) == set()
    assert plugins.selected_plugins({"GANZOO_LOAD_PLUGINS": " dcgan , x,"}) == {"dcgan", "x"}


@pytest.fixture
def broken_site(tmp_path):
    site = tmp_path / "site"
    make_distribution(site, "ganzoo-broken", "ganzoo_broken", "raise RuntimeError('plugin exploded on import')\n",
                      entry="broken")
    return site


def test_plugin_that_raises_on_import_is_reported_and_the_rest_work(broken_site, tmp_path):
    env = {"PYTHONPATH": str(broken_site)}
    listed = run_ganzoo("list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert {"vanilla", "dcgan"} <= {r["name"] for r in json.loads(listed.stdout)}

    report = run_ganzoo("plugins", "--json", env=env)
    broken = {r["name"]: r for r in json.loads(report.stdout)}["broken"]
    assert broken["status"] == "failed" and broken["distribution"] == "ganzoo-broken"
    assert "plugin exploded on import" in broken["errors"][0]

    trained = run_ganzoo("train", "dcgan", "--steps", "2", "--out", tmp_path / "run", "--quiet", *TINY_DCGAN, env=env)
    assert trained.returncode == 0, trained.stderr
    assert (tmp_path / "run" / "checkpoints" / "step-00000002.safetensors").is_file()


class FakeEntryPoint:
    """Stands in for importlib.metadata.EntryPoint in unit tests of the loader."""

    def __init__(self, name: str, module: object, dist: str = "thirdparty") -> None:
        self.name, self.value, self._module = name, f"{name}_module", module
        self.dist = type("Dist", (), {"name": dist, "version": "1.0"})()

    def load(self) -> object:
        if isinstance(self._module, Exception):
            raise self._module
        return self._module


def load_with(monkeypatch, *eps: FakeEntryPoint) -> plugins.LoadedPlugins:
    monkeypatch.setattr(plugins.metadata, "entry_points", lambda group: list(eps))
    return plugins.load_plugins({})


def module_from(source: str, name: str):
    import types

    module = types.ModuleType(name)
    exec(textwrap.dedent(source), module.__dict__)
    return module


MODEL_SOURCE = """
from ganzoo.hookspecs import hookimpl
from ganzoo_vanilla import SPEC
import dataclasses

@hookimpl
def register_models(register):
    register(dataclasses.replace(SPEC, name={name!r}))
"""


def test_misspelt_hook_is_reported_by_plugin(monkeypatch):
    bad = module_from("""
        from ganzoo.hookspecs import hookimpl
        @hookimpl
        def register_model(register):
            pass
    """, "typo")
    good = module_from(MODEL_SOURCE.format(name="good"), "good")
    loaded = load_with(monkeypatch, FakeEntryPoint("typo", bad), FakeEntryPoint("good", good))
    records = {r.name: r for r in loaded.records}
    assert records["typo"].status == "failed" and "register_model" in records["typo"].errors[0]
    assert loaded.registry.models.names() == ["good"]


def test_hook_that_raises_loses_only_its_own_entries(monkeypatch):
    raising = module_from("""
        from ganzoo.hookspecs import hookimpl
        @hookimpl
        def register_models(register):
            raise ValueError("no GPU found")
    """, "raising")
    good = module_from(MODEL_SOURCE.format(name="good"), "good")
    loaded = load_with(monkeypatch, FakeEntryPoint("raising", raising), FakeEntryPoint("good", good))
    records = {r.name: r for r in loaded.records}
    assert records["raising"].status == "failed"
    assert "register_models raised ValueError: no GPU found" in records["raising"].errors[0]
    assert loaded.registry.models.names() == ["good"]


def test_same_name_from_two_plugins_is_an_error_naming_both(monkeypatch):
    from ganzoo.errors import PluginError

    one = module_from(MODEL_SOURCE.format(name="twin"), "one")
    two = module_from(MODEL_SOURCE.format(name="twin"), "two")
    other = module_from(MODEL_SOURCE.format(name="other"), "other")
    loaded = load_with(monkeypatch, FakeEntryPoint("one", one, "dist-one"), FakeEntryPoint("two", two, "dist-two"),
                       FakeEntryPoint("other", other))
    with pytest.raises(PluginError, match="dist-one.*dist-two"):
        loaded.registry.model("twin")
    assert loaded.registry.model("other").name == "other"


def test_registering_the_wrong_type_is_reported(monkeypatch):
    wrong = module_from("""
        from ganzoo.hookspecs import hookimpl
        @hookimpl
        def register_models(register):
            register("dcgan")
    """, "wrong")
    loaded = load_with(monkeypatch, FakeEntryPoint("wrong", wrong))
    record = {r.name: r for r in loaded.records}["wrong"]
    assert record.status == "failed" and "expected ModelSpec" in record.errors[0]
