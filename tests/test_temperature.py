"""Sampling temperature (issue 18): seqgan samples and is scored at a softmax temperature; T = 1 is the old
sampling exactly; bad temperatures and image models are refused in one line with nothing written; the
temperature is a run setting recorded with the scores, not part of their protocol."""

from __future__ import annotations

import json
import math

import pytest
import torch
from test_seqgan import TINY

import ganzoo
from ganzoo.benchmarking import leaderboard
from ganzoo.benchmarking.suite import SuiteError, check_data, parse_suite, validate_suite
from ganzoo_seqgan.models import draw_tokens

BAD = ["0", "-1", "nan", "inf"]


@pytest.fixture(scope="module")
def seq_run(tmp_path_factory):
    """A seqgan run on the tiny oracle (two MLE epochs, one D round, one adversarial round)."""
    path = tmp_path_factory.mktemp("runs") / "seqgan"
    ganzoo.train("seqgan", out=path, progress=False, **{**TINY, "steps": 1})
    return path


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "dcgan"
    ganzoo.train("dcgan", steps=2, out=path, progress=False, g_width=8, d_width=8, latent_dim=16)
    return path


def files_under(*roots):
    return sorted(str(p) for root in roots if root.exists() for p in root.rglob("*"))


def old_sample(G, n, generator):
    """LSTMGenerator.sample as it was before temperatures: softmax(logits) at every step."""
    state, last, tokens = None, torch.full((n,), G.start_token, dtype=torch.long), []
    for _ in range(G.length):
        logits, state = G.step(last, state)
        last = draw_tokens(logits, generator)
        tokens.append(last)
    return G.force_padding(torch.stack(tokens, dim=1))


def token_entropy(samples):
    """Entropy (nats) of the tokens' empirical distribution."""
    counts = torch.bincount(samples.flatten()).double()
    p = counts[counts > 0] / counts.sum()
    return float(-(p * p.log()).sum())


@torch.no_grad()
def test_temperature_one_is_the_previous_sampling_and_lower_is_sharper(seq_run):
    G = ganzoo.load(seq_run)
    assert G.supports_temperature

    def draw(seed, **kw):
        return G.sample(400, generator=torch.Generator().manual_seed(seed), **kw)

    assert torch.equal(draw(3), old_sample(G, 400, torch.Generator().manual_seed(3)))
    assert torch.equal(draw(3, temperature=1.0), draw(3))
    assert torch.equal(ganzoo.sample(seq_run, 50, seed=5, temperature=1.0), ganzoo.sample(seq_run, 50, seed=5))
    cold, warm, hot = draw(3, temperature=0.3), draw(3), draw(3, temperature=2.0)
    assert token_entropy(cold) < token_entropy(warm) < token_entropy(hot)
    assert len(cold.unique()) < len(hot.unique())
    assert len(cold.unique(dim=0)) < len(hot.unique(dim=0))  # fewer distinct sequences too


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize("command", ["sample", "eval"])
def test_bad_temperatures_are_one_line_exit_2_and_nothing_written(cli, seq_run, tmp_path, private_cache, command,
                                                                  value):
    before = files_under(seq_run)
    out = tmp_path / "s.txt"
    extra = ["--out", out] if command == "sample" else ["--metrics", "nll-oracle", "--num-samples", "20"]
    result = cli(command, seq_run, "--temperature", value, *extra)
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert lines == [f"ganzoo: error: temperature must be a finite number > 0, got {value}"], result.err
    assert not out.exists() and files_under(seq_run) == before and files_under(tmp_path) == []


def test_an_image_model_refuses_a_temperature(cli, image_run, tmp_path, private_cache):
    message = "ganzoo: error: temperature applies to models that sample tokens; this model makes images"
    for args in (["sample", image_run, "--temperature", "0.5", "--out", tmp_path / "s.png"],
                 ["eval", image_run, "--temperature", "0.5", "--num-samples", "20"]):
        result = cli(*args)
        assert (result.code, result.err.strip().splitlines()) == (2, [message]), result.err
    walks = cli("sample", image_run, "--interpolate", "--temperature", "0.5", "--out", tmp_path / "w.png")
    assert walks.code == 2 and len(walks.err.strip().splitlines()) == 1 and "--interpolate" in walks.err
    assert files_under(tmp_path) == []
    assert cli("sample", image_run, "-n", "4", "--out", tmp_path / "ok.png", "--temperature", "1").code == 0


def test_eval_records_the_temperature_beside_unchanged_protocols(cli, seq_run):
    def scored(*args):
        result = cli("eval", seq_run, "--metrics", "nll-oracle,nll-test", "--num-samples", "200", "--json", *args)
        assert result.code == 0, result.err
        return json.loads(result.out)

    plain, one, cold = scored(), scored("--temperature", "1"), scored("--temperature", "0.5")
    assert plain["temperature"] == one["temperature"] == 1.0 and cold["temperature"] == 0.5
    assert plain["eval"] == one["eval"]
    assert cold["protocol"] == plain["protocol"]  # the same protocol: rows at both temperatures rank together
    assert cold["eval"]["nll_test"] != plain["eval"]["nll_test"]  # NLL-test under the tempered distribution
    assert cold["eval"]["nll_oracle"] != plain["eval"]["nll_oracle"]
    text = cli("eval", seq_run, "--metrics", "nll-test", "--temperature", "0.5")
    assert "temperature 0.5" in text.out.splitlines()[0]
    printed = cli("sample", seq_run, "-n", "5", "--temperature", "0.5")
    assert printed.code == 0 and len(printed.out.splitlines()) == 5, printed.err


SUITE = """
[[entry]]
name = "seq"
model = "seqgan"
dataset = "oracle"
{temperature}
"""


def test_a_suite_entry_sets_its_temperature_and_the_leaderboard_shows_it():
    cold = parse_suite(SUITE.format(temperature="temperature = 0.5"), "t.toml").runs()[0]
    default = parse_suite(SUITE.format(temperature=""), "t.toml").runs()[0]
    explicit = parse_suite(SUITE.format(temperature="temperature = 1"), "t.toml").runs()[0]
    assert (cold.temperature, default.temperature) == (0.5, 1.0)
    assert default.fingerprint == explicit.fingerprint != cold.fingerprint  # old suites keep their fingerprints
    for bad in ("0", "-1", "nan", "inf", '"hot"'):
        with pytest.raises(SuiteError, match=r"entry 1\.temperature: temperature must be a finite number > 0"):
            parse_suite(SUITE.format(temperature=f"temperature = {bad}"), "t.toml")

    def row(entry, temperature, nll):
        return {"run_id": f"{entry}-seed0", "entry": entry, "seed": 0, "status": "ok", "dataset": "oracle",
                "model": "seqgan", "config": {}, "step": 3, "options": {}, "temperature": temperature,
                "scores": {"nll_test": nll}, "better": {"nll_test": "lower"},
                "protocol": {"metrics": {"nll-test": {"split": "test"}}, "keys": {"nll-test": ["nll_test"]}}}

    board = leaderboard.build([row("cold", 0.5, 2.0), row("plain", 1.0, 3.0)])
    (table,) = board.tables  # one protocol: both temperatures rank in one table
    assert [(r.entry, r.settings) for r in table.rows] == [("cold", {"temperature": 0.5}), ("plain", {})]
    assert "temperature=0.5" in leaderboard.to_markdown(board)


def test_a_suite_gives_no_temperature_to_a_model_that_makes_images():
    suite = parse_suite('[[entry]]\nmodel = "dcgan"\ntemperature = 0.5\n[entry.options]\ndevice = "cpu"\n', "t.toml")
    suite, resolved = validate_suite(suite)
    with pytest.raises(SuiteError, match="temperature applies to models that sample tokens; this model makes images"):
        check_data(suite, resolved)


def test_check_temperature_takes_only_finite_positive_numbers():
    from ganzoo.plugin import ConfigError, check_temperature

    assert check_temperature(2) == 2.0 and isinstance(check_temperature(2), float)
    for bad in (0, -0.5, math.nan, math.inf, True, "1"):
        with pytest.raises(ConfigError, match="temperature must be a finite number > 0"):
            check_temperature(bad)
