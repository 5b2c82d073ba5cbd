"""`ganzoo new-plugin`: a generated package installs offline, trains through the CLI and passes its own tests."""

from __future__ import annotations

import json
import tomllib

import pytest

from ganzoo.errors import ConfigError
from ganzoo.scaffold import PluginNames, ganzoo_requirement, render


def test_names_derive_from_the_variant_name():
    names = PluginNames.from_name("my-gan")
    assert (names.name, names.dist, names.module) == ("my-gan", "ganzoo-my-gan", "ganzoo_my_gan")
    assert PluginNames.from_name("ganzoo-my-gan") == names
    for bad in ("My_GAN", "1gan", "gan-", "two  words", ""):
        with pytest.raises(ConfigError, match="lowercase letters and digits"):
            PluginNames.from_name(bad)


def test_rendered_files_are_complete_and_valid():
    files = render(PluginNames.from_name("my-gan"), "0.3.1")
    assert {str(p) for p in files} == {
        "pyproject.toml", "README.md", "src/ganzoo_my_gan/__init__.py", "src/ganzoo_my_gan/models.py",
        "tests/test_ganzoo_my_gan.py"}
    project = tomllib.loads(files[next(p for p in files if p.name == "pyproject.toml")])
    assert project["project"]["name"] == "ganzoo-my-gan"
    assert project["project"]["entry-points"]["ganzoo"] == {"my-gan": "ganzoo_my_gan"}
    assert project["project"]["dependencies"] == ["ganzoo>=0.3"]
    for path, text in files.items():
        assert "$" not in text, path  # every placeholder filled in
        if path.suffix == ".py":
            compile(text, str(path), "exec")


def test_requirement_follows_the_installed_version():
    assert ganzoo_requirement("0.1.0") == "ganzoo>=0.1"
    assert ganzoo_requirement("0.0.0+unknown") == "ganzoo>=0.0"
    assert ganzoo_requirement("dev") == "ganzoo"


def test_existing_folders_and_taken_names_are_refused(cli, tmp_path):
    assert cli("new-plugin", "my-gan", "--dir", tmp_path).code == 0
    again = cli("new-plugin", "my-gan", "--dir", tmp_path)
    assert again.code == 2 and "already exists" in again.err
    taken = cli("new-plugin", "dcgan", "--dir", tmp_path)
    assert taken.code == 2 and "a model named 'dcgan' is already registered by dcgan (ganzoo" in taken.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ganzoo-my-gan"]  # nothing half-written left behind


def test_generated_plugin_installs_trains_through_the_cli_and_passes_its_tests(cli, plugin_env, tmp_path):
    made = cli("new-plugin", "zoo-probe", "--dir", tmp_path)
    assert made.code == 0, made.err
    package = tmp_path / "ganzoo-zoo-probe"
    plugin_env.install(package, editable=True)

    run = tmp_path / "run"
    trained = plugin_env.ganzoo("train", "zoo-probe", "--steps", "3", "--batch-size", "16", "--device", "cpu",
                                "--set", "hidden=32", "--set", "log_every=1", "--out", run, "--quiet")
    assert trained.returncode == 0, trained.stderr
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3]
    assert json.loads((run / "config.json").read_text())["model"] == "zoo-probe"

    tested = plugin_env.run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", package, cwd=package)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "4 passed" in tested.stdout
