"""Suite files: parsing (property-based), validation against the registry, and the committed suites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from ganzoo.benchmarking.suite import PROTOCOL_KEYS, SuiteError, load_suite, parse_suite, validate_suite
from ganzoo.errors import GanzooError

SUITES = ROOT / "benchmarks" / "suites"


# ---- a tiny TOML writer for generated suites (the subset suites use) ------------------------------
def toml_string(text: str) -> str:
    escaped = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F or c in '"\\' else c for c in text)
    return f'"{escaped}"'


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def to_toml(suite: dict) -> str:
    lines = [f"{toml_string(k)} = {toml_value(v)}" for k, v in suite.items() if k != "entry"]
    for entry in suite.get("entry", []):
        lines.append("[[entry]]")
        lines += [f"{toml_string(k)} = {toml_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


names = st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True)
seeds = st.lists(st.integers(0, 10**6), min_size=1, max_size=4, unique=True)
scalars = st.one_of(st.integers(-1000, 1000), st.booleans(), st.text(max_size=8),
                    st.floats(allow_nan=False, allow_infinity=False, width=32))
option_tables = st.dictionaries(names.filter(lambda n: n not in ("dataset", "loss", "steps", "seed")), scalars, max_size=4)
protocols = st.fixed_dictionaries({}, optional={
    "metrics": st.lists(names, max_size=3, unique=True),
    "num_samples": st.integers(2, 10**5),
    "feature_extractor": names,
    "seed": st.integers(0, 100),
})
entries = st.fixed_dictionaries({"model": names}, optional={
    "name": names, "dataset": names, "loss": names, "seeds": seeds, "steps": st.integers(1, 10**6),
    "options": option_tables, "protocol": protocols, "optional": st.booleans(),
    "time_limit": st.floats(0.001, 1e6),
})
suites = st.fixed_dictionaries({"entry": st.lists(entries, min_size=1, max_size=5)}, optional={
    "name": names, "seeds": seeds, "steps": st.integers(1, 10**6), "options": option_tables, "protocol": protocols,
})


def expected_name(entry: dict) -> str:
    if "name" in entry:
        return entry["name"]
    return f"{entry['model']}-{entry['dataset']}" if "dataset" in entry else entry["model"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(suites)
def test_every_well_formed_suite_parses_to_one_run_per_entry_and_seed(data):
    names_seen = [expected_name(e) for e in data["entry"]]
    text = to_toml(data)
    if len(set(names_seen)) != len(names_seen):
        with pytest.raises(SuiteError, match="is taken by entry"):
            parse_suite(text, "gen.toml")
        return
    suite = parse_suite(text, "gen.toml")
    assert [e.name for e in suite.entries] == names_seen
    runs = suite.runs()
    assert len(runs) == sum(len(e.get("seeds", data.get("seeds", [0]))) for e in data["entry"])
    assert len({r.run_id for r in runs}) == len(runs)
    for raw, entry in zip(data["entry"], suite.entries, strict=True):
        assert entry.model == raw["model"]
        assert list(entry.seeds) == raw.get("seeds", data.get("seeds", [0]))
        # entry options override suite options key by key; dataset / loss / steps join them
        for key, value in {**data.get("options", {}), **raw.get("options", {})}.items():
            assert entry.options[key] == value
        steps = raw.get("steps", data.get("steps"))
        assert entry.options.get("steps") == steps
        for key in ("dataset", "loss"):
            assert entry.options.get(key) == raw.get(key)
        merged = {**data.get("protocol", {}), **raw.get("protocol", {})}
        protocol = entry.protocol.to_json()
        for key, value in merged.items():
            assert protocol[key] == (value or None if key == "metrics" else value)
    # the fingerprint depends on what is asked only
    again = parse_suite(text, "elsewhere.toml")
    assert [r.fingerprint for r in again.runs()] == [r.fingerprint for r in runs]


@settings(max_examples=150, deadline=None)
@given(suites, st.sampled_from(["top", "entry", "protocol"]), names.filter(lambda n: n not in PROTOCOL_KEYS))
def test_an_unknown_key_anywhere_is_one_clear_error(data, where, key):
    target = {"top": data, "entry": data["entry"][0]}.get(where)
    if target is None:
        target = data["entry"][0].setdefault("protocol", {})
    allowed = {"top": ("name", "description", "seeds", "steps", "time_limit", "options", "protocol", "entry"),
               "entry": ("name", "description", "model", "dataset", "loss", "seeds", "steps", "time_limit", "options",
                         "protocol", "optional"),
               "protocol": PROTOCOL_KEYS}[where]
    if key in allowed:
        return
    target[key] = 1
    with pytest.raises(SuiteError) as info:
        parse_suite(to_toml(data), "gen.toml")
    message = str(info.value)
    assert message.startswith("gen.toml: ") and f"unknown key {key!r}" in message and "\n" not in message


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_parsed_or_refused_with_a_ganzoo_error(text):
    try:
        parse_suite(text, "fuzz.toml")
    except GanzooError as exc:
        assert "\n" not in str(exc).strip()


@settings(max_examples=100, deadline=None)
@given(suites, st.sampled_from([("seeds", []), ("seeds", [1, 1]), ("seeds", [-1]), ("steps", 0), ("steps", "10"),
                                ("time_limit", 0), ("optional", "yes"), ("model", 3), ("options", {"seed": 1}),
                                ("options", {"dataset": "ring"}), ("protocol", {"num_samples": 1}),
                                ("protocol", {"metrics": [1]}), ("name", "a b")]))
def test_bad_values_are_refused_naming_the_entry(data, mistake):
    key, value = mistake
    data["entry"][0][key] = value
    with pytest.raises(SuiteError, match=r"^gen\.toml: entry 1"):
        parse_suite(to_toml(data), "gen.toml")


# ---- validation against the registry -------------------------------------------------------------
GOOD = """
seeds = [0, 1]
steps = 10
[[entry]]
model = "vanilla"
dataset = "ring"
[entry.protocol]
metrics = ["modes"]
"""


@pytest.mark.parametrize("change, message", [
    (("vanila", "ring", "modes", ""), "entry 'vanila-ring': unknown model 'vanila'; did you mean 'vanilla'?"),
    (("vanilla", "rings", "modes", ""), "unknown dataset 'rings'"),
    (("vanilla", "ring", "modez", ""), "unknown metric 'modez'"),
    (("vanilla", "ring", "fid", ""), "metric 'fid' scores image models; this run is points"),
    (("vanilla", "ring", "modes", "g_hiden = 3"), "unknown option 'g_hiden'; did you mean 'g_hidden'"),
    (("vanilla", "ring", "modes", "dropout = 2.0"), "dropout must be in [0.0, 0.95], got 2.0"),
    (("vanilla", "ring", "modes", 'precision = "fp16"'), "precision fp16 needs a CUDA device"),
    (("dcgan", "ring", "modes", ""), "model 'dcgan' trains on image data, but dataset 'ring' holds points data"),
])
def test_validation_names_the_entry_and_the_mistake(change, message):
    model, dataset, metric, option = change
    text = (f'[[entry]]\nmodel = "{model}"\ndataset = "{dataset}"\n[entry.options]\n{option}\n'
            f'[entry.protocol]\nmetrics = ["{metric}"]\n')
    with pytest.raises(SuiteError) as info:
        validate_suite(parse_suite(text, "s.toml"))
    assert str(info.value).startswith("s.toml: entry ") and message in str(info.value)


def test_unknown_loss_and_missing_extractor_are_caught_before_running(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path))
    text = '[[entry]]\nmodel = "dcgan"\ndataset = "digits"\nloss = "hinge2"\n'
    with pytest.raises(SuiteError, match="unknown loss 'hinge2'"):
        validate_suite(parse_suite(text, "s.toml"))
    text = '[[entry]]\nmodel = "dcgan"\ndataset = "digits"\n[entry.protocol]\nfeature_extractor = "ganzoo-mnist"\n'
    with pytest.raises(SuiteError, match="no feature extractor 'ganzoo-mnist'"):
        validate_suite(parse_suite(text, "s.toml"))


def test_missing_data_stops_a_suite_unless_the_entry_is_optional(tmp_path):
    required = tmp_path / "required.toml"
    required.write_text(f'[[entry]]\nmodel = "vanilla"\ndataset = "mnist"\n[entry.options]\ndata_root = "{tmp_path}"\n'
                        '[entry.protocol]\nfeature_extractor = "ganzoo-digits"\n')
    with pytest.raises(SuiteError, match="entry 'vanilla-mnist': mnist: no train files"):
        load_suite(required)
    optional = tmp_path / "optional.toml"
    optional.write_text(required.read_text().replace('dataset = "mnist"', 'dataset = "mnist"\noptional = true'))
    suite, _ = load_suite(optional)
    assert "no train files" in suite.skipped["vanilla-mnist"]


def test_cli_reports_an_invalid_suite_in_one_line_with_exit_code_2(cli, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[entry]]\nmodel = "nosuchgan"\n')
    result = cli("bench", path, "--out", tmp_path / "out")
    assert result.code == 2
    assert result.err.strip().count("\n") == 0 and "unknown model 'nosuchgan'" in result.err
    assert not (tmp_path / "out" / "results.jsonl").exists()


@pytest.mark.parametrize("name", ["smoke", "cpu"])
def test_committed_suites_validate(name):
    suite, resolved = load_suite(SUITES / f"{name}.toml", data=False)
    assert suite.name == name and resolved


def test_gpu_suite_is_well_formed_and_asks_for_the_inception_protocol():
    suite = parse_suite((SUITES / "gpu.toml").read_text(), "gpu.toml")
    image = [e for e in suite.entries if e.options["dataset"] in ("mnist", "cifar10", "celeba")]
    assert {e.options["dataset"] for e in image} == {"mnist", "cifar10", "celeba"}
    assert all(e.protocol.feature_extractor == "inception-v3-compat" and e.protocol.num_samples >= 10_000 for e in image)
    assert all(e.options["device"] == "cuda" for e in suite.entries)
    assert all(len(e.seeds) >= 3 for e in suite.entries)


def test_check_lists_the_plan_without_running(cli, tmp_path):
    result = cli("bench", Path(SUITES / "smoke.toml"), "--out", tmp_path, "--check", "--json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert {r["state"] for r in plan["runs"]} == {"to run"}
    assert not (tmp_path / "results.jsonl").exists()
