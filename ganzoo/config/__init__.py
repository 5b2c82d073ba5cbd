"""Configuration: declared options (options.py), core's sections (sections.py), a run's resolved config (run_config.py)."""

from ganzoo.config.options import Option, as_option, check_range, parse_set_options, parse_text
from ganzoo.config.run_config import (
    Declarations,
    RunConfig,
    bare_values,
    declare,
    is_sectioned,
    resolve_options,
    stored_values,
)
from ganzoo.config.sections import (
    CORE_OPTIONS,
    DATA_OPTIONS,
    EVAL_OPTIONS,
    PRECISIONS,
    SECTIONS,
    TRAINER_OPTIONS,
    bookkeeping_options,
)

__all__ = [
    "CORE_OPTIONS", "DATA_OPTIONS", "EVAL_OPTIONS", "PRECISIONS", "SECTIONS", "TRAINER_OPTIONS", "Declarations",
    "Option", "RunConfig", "as_option", "bare_values", "bookkeeping_options", "check_range", "declare",
    "is_sectioned", "parse_set_options", "parse_text", "resolve_options", "stored_values",
]
