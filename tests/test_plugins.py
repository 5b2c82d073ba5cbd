"""Plugin discovery: entry points, GANZOO_LOAD_PLUGINS, broken plugins reported by name."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from conftest import TINY_DCGAN, run_ganzoo
from ganzoo import plugins
from plugin_env import FakeEntryPoint, module_from


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


def load_with(monkeypatch, *eps: FakeEntryPoint) -> plugins.LoadedPlugins:
    monkeypatch.setattr(plugins.metadata, "entry_points", lambda group: list(eps))
    return plugins.load_plugins({})


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


def test_misspelt_hook_gets_a_suggestion(monkeypatch):
    bad = module_from("""
        from ganzoo.hookspecs import hookimpl
        @hookimpl
        def register_dataset(register):
            pass
    """, "typo")
    record = {r.name: r for r in load_with(monkeypatch, FakeEntryPoint("typo", bad)).records}["typo"]
    assert "unknown hook 'register_dataset' (did you mean 'register_datasets'?)" in record.errors[0]


def test_hook_without_the_marker_is_reported(monkeypatch):
    unmarked = module_from("""
        from ganzoo.hookspecs import hookimpl
        from ganzoo_vanilla import SPEC
        import dataclasses

        def register_models(register):          # forgot @hookimpl: pluggy would ignore it silently
            register(dataclasses.replace(SPEC, name="never"))

        @hookimpl
        def register_losses(register):
            pass
    """, "unmarked")
    loaded = load_with(monkeypatch, FakeEntryPoint("unmarked", unmarked))
    record = {r.name: r for r in loaded.records}["unmarked"]
    assert record.status == "failed" and record.hooks == ["register_losses"]
    assert "register_models is not marked with @hookimpl" in record.errors[0]


def test_module_without_hooks_is_reported(monkeypatch):
    empty = module_from("VALUE = 1\n", "empty")
    record = {r.name: r for r in load_with(monkeypatch, FakeEntryPoint("empty", empty)).records}["empty"]
    assert record.status == "failed" and "implements none of ganzoo's hooks" in record.errors[0]


def test_hook_with_a_wrongly_named_parameter_is_reported_on_one_line(monkeypatch):
    wrong = module_from("""
        from ganzoo.hookspecs import hookimpl
        @hookimpl
        def register_models(reg):
            pass
    """, "wrongarg")
    good = module_from(MODEL_SOURCE.format(name="good"), "good")
    loaded = load_with(monkeypatch, FakeEntryPoint("wrongarg", wrong), FakeEntryPoint("good", good))
    record = {r.name: r for r in loaded.records}["wrongarg"]
    assert record.status == "failed" and record.errors[0].startswith("cannot register")
    assert "'reg'" in record.errors[0] and "\n" not in record.errors[0]
    assert loaded.registry.models.names() == ["good"]


def test_a_clash_is_reported_in_both_plugins_and_as_a_problem(monkeypatch):
    one = module_from(MODEL_SOURCE.format(name="twin"), "one")
    two = module_from(MODEL_SOURCE.format(name="twin"), "two")
    loaded = load_with(monkeypatch, FakeEntryPoint("one", one, "dist-one"), FakeEntryPoint("two", two, "dist-two"))
    records = {r.name: r for r in loaded.records}
    for name in ("one", "two"):
        assert records[name].errors == ["model 'twin' is registered by one (dist-one 1.0) and two (dist-two 1.0)"]
        assert records[name].registered == {"models": ["twin"]}
    assert any("model 'twin'" in line and "neither can be used" in line for line in loaded.problems())


def test_plugins_json_says_what_each_plugin_registered(cli):
    records = {r["name"]: r for r in json.loads(cli("plugins", "--json").out)}
    assert records["dcgan"]["registered"] == {"models": ["dcgan"]}
    assert records["dcgan"]["hooks"] == ["register_models"] and records["dcgan"]["errors"] == []
    assert {"nonsaturating", "minimax"} <= set(records["ganzoo-core"]["registered"]["losses"])


def test_plugins_and_list_report_a_broken_plugin_while_the_rest_work(cli, monkeypatch):
    from plugin_env import use_entry_points

    good = module_from(MODEL_SOURCE.format(name="good"), "good")
    use_entry_points(monkeypatch, FakeEntryPoint("good", good),
                     FakeEntryPoint("broken", ModuleNotFoundError("No module named 'torchaudio'"), "ganzoo-broken"))
    report = cli("plugins")
    assert report.code == 0
    lines = report.out.splitlines()
    assert lines[0].split() == ["PLUGIN", "DISTRIBUTION", "STATUS", "HOOKS", "PROVIDES"]
    assert any(line.split()[:4] == ["broken", "ganzoo-broken", "1.0", "failed"] for line in lines)
    assert "broken: import failed: ModuleNotFoundError: No module named 'torchaudio'" in lines
    listed = cli("list", "--json")
    assert listed.code == 0 and [row["name"] for row in json.loads(listed.out)] == ["good"]
    assert "warning: plugin 'broken' (ganzoo-broken) failed: import failed" in listed.err


def test_every_public_api_name_is_reachable_from_the_package():
    import ganzoo

    for name in ganzoo.__all__:
        assert getattr(ganzoo, name) is not None, name
    built_in = {record["name"] for record in ganzoo.list_plugins()}
    assert {"dcgan", "vanilla"} <= built_in
