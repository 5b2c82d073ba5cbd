"""One declared option: its type, default, bounds, help, and where it applies.

Every option of a run is declared once, as an :class:`Option`, by the trainer (here, in
:mod:`ganzoo.config.sections`), by a model spec (its hyper-parameters) or by a dataset spec.
Values arrive as CLI strings, TOML or JSON values, or Python objects; :meth:`Option.coerce`
turns them into the declared type or raises one clear line. (A validation library such as pydantic
would add an import to every CLI start and multi-line error reports to reformat, for the handful
of scalar and list types options have; this module is that handful.)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ganzoo.errors import ConfigError

SCALAR_KINDS = (bool, int, float, str)


@dataclass(frozen=True)
class Option:
    """A declared option.

    ``kind`` is inferred from ``default`` unless given (it must be given when the default is
    None). A tuple default declares a list option; ``length`` fixes its length (None: any
    length of at least one, or any length at all when the default is empty), and ``low``/``high``
    then bound each element. ``applies_to``
    names tags that must all hold for the option to exist in a run: a modality ('image',
    'sequence', 'points'), 'discriminator' (the model has one) or 'files' (the dataset reads
    files). An option that does not apply is not offered, and setting it is an error.
    """

    default: Any
    help: str = ""
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    choices: tuple[str, ...] | None = None
    length: int | None = None
    kind: type | None = None
    applies_to: frozenset[str] = frozenset()
    nullable: bool = False
    """None is a valid value (meaning 'decided elsewhere'); always true when the default is None."""
    affects_results: bool = True
    """False for bookkeeping (logging, checkpoints, file locations): leaderboards do not show it as a setting."""

    def __post_init__(self) -> None:
        if self.kind is None and self.default is None:
            raise ValueError("an option whose default is None must declare its kind")
        if self.is_list and not self.item_kind:
            raise ValueError("a list option needs a non-empty default or an explicit kind for its elements")

    @property
    def is_list(self) -> bool:
        return isinstance(self.default, (tuple, list)) or self.kind in (tuple, list)

    @property
    def item_kind(self) -> type | None:
        """The element type of a list option."""
        if self.kind not in (None, tuple, list):
            return self.kind
        return type(self.default[0]) if self.default else None

    @property
    def scalar_kind(self) -> type:
        kind = self.kind if self.kind is not None else type(self.default)
        return kind

    def describe_type(self) -> str:
        """'a whole number', 'a list of 2 numbers', ... for messages and ``ganzoo info``."""
        if self.is_list:
            if self.length:
                example = ",".join("abcdefgh"[: min(self.length, 8)])
                return f"a list of {self.length} {_KIND_WORDS[self.item_kind][1]} ({example})"
            return f"a list of {_KIND_WORDS[self.item_kind][1]} (a,b,...)"
        if self.choices:
            return "one of " + ", ".join(self.choices)
        return _KIND_WORDS[self.scalar_kind][0]

    def coerce(self, key: str, value: Any) -> Any:
        """``value`` converted to this option's type and checked against its bounds and choices."""
        if isinstance(value, os.PathLike):  # paths are stored as strings: the config is JSON
            value = os.fspath(value)
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null")
                             and self.scalar_kind is not str):
            if self.default is None or self.nullable:
                return None
            raise ConfigError(f"{key} must be {self.describe_type()}, got {value!r}")
        if self.is_list:
            items = parse_text(value) if isinstance(value, str) else value
            if not isinstance(items, (list, tuple)):
                items = [items]
            if (not items and len(self.default or ()) > 0) or (self.length is not None and len(items) != self.length):
                shown = value if isinstance(value, str) and value.isprintable() else repr(value)
                raise ConfigError(f"{key} must be {self.describe_type()}, got {shown}")
            out = tuple(_coerce_scalar(f"{key}[{i}]", v, self.item_kind) for i, v in enumerate(items))
            for i, item in enumerate(out):
                check_range(f"{key}[{i}]", item, self.low, self.high, self.low_inclusive)
            return out
        out = _coerce_scalar(key, value, self.scalar_kind)
        if self.choices is not None and out not in self.choices:
            raise ConfigError(f"{key} must be one of {', '.join(self.choices)}, got {out!r}")
        check_range(key, out, self.low, self.high, self.low_inclusive)
        return out

    def applies(self, tags: Iterable[str]) -> bool:
        return self.applies_to <= set(tags)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description (for ``ganzoo info --json``)."""
        out: dict[str, Any] = {"default": _jsonable(self.default), "type": self.describe_type(), "help": self.help}
        if self.low is not None or self.high is not None:
            out["bounds"] = [self.low, self.high]
        return out


_KIND_WORDS: dict[type, tuple[str, str]] = {
    bool: ("true or false", "true/false values"),
    int: ("a whole number", "whole numbers"),
    float: ("a number", "numbers"),
    str: ("a string", "strings"),
}


def as_option(value: Any) -> Option:
    """An Option as declared, or the shorthand of a bare default value (type inferred, no help)."""
    return value if isinstance(value, Option) else Option(value)


def parse_text(text: str) -> Any:
    """Read a CLI value: JSON when it parses (numbers, true/false, lists), comma lists, else the string."""
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    try:
        return json.loads(text)
    except ValueError:
        if "," in text:
            return [parse_text(part.strip()) for part in text.split(",")]
        return text


def _coerce_scalar(key: str, value: Any, kind: type) -> Any:
    if isinstance(value, str) and kind is not str:
        value = parse_text(value)
    bad = ConfigError(f"{key} must be {_KIND_WORDS.get(kind, (f'a {kind.__name__}',))[0]}, got {value!r}")
    if kind is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        if not math.isfinite(value):
            raise ConfigError(f"{key} must be a finite number, got {value!r}")
        if kind is int:
            if float(value) != int(value):
                raise bad
            return int(value)
        return float(value)
    if kind is str:
        if isinstance(value, (dict, list, tuple)):
            raise bad
        return str(value)
    return value


def check_range(key: str, value: Any, low: float | None, high: float | None, low_inclusive: bool = True) -> None:
    """Raise when a numeric value falls outside [low, high] (or (low, high])."""
    if value is None or isinstance(value, (bool, str, tuple, list)):
        return
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and value > high
    if too_low or too_high:
        left = "[" if low_inclusive else "("
        span = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        raise ConfigError(f"{key} must be in {span}, got {value}")


def parse_set_options(items: Iterable[str]) -> dict[str, str]:
    """Parse repeated ``--set key=value`` strings into a dict of raw strings."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        out[key] = value.strip()
    return out


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def defaults_of(options: Mapping[str, Option]) -> dict[str, Any]:
    """name -> default of each option."""
    return {name: opt.default for name, opt in options.items()}
