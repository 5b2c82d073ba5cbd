"""The registry: every model, loss and dataset the loaded plugins registered, with its source."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ganzoo.errors import PluginError, unknown_name

T = TypeVar("T")


@dataclass(frozen=True)
class Source:
    """Which plugin (and distribution) registered something."""

    plugin: str
    distribution: str
    version: str

    def __str__(self) -> str:
        return f"{self.plugin} ({self.distribution} {self.version})"


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered object and where it came from."""

    name: str
    value: T
    source: Source


@dataclass
class Table(Generic[T]):
    """Registered objects of one kind ('model', 'loss', 'dataset'), by name."""

    kind: str
    entries: dict[str, Entry[T]] = field(default_factory=dict)
    conflicts: dict[str, list[Source]] = field(default_factory=dict)

    def add(self, name: str, value: T, source: Source) -> str | None:
        """Add an entry; return an error message when the name is already taken."""
        if name in self.conflicts:
            self.conflicts[name].append(source)
        elif name in self.entries:
            first = self.entries.pop(name).source
            self.conflicts[name] = [first, source]
        else:
            self.entries[name] = Entry(name, value, source)
            return None
        owners = " and ".join(str(s) for s in self.conflicts[name])
        return f"{self.kind} {name!r} is registered by {owners}"

    def get(self, name: str) -> Entry[T]:
        """Look a name up, raising a clear error for unknown or conflicting names."""
        if name in self.entries:
            return self.entries[name]
        if name in self.conflicts:
            owners = " and ".join(str(s) for s in self.conflicts[name])
            raise PluginError(
                f"{self.kind} {name!r} is registered by {owners}; uninstall one, or choose "
                "plugins with GANZOO_LOAD_PLUGINS"
            )
        raise unknown_name(self.kind, name, self.entries)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def names(self) -> list[str]:
        """Usable names, sorted."""
        return sorted(self.entries)

    def __iter__(self):
        return iter(self.entries[n] for n in self.names())


@dataclass
class Registry:
    """All registered models, losses and datasets."""

    models: Table[Any] = field(default_factory=lambda: Table("model"))
    losses: Table[Any] = field(default_factory=lambda: Table("loss"))
    datasets: Table[Any] = field(default_factory=lambda: Table("dataset"))
    metrics: Table[Any] = field(default_factory=lambda: Table("metric"))
    executors: Table[Any] = field(default_factory=lambda: Table("executor"))
    extensions: Table[Any] = field(default_factory=lambda: Table("training extension"))

    def table(self, kind: str) -> Table[Any]:
        """The table for 'models', 'losses', 'datasets', 'metrics', 'executors' or 'extensions' (singular accepted too)."""
        key = kind if kind.endswith("s") else ("losses" if kind == "loss" else kind + "s")
        try:
            return getattr(self, key)
        except AttributeError:
            kinds = ["models", "losses", "datasets", "metrics", "executors", "extensions"]
            raise unknown_name("registry kind", kind, kinds) from None

    def model(self, name: str) -> Any:
        """The ModelSpec registered under ``name``."""
        return self.models.get(name).value

    def loss(self, name: str) -> Any:
        """The LossSpec registered under ``name``."""
        return self.losses.get(name).value

    def dataset(self, name: str) -> Any:
        """The DatasetSpec registered under ``name``."""
        return self.datasets.get(name).value

    def metric(self, name: str) -> Any:
        """The MetricSpec registered under ``name``."""
        return self.metrics.get(name).value

    def executor(self, name: str) -> Any:
        """The ExecutorSpec registered under ``name``."""
        return self.executors.get(name).value

    def extension(self, name: str) -> Any:
        """The ExtensionSpec registered under ``name``."""
        return self.extensions.get(name).value
