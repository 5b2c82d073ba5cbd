"""A throwaway virtual environment for installing plugins in tests, leaving the test environment as it was.

The throwaway environment has no packages of its own: a ``.pth`` file makes it see every
package of the environment running the tests (torch, ganzoo, pip, setuptools), so a plugin
installs in seconds, offline, with ``pip install --no-deps --no-build-isolation``; its files
and its entry point live only in the throwaway environment.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import textwrap
import types
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD_LITTER = ("build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")
"""What building or testing a package leaves in its folder."""


class PluginEnv:
    """A venv at ``path`` that sees this environment's packages and holds the plugins installed into it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        venv.create(self.path, with_pip=False, symlinks=os.name != "nt")
        self.python = self.path / ("Scripts" if os.name == "nt" else "bin") / "python"
        purelib = self.run_python("-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip()
        user_site = [site.getusersitepackages()] if site.ENABLE_USER_SITE else []
        parents = [p for p in [*site.getsitepackages(), *user_site] if Path(p).is_dir()]
        lines = [f"import site; site.addsitedir({p!r})" for p in parents]
        (Path(purelib) / "_parent_environment.pth").write_text("\n".join(lines) + "\n")

    def run_python(self, *args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None,
                   timeout: float = 300) -> subprocess.CompletedProcess:
        """Run this environment's python with ``args``; raises when it does not start."""
        quiet = {"PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        full_env = {**os.environ, **quiet, **(env or {})}
        return subprocess.run([str(self.python), *map(str, args)], capture_output=True, text=True, env=full_env,
                              cwd=cwd or ROOT, timeout=timeout)

    def install(self, source: Path, editable: bool = False) -> subprocess.CompletedProcess:
        """``pip install --no-deps --no-build-isolation [-e] source`` without network; fails the test on error."""
        args = ["-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet"]
        done = self.run_python(*args, *(["-e"] if editable else []), source)
        if done.returncode != 0:
            raise AssertionError(f"pip install {source} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def ganzoo(self, *args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run ``python -m ganzoo ARGS`` in this environment."""
        return self.run_python("-m", "ganzoo", *args, env=env)


def copy_source(source: Path, target: Path) -> Path:
    """Copy a plugin's source tree, so building it leaves no litter in the repository."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*BUILD_LITTER))
    return target


class FakeEntryPoint:
    """Stands in for importlib.metadata.EntryPoint: loads a given module (or raises a given error)."""

    def __init__(self, name: str, module: object, dist: str = "thirdparty") -> None:
        self.name, self.value, self._module = name, f"{name}_module", module
        self.dist = type("Dist", (), {"name": dist, "version": "1.0"})()

    def load(self) -> object:
        if isinstance(self._module, Exception):
            raise self._module
        return self._module


def module_from(source: str, name: str) -> types.ModuleType:
    """A module object made from source text, as if a plugin's file had been imported."""
    module = types.ModuleType(name)
    exec(compile(textwrap.dedent(source), f"{name}.py", "exec"), module.__dict__)
    return module


def use_entry_points(monkeypatch, *eps: FakeEntryPoint) -> None:
    """Make plugin discovery see exactly these entry points (plus ganzoo's core), and reload."""
    from importlib import metadata

    from ganzoo import plugins

    real = metadata.entry_points

    def entry_points(**selection):  # other libraries (triton) look up their own groups meanwhile
        return list(eps) if selection.get("group") == "ganzoo" else real(**selection)

    monkeypatch.setattr(plugins.metadata, "entry_points", entry_points)
    plugins.reset()
