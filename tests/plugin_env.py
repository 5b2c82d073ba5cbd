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
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD_LITTER = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")


class PluginEnv:
    """A venv at ``path`` that sees this environment's packages and holds the plugins installed into it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        venv.create(self.path, with_pip=False, symlinks=os.name != "nt")
        self.python = self.path / ("Scripts" if os.name == "nt" else "bin") / "python"
        purelib = self.run_python("-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip()
        parents = [p for p in site.getsitepackages() if Path(p).is_dir()]
        lines = [f"import site; site.addsitedir({p!r})" for p in parents]
        (Path(purelib) / "_parent_environment.pth").write_text("\n".join(lines) + "\n")

    def run_python(self, *args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None,
                   timeout: float = 300) -> subprocess.CompletedProcess:
        """Run this environment's python with ``args``; raises when it does not start."""
        full_env = {**os.environ, "PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", **(env or {})}
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
    shutil.copytree(source, target, ignore=BUILD_LITTER)
    return target
