"""A run's configuration: four sections of declared, checked options, resolved from defaults and user values.

Precedence, lowest first: each option's declared default, the model spec's ``overrides`` of
trainer, data and eval defaults, a stored configuration (a resumed run's), then what the user
passed (CLI options, ``--set key=value``, keyword arguments of :func:`ganzoo.train`, suite
options). A key is ``section.name`` or a bare ``name`` where only one section declares it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ganzoo.config.options import Option, as_option
from ganzoo.config.sections import CORE_OPTIONS, SECTIONS
from ganzoo.errors import ConfigError


class RunConfig(Mapping[str, Any]):
    """Option values by section. ``config["steps"]`` finds a name declared in one section only;
    ``config["model.channels"]`` or ``config.model["channels"]`` name the section. Iterating
    yields qualified ``section.name`` keys, so ``dict(config)`` loses nothing."""

    def __init__(self, sections: Mapping[str, Mapping[str, Any]]) -> None:
        unknown = set(sections) - set(SECTIONS)
        if unknown:
            raise ValueError(f"unknown config sections: {', '.join(sorted(unknown))}")
        self._sections: dict[str, dict[str, Any]] = {name: dict(sections.get(name, {})) for name in SECTIONS}

    @property
    def trainer(self) -> dict[str, Any]:
        return self._sections["trainer"]

    @property
    def model(self) -> dict[str, Any]:
        return self._sections["model"]

    @property
    def data(self) -> dict[str, Any]:
        return self._sections["data"]

    @property
    def eval(self) -> dict[str, Any]:
        return self._sections["eval"]

    def section(self, name: str) -> dict[str, Any]:
        return self._sections[name]

    def _locate(self, key: str) -> tuple[str, str]:
        section, dot, name = key.partition(".")
        if dot and section in SECTIONS:
            if name in self._sections[section]:
                return section, name
            raise KeyError(key)
        owners = [s for s in SECTIONS if key in self._sections[s]]
        if len(owners) == 1:
            return owners[0], key
        if owners:
            raise KeyError(f"{key!r} is in sections {', '.join(owners)}; name one ({owners[0]}.{key})")
        raise KeyError(key)

    def __getitem__(self, key: str) -> Any:
        section, name = self._locate(key)
        return self._sections[section][name]

    def __setitem__(self, key: str, value: Any) -> None:
        """Replace a value the trainer resolves late (e.g. ``precision`` 'auto' -> 'bf16')."""
        section, name = self._locate(key)
        self._sections[section][name] = value

    def __iter__(self) -> Iterator[str]:
        for section in SECTIONS:
            for name in self._sections[section]:
                yield f"{section}.{name}"

    def __len__(self) -> int:
        return sum(len(values) for values in self._sections.values())

    def copy(self) -> RunConfig:
        """An independent copy (values themselves are immutable: numbers, strings, tuples)."""
        return RunConfig(self._sections)

    def to_json(self) -> dict[str, dict[str, Any]]:
        """The sectioned JSON form stored in config.json and checkpoints."""
        return {section: {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
                for section, values in self._sections.items()}

    def __repr__(self) -> str:
        return f"RunConfig({self.to_json()!r})"


def is_sectioned(data: Mapping[str, Any]) -> bool:
    """Whether a stored config is sectioned (this version) or one flat object (ganzoo 0.1)."""
    return bool(data) and set(data) <= set(SECTIONS) and all(isinstance(v, Mapping) for v in data.values())


def stored_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """A stored config (sectioned, or flat from ganzoo 0.1) as keys for :func:`resolve_options`."""
    if is_sectioned(data):
        return {f"{section}.{name}": value for section, values in data.items() for name, value in values.items()}
    return dict(data)


def bare_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """A stored config as bare names -> values (for display; a name two sections share keeps its section)."""
    if not is_sectioned(data):
        return dict(data)
    counts: dict[str, int] = {}
    for values in data.values():
        for name in values:
            counts[name] = counts.get(name, 0) + 1
    return {(name if counts[name] == 1 else f"{section}.{name}"): value
            for section, values in data.items() for name, value in values.items()}


@dataclass
class Declarations:
    """The options one run can have, by section, and those left out (with the reason) for messages."""

    sections: dict[str, dict[str, Option]]
    left_out: dict[str, dict[str, str]] = field(default_factory=dict)
    """section -> option name -> why it does not apply to this run."""
    hint: str = "ganzoo info MODEL lists the options"
    """Where the user finds the options (ends the unknown-option line)."""

    def has(self, key: str) -> bool:
        """Whether ``section.name`` is an option of this run."""
        section, _, name = key.partition(".")
        return name in self.sections.get(section, {})

    def find(self, key: str) -> tuple[str, str]:
        """(section, name) of a user key, or one clear line: unknown, ambiguous, or not applicable."""
        section, dot, name = key.partition(".")
        if dot and section in SECTIONS:
            if name in self.sections[section]:
                return section, name
            why = self.left_out.get(section, {}).get(name)
            if why:
                raise ConfigError(f"{key}: {why}")
            raise _unknown(key, [f"{section}.{n}" for n in self.sections[section]], self.hint)
        owners = [s for s in SECTIONS if key in self.sections[s]]
        if len(owners) == 1:
            return owners[0], key
        if owners:
            raise ConfigError(f"option {key!r} is ambiguous: it is declared in sections {', '.join(owners)}; "
                              f"name one, e.g. --set {owners[0]}.{key}=...")
        reasons = [why for section in SECTIONS if (why := self.left_out.get(section, {}).get(key))]
        if reasons:
            raise ConfigError(f"{key}: {reasons[0]}")
        raise _unknown(key, [n for s in SECTIONS for n in self.sections[s]], self.hint)


def _unknown(key: str, known: list[str], where: str) -> ConfigError:
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return ConfigError(f"unknown option {key!r}{hint} ({where})")


def declare(
    model_options: Mapping[str, Any],
    dataset_options: Mapping[str, Any],
    tags: set[str],
    reasons: Mapping[str, str],
    hint: str = Declarations.hint,
) -> Declarations:
    """The options of a run: core's that apply (given ``tags``), the model's, the dataset's.

    ``reasons`` maps each tag that does not hold to the sentence saying so (e.g. 'files' ->
    "dataset 'digits' reads no files").
    """
    sections: dict[str, dict[str, Option]] = {s: {} for s in SECTIONS}
    left_out: dict[str, dict[str, str]] = {s: {} for s in SECTIONS}
    for section, options in CORE_OPTIONS.items():
        for name, opt in options.items():
            missing = sorted(opt.applies_to - tags)
            if missing:
                left_out[section][name] = f"{reasons.get(missing[0], missing[0] + ' only')}, so it takes no {name}"
            else:
                sections[section][name] = opt
    sections["model"] = {name: as_option(value) for name, value in model_options.items()}
    for name, value in dataset_options.items():
        sections["data"][name] = as_option(value)
    return Declarations(sections, left_out, hint)


def resolve_options(
    declared: Declarations,
    overrides: Mapping[str, Any],
    user: Mapping[str, Any],
    stored: Mapping[str, Any] | None = None,
) -> RunConfig:
    """Defaults, then the model's ``overrides``, the ``stored`` values, then ``user`` values, checked.

    Stored values that this run does not declare (an option a later version dropped, or one
    that never applied) are ignored; user values must all be declared and applicable.
    """
    values = {section: {name: opt.default for name, opt in options.items()}
              for section, options in declared.sections.items()}

    def put(key: str, value: Any) -> None:
        section, name = declared.find(key)
        qualified = f"{section}.{name}"
        values[section][name] = declared.sections[section][name].coerce(qualified if "." in key else name, value)

    for key, value in overrides.items():
        if key.startswith("data.") and not declared.has(key):
            continue  # a variant's default for one dataset's option (digits' native) holds where the dataset has it
        put(key, value)
    for key, value in (stored or {}).items():
        try:
            declared.find(key)
        except ConfigError:
            continue
        put(key, value)
    for key, value in user.items():
        put(key, value)
    return RunConfig(values)
