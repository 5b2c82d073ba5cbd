"""Shared fixtures: run the CLI in-process, find the shared data, make tiny configs."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# small networks so trainer tests take seconds, not minutes
TINY_DCGAN = ["--set", "g_width=8", "--set", "d_width=8", "--set", "latent_dim=16"]
TINY_VANILLA = ["--set", "g_hidden=32", "--set", "d_hidden=16", "--set", "latent_dim=8"]


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """Run `ganzoo ARGS...` in this process; returns exit code, stdout and stderr."""
    from ganzoo.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def run_ganzoo(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python -m ganzoo ARGS...` in a fresh process."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ganzoo", *map(str, args)],
        capture_output=True, text=True, env=full_env, timeout=timeout, cwd=ROOT,
    )


@pytest.fixture(scope="session")
def local_smoke(tmp_path_factory) -> Path:
    """The smoke suite run once on the local executor, one thread per run: what other executors must equal."""
    out = tmp_path_factory.mktemp("local-smoke")
    result = run_ganzoo("bench", ROOT / "benchmarks" / "suites" / "smoke.toml", "--out", out, "-E", "threads=1",
                        "--quiet", timeout=600)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip with the reason when this checkout has none."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not present at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _fresh_plugins():
    """Each test sees plugins loaded from the current environment."""
    from ganzoo import plugins

    plugins.reset()
    yield
    plugins.reset()


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """A cache of its own for the test (reference features, extractors), so tests never share cached state."""
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 10-step tiny dcgan run directory, shared by a module's tests."""
    import ganzoo

    path = tmp_path_factory.mktemp("runs") / "dcgan"
    ganzoo.train("dcgan", steps=10, out=path, progress=False, g_width=8, d_width=8, latent_dim=16)
    return path


@pytest.fixture(scope="session")
def plugin_env(tmp_path_factory):
    """A throwaway venv that sees the test environment's packages; tests install plugins into it."""
    from plugin_env import PluginEnv

    return PluginEnv(tmp_path_factory.mktemp("plugin-env") / "venv")
