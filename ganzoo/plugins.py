"""Plugin discovery: entry points of group ``ganzoo`` loaded one by one through pluggy.

Each entry point is imported on its own, so one broken plugin is reported by name while the
others keep working. ``GANZOO_LOAD_PLUGINS`` (comma-separated entry-point names; empty means
none) chooses which installed plugins load. Core's own losses and datasets always load.
"""

from __future__ import annotations

import difflib
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
    "register_executors": ("executors", "ExecutorSpec"),
    "register_extensions": ("extensions", "ExtensionSpec"),
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
    registered: dict[str, list[str]] = field(default_factory=dict)
    """Names this plugin registered, by registry table ('models', 'losses', ...)."""

    @property
    def source(self) -> Source:
        return Source(self.name, self.distribution, self.version)

    def fail(self, message: str) -> None:
        self.status = "failed"
        self.errors.append(message)

    def note(self, message: str) -> None:
        """Record a problem that does not stop the plugin's other entries from working."""
        if message not in self.errors:
            self.errors.append(message)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "status": self.status,
            "hooks": self.hooks,
            "registered": self.registered,
            "errors": self.errors,
        }


@dataclass
class LoadedPlugins:
    """The plugin manager, the registry it filled and a record per plugin."""

    manager: pluggy.PluginManager
    registry: Registry
    records: list[PluginRecord]

    def problems(self) -> list[str]:
        """One line per failed plugin and per name two plugins claim, for warnings."""
        lines = [f"plugin {r.name!r} ({r.distribution}) failed: {r.errors[0]}" for r in self.records
                 if r.status == "failed" and r.errors]
        for table_name, _ in HOOK_TABLES.values():
            table = self.registry.table(table_name)
            for name, sources in sorted(table.conflicts.items()):
                owners = " and ".join(str(s) for s in sources)
                lines.append(f"{table.kind} {name!r} is registered by {owners}, so neither can be used")
        return lines


def selected_plugins(environ: Mapping[str, str] = os.environ) -> set[str] | None:
    """Names chosen by GANZOO_LOAD_PLUGINS, or None when it is unset (load all)."""
    raw = environ.get(ENV_VAR)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _hook_names(manager: pluggy.PluginManager, plugin: object) -> list[str]:
    return sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])


def one_line(text: str) -> str:
    """A multi-line message (pluggy's validation errors) as one line."""
    return "; ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def _unknown_hook_message(manager: pluggy.PluginManager, module: object) -> str:
    """Name each hook implementation that matches no ganzoo hook, with a likely intended name."""
    parts = []
    for caller in manager.get_hookcallers(module) or []:
        if not caller.has_spec():
            close = difflib.get_close_matches(caller.name, HOOK_TABLES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            parts.append(f"unknown hook {caller.name!r}{hint}")
    return "; ".join(parts)


def _unmarked_hooks(manager: pluggy.PluginManager, module: object, implemented: list[str]) -> list[str]:
    """Functions named like ganzoo hooks but lacking the @hookimpl marker: pluggy ignores them silently."""
    return [
        name for name in HOOK_TABLES
        if name not in implemented and callable(getattr(module, name, None))
        and manager.parse_hookimpl_opts(module, name) is None
    ]


def _register_checked(manager: pluggy.PluginManager, module: ModuleType, record: PluginRecord) -> bool:
    """Register one plugin module; on an unknown or malformed hook, unregister it and record why."""
    try:
        manager.register(module, name=record.name)
    except (ValueError, pluggy.PluginValidationError) as exc:
        record.fail(f"cannot register: {one_line(str(exc))}")
        return False
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        message = _unknown_hook_message(manager, module) or str(exc)
        manager.unregister(module)
        record.fail(f"{message}; ganzoo's hooks are {', '.join(HOOK_TABLES)}")
        return False
    record.hooks = _hook_names(manager, module)
    for name in _unmarked_hooks(manager, module, record.hooks):
        record.fail(f"{name} is not marked with @hookimpl (from ganzoo.hookspecs), so it is never called")
    if not record.hooks and record.status != "failed":
        record.fail(f"implements none of ganzoo's hooks ({', '.join(HOOK_TABLES)}); "
                    "is the entry point naming the module that defines them?")
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
    from ganzoo.losses import LossSpec
    from ganzoo.metrics.base import MetricSpec
    from ganzoo.spec import DatasetSpec, ExecutorSpec, ExtensionSpec, ModelSpec

    classes = {cls.__name__: cls for cls in (ModelSpec, LossSpec, DatasetSpec, MetricSpec, ExecutorSpec, ExtensionSpec)}
    registry = Registry()
    for hook_name, (table_name, class_name) in HOOK_TABLES.items():
        expected = classes[class_name]
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
                record.registered.setdefault(table_name, []).append(obj.name)
                conflict = table.add(obj.name, obj, record.source)
                if conflict:  # tell every plugin involved, not only the last one loaded
                    for source in table.conflicts[obj.name]:
                        records[source.plugin].note(conflict)
    return registry


def _collector(added: list[Any], expected: type, hook_name: str) -> Callable[[Any], None]:
    def register(obj: Any) -> None:
        if not isinstance(obj, expected):
            raise TypeError(f"{hook_name} registered {type(obj).__name__}, expected {expected.__name__}")
        added.append(obj)

    return register


def load_plugins(environ: Mapping[str, str] = os.environ) -> LoadedPlugins:
    """Discover, load and validate plugins, then fill a registry from their hooks."""
    from ganzoo import builtins
    from ganzoo.version import __version__

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
