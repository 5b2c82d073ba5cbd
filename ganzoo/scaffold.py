"""`ganzoo new-plugin`: write a ready-to-install plugin package from the templates in ganzoo/templates/plugin.

Template files end in ``.tmpl``; ``$name``, ``$dist``, ``$module`` and ``$ganzoo_requirement``
are filled in (string.Template), and ``__module__`` in a path becomes the module's name.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

from ganzoo.errors import ConfigError, PluginError
from ganzoo.registry import Registry

NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
TEMPLATE_SUFFIX = ".tmpl"
DIST_PREFIX = "ganzoo-"


@dataclass(frozen=True)
class PluginNames:
    """The names one plugin uses: variant and entry point, distribution, Python module."""

    name: str
    dist: str
    module: str

    @classmethod
    def from_name(cls, name: str) -> PluginNames:
        """'my-gan' (or 'ganzoo-my-gan') -> my-gan, ganzoo-my-gan, ganzoo_my_gan."""
        name = name.strip().removeprefix(DIST_PREFIX)
        if not NAME_PATTERN.fullmatch(name):
            raise ConfigError(
                f"plugin name {name!r} must be lowercase letters and digits, words joined by '-', starting "
                "with a letter (e.g. my-gan)"
            )
        return cls(name, DIST_PREFIX + name, (DIST_PREFIX + name).replace("-", "_"))


def ganzoo_requirement(version: str) -> str:
    """'ganzoo>=0.1' for ganzoo 0.1.x: the API the generated plugin was written against."""
    match = re.match(r"(\d+)\.(\d+)", version)
    return f"ganzoo>={match.group(1)}.{match.group(2)}" if match else "ganzoo"


def _templates() -> Traversable:
    return resources.files("ganzoo") / "templates" / "plugin"


def _walk(folder: Traversable, relative: Path = Path()) -> list[tuple[Path, Traversable]]:
    files: list[tuple[Path, Traversable]] = []
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        if item.is_dir():
            files += _walk(item, relative / item.name)
        elif item.name.endswith(TEMPLATE_SUFFIX):
            files.append((relative / item.name.removesuffix(TEMPLATE_SUFFIX), item))
    return files


def render(names: PluginNames, version: str) -> dict[Path, str]:
    """Every file of the new package: relative path -> text."""
    values = {"name": names.name, "dist": names.dist, "module": names.module,
              "ganzoo_requirement": ganzoo_requirement(version)}
    return {
        Path(str(rel).replace("__module__", names.module)): Template(item.read_text(encoding="utf-8")).substitute(values)
        for rel, item in _walk(_templates())
    }


def _refuse_taken_name(names: PluginNames, registry: Registry) -> None:
    table = registry.models
    if names.name in table.entries or names.name in table.conflicts:
        owner = table.entries[names.name].source if names.name in table.entries else table.conflicts[names.name][0]
        raise PluginError(
            f"a model named {names.name!r} is already registered by {owner}; two plugins may not register "
            "the same name, so choose another"
        )


def new_plugin(name: str, directory: str | Path = ".", *, registry: Registry | None = None) -> Path:
    """Write the package ``ganzoo-NAME`` under ``directory`` and return its path.

    The package holds a pyproject.toml with the entry point, a variant module (an MLP GAN to
    edit) and a test; after ``pip install -e`` its test passes as written. The whole folder
    appears at once (written aside, then renamed), or not at all.
    """
    from ganzoo.plugins import get_registry
    from ganzoo.version import __version__

    names = PluginNames.from_name(name)
    target = Path(directory) / names.dist
    if target.exists():
        raise ConfigError(f"{target} already exists; choose another --dir or name")
    _refuse_taken_name(names, registry if registry is not None else get_registry())
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{names.dist}.", dir=target.parent))
    try:
        for rel, text in render(names, __version__).items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        staging.chmod(0o755)  # mkdtemp makes it private; a package folder is an ordinary one
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
