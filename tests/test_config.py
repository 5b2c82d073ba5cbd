"""Resolving options: sections, precedence, types, ranges, --set parsing (with property-based cases)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ganzoo.config import DATA_OPTIONS, TRAINER_OPTIONS, Option, RunConfig, declare, parse_set_options, resolve_options
from ganzoo.errors import ConfigError, GanzooError

TAGS = {"image", "pixels", "discriminator", "files"}
REASONS = {"files": "dataset 'toy' reads no files", "discriminator": "model 'toy' has no discriminator",
           "sequence": "this option is for sequence data", "points": "this option is for points",
           "translation": "this option is for translation data"}


def resolve_config(model: dict, bounds: dict, user: dict, overrides: dict | None = None, stored: dict | None = None,
                   dataset: dict | None = None, tags: set[str] = TAGS) -> RunConfig:
    """A run's config from model options (bare defaults, optionally bounded), overrides, stored and user values."""
    declared_model = {k: Option(v, low=bounds.get(k, (None, None))[0], high=bounds.get(k, (None, None))[1])
                      if k in bounds else v for k, v in model.items()}
    declared = declare(declared_model, dataset or {}, tags, REASONS)
    return resolve_options(declared, overrides or {}, user, stored)


def test_precedence_defaults_then_overrides_then_stored_then_user():
    cfg = resolve_config({"width": 8}, {}, {"width": "16"}, overrides={"steps": 500, "lr_g": 1e-3},
                         stored={"trainer.lr_g": 5e-3, "trainer.batch_size": 7})
    assert cfg["steps"] == 500 and cfg["width"] == 16 and cfg["lr_g"] == 5e-3 and cfg["batch_size"] == 7
    assert cfg["seed"] == TRAINER_OPTIONS["seed"].default
    assert cfg.model == {"width": 16} and cfg.trainer["steps"] == 500


def test_options_live_in_their_sections_and_qualified_names_reach_them():
    cfg = resolve_config({"channels": 8}, {}, {"model.channels": 16, "data.channels": 1},
                         dataset={"channels": Option(3, "image channels", 1, 3)})
    assert cfg.model["channels"] == 16 and cfg.data["channels"] == 1
    assert cfg["model.channels"] == 16 and cfg["data.channels"] == 1
    assert set(cfg.to_json()) == {"trainer", "model", "data", "eval"}
    with pytest.raises(KeyError, match="model.channels"):
        cfg["channels"]  # noqa: B018  (two sections declare it: the lookup must name one)


def test_a_bare_name_two_sections_declare_is_refused_with_the_candidates():
    with pytest.raises(ConfigError, match=r"ambiguous.*model, data.*model\.channels"):
        resolve_config({"channels": 8}, {}, {"channels": 1}, dataset={"channels": 3})


def test_an_option_that_does_not_apply_is_refused_with_the_reason():
    with pytest.raises(ConfigError, match="dataset 'toy' reads no files, so it takes no data_root"):
        resolve_config({}, {}, {"data_root": "/tmp"}, tags={"image", "discriminator"})
    with pytest.raises(ConfigError, match="model 'toy' has no discriminator, so it takes no lr_d"):
        resolve_config({}, {}, {"lr_d": 1e-3}, tags={"image", "files"})
    config = resolve_config({}, {}, {}, tags={"sequence", "discriminator"})
    assert "channels_last" not in config.trainer and "image_size" not in config.data


def test_stored_values_a_run_does_not_have_are_ignored():
    """A ganzoo 0.1 config is one flat object holding every option, applicable or not: it still resolves."""
    stored = {"data_root": None, "channels_last": True, "width": 4, "steps": 9, "gone": 1}
    config = resolve_config({"width": 8}, {}, {}, stored=stored, tags={"sequence", "discriminator"})
    assert config["width"] == 4 and config["steps"] == 9 and "channels_last" not in config.trainer


def test_list_options_keep_a_fixed_length_only_where_declared():
    model = {"windows": Option((1, 2, 3), "window widths", 1, None), "pair": Option((1.0, 2.0), "two", length=2)}
    config = resolve_config(model, {}, {"windows": "4,5", "pair": "3,4"})
    assert config["windows"] == (4, 5) and config["pair"] == (3.0, 4.0)
    with pytest.raises(ConfigError, match="pair must be a list of 2"):
        resolve_config(model, {}, {"pair": "1,2,3"})
    with pytest.raises(ConfigError, match=r"windows\[1\] must be in"):
        resolve_config(model, {}, {"windows": "4,0"})


def test_set_parses_key_value_pairs():
    assert parse_set_options(["a=1", " b = x ", "c=1=2"]) == {"a": "1", "b": "x", "c": "1=2"}
    with pytest.raises(ConfigError, match="key=value"):
        parse_set_options(["novalue"])
    with pytest.raises(ConfigError):
        parse_set_options(["=3"])


def test_unknown_option_suggests_the_close_name():
    with pytest.raises(GanzooError, match="did you mean 'batch_size'"):
        resolve_config({}, {}, {"batch_sise": 3})


@pytest.mark.parametrize("key,value", [("batch_size", 0), ("steps", -5), ("lr_g", 0.0), ("lr_d", -1e-3),
                                       ("d_steps", 0), ("image_size", 2)])
def test_non_positive_or_out_of_range_values_are_refused(key, value):
    with pytest.raises(ConfigError, match=key):
        resolve_config({}, {}, {key: value})


def test_model_bounds_are_checked():
    with pytest.raises(ConfigError, match=r"width must be in \[1, 64\]"):
        resolve_config({"width": 8}, {"width": (1, 64)}, {"width": "100"})


@pytest.mark.parametrize("value", ["abc", "1.5", "true", "[1,2]"])
def test_wrong_types_are_refused(value):
    with pytest.raises(ConfigError, match="whole number"):
        resolve_config({}, {}, {"batch_size": value})


def test_betas_take_a_pair():
    assert resolve_config({}, {}, {"betas": "0.0,0.9"})["betas"] == (0.0, 0.9)
    assert resolve_config({}, {}, {"betas": "[0.5, 0.99]"})["betas"] == (0.5, 0.99)
    with pytest.raises(ConfigError):
        resolve_config({}, {}, {"betas": "0.5"})
    with pytest.raises(ConfigError, match="betas"):
        resolve_config({}, {}, {"betas": "1.5,0.9"})


def test_precision_must_be_known():
    with pytest.raises(ConfigError, match="precision"):
        resolve_config({}, {}, {"precision": "fp8"})


@given(st.integers(min_value=1, max_value=10**9))
def test_any_positive_integer_text_round_trips(n):
    assert resolve_config({}, {}, {"batch_size": str(n)})["batch_size"] == n


@given(st.floats(min_value=1e-8, max_value=10, allow_nan=False))
def test_learning_rates_round_trip_from_text(lr):
    assert resolve_config({}, {}, {"lr_g": repr(lr)})["lr_g"] == pytest.approx(lr)


@given(st.text(max_size=30))
def test_arbitrary_set_text_either_parses_or_raises_a_user_error(text):
    """No --set value can crash the parser with anything but a clear ConfigError."""
    for key, option in [*((k, TRAINER_OPTIONS[k]) for k in ("batch_size", "lr_g", "betas", "loss")),
                        ("download", DATA_OPTIONS["download"]), ("image_size", DATA_OPTIONS["image_size"])]:
        try:
            option.coerce(key, text)
        except ConfigError:
            pass


@given(st.lists(st.tuples(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), st.text(max_size=10)), max_size=5))
def test_set_items_round_trip(pairs):
    items = [f"{k}={v}" for k, v in pairs]
    parsed = parse_set_options(items)
    assert parsed == {k: v.strip() for k, v in dict(pairs).items()}


@given(st.lists(st.text(max_size=20), max_size=6))
def test_any_set_items_parse_or_raise_a_config_error(items):
    try:
        parsed = parse_set_options(items)
    except ConfigError:
        return
    assert all("=" in item for item in items) and set(parsed) <= {i.partition("=")[0].strip() for i in items}


@given(st.dictionaries(st.sampled_from(sorted(TRAINER_OPTIONS)), st.text(max_size=16), max_size=4))
def test_any_text_for_any_option_resolves_or_raises_a_user_error(user):
    """Whatever --set text the user gives any option, the answer is a config or a one-line GanzooError."""
    try:
        config = resolve_config({}, {}, user)
    except GanzooError as exc:
        assert "\n" not in str(exc)
        return
    assert set(config.trainer) == set(TRAINER_OPTIONS)


BOUNDED = sorted(k for k, o in TRAINER_OPTIONS.items() if isinstance(o.default, int) and not isinstance(o.default, bool)
                 and o.low is not None)


@given(st.sampled_from(BOUNDED), st.integers(min_value=-10**6, max_value=10**6))
def test_bounded_whole_numbers_are_accepted_inside_and_refused_outside(key, value):
    option = TRAINER_OPTIONS[key]
    inside = value >= option.low and (option.high is None or value <= option.high)
    try:
        assert resolve_config({}, {}, {key: str(value)})[key] == value and inside
    except ConfigError as exc:
        assert not inside and str(exc).startswith(f"{key} must be in ")


@given(st.fixed_dictionaries({}, optional={
    "steps": st.integers(1, 10**6), "batch_size": st.integers(1, 4096), "lr_g": st.floats(1e-6, 1.0),
    "betas": st.tuples(st.floats(0, 0.99), st.floats(0, 0.999)), "seed": st.integers(0, 2**40),
    "image_size": st.none() | st.integers(4, 1024), "precision": st.sampled_from(["fp32", "bf16"]),
}))
def test_a_stored_config_resolves_to_itself(user):
    """Resume feeds the JSON of a checkpoint's config back in as user values: it must come back unchanged."""
    config = resolve_config({"width": 8}, {"width": (1, 64)}, user)
    stored = json.loads(json.dumps(config.to_json()))
    again = resolve_config({"width": 8}, {"width": (1, 64)}, {}, stored={f"{s}.{k}": v for s, vs in stored.items()
                                                                         for k, v in vs.items()})
    assert again.to_json() == config.to_json()
