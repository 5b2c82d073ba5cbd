"""Plugin discovery: entry points of group ``ganzoo`` loaded one by one through pluggy.

Each entry point is imported on its own, so one broken plugin is reported by name while the
others keep working. ``GANZOO_LOAD_PLUGINS`` (comma-separated entry-point names; empty means
none) chooses which installed plugins load. Core's own losses and datasets always load.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from ganzoo import hookspecs
from ganzoo.registry import Registry, Source

ENV_VAR = "GANZOO_LOAD_PLUGINS"
CORE_PLUGIN = "ganzoo-core"

# hook name -> (registry table, class every registered object must be an instance of)
HOOK_TABLES: dict[str, tuple[str, str]] = {
    "register_models": ("models", "ModelSpec"),
    "register_losses": ("losses", "LossSpec"),
    "register_datasets": ("datasets", "DatasetSpec"),
    "register_metrics": ("metrics", "MetricSpec"),
}


@dataclass
class PluginRecord:
    """What happened to one plugin: where it came from, which hooks it has, its status."""

    name: str
    distribution: str
    version: str
    module: str
    status: str = "loaded"  # loaded | failed | disabled
    hooks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def source(self) -> Source:
        return Source(self.name, self.distribution, self.version)

    def fail(self, message: str) -> None:
        self.status = "failed"
        self.errors.append(message)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "status": self.status,
            "hooks": self.hooks,
            "errors": self.errors,
        }


@dataclass
class LoadedPlugins:
    """The plugin manager, the registry it filled and a record per plugin."""

    manager: pluggy.PluginManager
    registry: Registry
    records: list[PluginRecord]


def selected_plugins(environ: Mapping[str, str] = os.environ) -> set[str] | None:
    """Names chosen by GANZOO_LOAD_PLUGINS, or None when it is unset (load all)."""
    raw = environ.get(ENV_VAR)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _hook_names(manager: pluggy.PluginManager, plugin: object) -> list[str]:
    return sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])


def _register_checked(manager: pluggy.PluginManager, module: ModuleType, record: PluginRecord) -> bool:
    """Register one plugin module; on an unknown or malformed hook, unregister it and record why."""
    try:
        manager.register(module, name=record.name)
    except (ValueError, pluggy.PluginValidationError) as exc:
        record.fail(f"cannot register: {exc}")
        return False
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        manager.unregister(module)
        known = ", ".join(sorted(HOOK_TABLES))
        record.fail(f"{exc} (ganzoo's hooks: {known})")
        return False
    record.hooks = _hook_names(manager, module)
    return True


def _entry_point_record(ep: metadata.EntryPoint) -> PluginRecord:
    dist = ep.dist
    return PluginRecord(
        name=ep.name,
        distribution=dist.name if dist is not None else "?",
        version=dist.version if dist is not None else "?",
        module=ep.value,
    )


def _fill_registry(manager: pluggy.PluginManager, records: dict[str, PluginRecord]) -> Registry:
    """Call every hook implementation on its own, so a hook that raises only loses its own entries."""
    from ganzoo import spec as spec_module
    from ganzoo.metrics import base as metrics_module

    registry = Registry()
    for hook_name, (table_name, class_name) in HOOK_TABLES.items():
        expected = getattr(spec_module, class_name, None) or getattr(metrics_module, class_name)
        table = registry.table(table_name)
        for impl in getattr(manager.hook, hook_name).get_hookimpls():
            record = records[impl.plugin_name]
            added: list[Any] = []
            try:
                impl.function(register=_collector(added, expected, hook_name))
            except Exception as exc:  # a plugin's bug must not take the others down
                record.fail(f"{hook_name} raised {type(exc).__name__}: {exc}")
                continue
            for obj in added:
                conflict = table.add(obj.name, obj, record.source)
                if conflict:
                    record.errors.append(conflict)
    return registry


def _collector(added: list[Any], expected: type, hook_name: str) -> Callable[[Any], None]:
    def register(obj: Any) -> None:
        if not isinstance(obj, expected):
            raise TypeError(f"{hook_name} registered {type(obj).__name__}, expected {expected.__name__}")
        added.append(obj)

    return register


def load_plugins(environ: Mapping[str, str] = os.environ) -> LoadedPlugins:
    """Discover, load and validate plugins, then fill a registry from their hooks."""
    from ganzoo import __version__, builtins

    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    core = PluginRecord(CORE_PLUGIN, "ganzoo", __version__, builtins.__name__)
    _register_checked(manager, builtins, core)
    records = {core.name: core}

    chosen = selected_plugins(environ)
    for ep in sorted(metadata.entry_points(group=hookspecs.PROJECT), key=lambda e: e.name):
        record = _entry_point_record(ep)
        if record.name in records:
            records[record.name].errors.append(
                f"another entry point named {record.name!r} in {record.distribution} was ignored"
            )
            continue
        records[record.name] = record
        if chosen is not None and record.name not in chosen:
            record.status = "disabled"
            continue
        try:
            module = ep.load()
        except Exception as exc:  # report and keep going: one plugin must not break the rest
            record.fail(f"import failed: {type(exc).__name__}: {exc}")
            continue
        _register_checked(manager, module, record)

    registry = _fill_registry(manager, records)
    return LoadedPlugins(manager, registry, list(records.values()))


_loaded: LoadedPlugins | None = None


def get_plugins() -> LoadedPlugins:
    """The process-wide plugin state, loaded on first use."""
    global _loaded
    if _loaded is None:
        _loaded = load_plugins()
    return _loaded


def get_registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    return get_plugins().registry


def reset() -> None:
    """Forget loaded plugins (tests, or after installing a plugin in the same process)."""
    global _loaded
    _loaded = None
