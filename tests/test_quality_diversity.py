"""Quality-diversity measurement (issue 18): the ``mle`` baseline, distinct-n, temperature sweeps written beside
the run, and the figure of several runs' sweeps; bad sweeps are refused in one line with nothing written."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from test_seqgan import TINY

import ganzoo
from ganzoo_seqgan import MLE_MATCHED_UPDATES
from ganzoo_seqgan.metrics import distinct_ngrams

ORACLE = {key: value for key, value in TINY.items() if key.startswith("oracle_") or key in ("dataset", "device")}
SWEEP = "0.5,1,2"


@pytest.fixture(scope="module")
def mle_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "mle"
    ganzoo.train("mle", out=path, progress=False, steps=40, log_every=5, batch_size=32, emb_dim=16, hidden_dim=16, **ORACLE)
    return path


@pytest.fixture(scope="module")
def seq_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "seqgan"
    ganzoo.train("seqgan", out=path, progress=False, **{**TINY, "steps": 1})
    return path


def files_under(root):
    return sorted(str(p) for p in root.rglob("*"))


def test_mle_trains_by_likelihood_alone_for_seqgans_generator_updates(mle_run):
    records = [json.loads(line) for line in (mle_run / "metrics.jsonl").read_text().splitlines()]
    losses = [r["nll_train"] for r in records if "nll_train" in r]
    assert losses[-1] < losses[0] - 0.1  # it learns
    assert ganzoo.info("mle")["discriminator"] is False
    assert MLE_MATCHED_UPDATES == 1572  # 10 CPU-schedule MLE epochs of 156 batches + 12 policy-gradient updates
    assert ganzoo.info("mle")["options"]["trainer"]["steps"]["default"] == MLE_MATCHED_UPDATES


def test_distinct_counts_unique_ngrams():
    lines = [["a", "b", "a", "b"], ["a", "b"]]
    assert distinct_ngrams(lines, 1) == pytest.approx(2 / 6)
    assert distinct_ngrams(lines, 2) == pytest.approx(2 / 4)  # (a b) three times, (b a) once
    assert distinct_ngrams(lines, 5) == 0.0


def test_a_sweep_scores_each_temperature_and_lower_trades_diversity_for_quality(cli, mle_run):
    result = cli("eval", mle_run, "--temperature-sweep", SWEEP, "--num-samples", "300", "--json")
    assert result.code == 0, result.err
    written = json.loads((mle_run / "temperature-sweep.json").read_text())
    shown = json.loads(result.out)
    assert shown["path"] == str(mle_run / "temperature-sweep.json")
    assert [p["temperature"] for p in written["points"]] == [0.5, 1.0, 2.0]
    cold, one, hot = (p["scores"] for p in written["points"])
    assert cold["nll_oracle"] < one["nll_oracle"] < hot["nll_oracle"]  # sharper samples are likelier under the truth
    assert cold["distinct2"] < one["distinct2"] < hot["distinct2"]  # and less varied
    assert one["nll_test"] < cold["nll_test"]  # T = 1 explains held-out data best of the two
    assert "temperature" not in json.dumps(written["protocol"])  # a setting of the points, not of the protocol
    # the point at T = 1 is the plain evaluation
    plain = cli("eval", mle_run, "--num-samples", "300", "--json")
    assert json.loads(plain.out)["eval"] == one


def test_plot_draws_several_runs_sweeps_on_one_figure(cli, mle_run, seq_run, tmp_path):
    assert cli("eval", seq_run, "--temperature-sweep", SWEEP, "--num-samples", "200").code == 0
    if not (mle_run / "temperature-sweep.json").exists():
        assert cli("eval", mle_run, "--temperature-sweep", SWEEP, "--num-samples", "200").code == 0
    out = tmp_path / "qd.png"
    result = cli("plot", "--quality-diversity", mle_run, seq_run, "--name", "MLE", "--name", "SeqGAN", "--out", out)
    assert result.code == 0, result.err
    with Image.open(out) as figure:
        assert figure.size[0] > 300 and len(figure.convert("L").getcolors(maxcolors=65536)) > 20
    named = cli("plot", "--quality-diversity", mle_run, seq_run, "--quality", "distinct2", "--diversity", "nll_test",
                "--out", tmp_path / "other.png")
    assert named.code == 0, named.err


@pytest.mark.parametrize(("args", "message"), [
    (["--temperature-sweep", "0.5,0,1"], "temperature must be a finite number > 0, got 0"),
    (["--temperature-sweep", "0.5,hot"], "temperature sweep: 'hot' is not a number (give e.g. 0.5,0.7,1,1.3)"),
    (["--temperature-sweep", "1,1"], "temperature sweep: '1,1' repeats a temperature"),
    (["--temperature-sweep", "0.5,1", "--temperature", "0.7"], "--temperature-sweep sets the temperatures; leave "
                                                               "out --temperature"),
])
def test_bad_sweeps_are_one_line_exit_2_and_write_nothing(cli, mle_run, args, message, tmp_path):
    out = tmp_path / "sweep.json"
    before = files_under(mle_run)
    result = cli("eval", mle_run, *args, "--out", out)
    assert result.code == 2 and result.err.strip() == f"ganzoo: error: {message}"
    assert files_under(mle_run) == before and not out.exists()


def test_plot_refuses_what_it_cannot_draw(cli, mle_run, seq_run, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["plot", mle_run, seq_run], "training curves are of one run; --quality-diversity compares several runs' "
                                     "sweeps"),
        (["plot", "--quality-diversity", mle_run, seq_run], "say where the figure goes with --out (several runs have "
                                                            "no one folder to put it in)"),
        (["plot", "--quality-diversity", empty, "--out", tmp_path / "x.png"],
         f"{empty / 'temperature-sweep.json'}: no temperature sweep here (make one with `ganzoo eval RUN "
         f"--temperature-sweep 0.5,0.7,1,1.3`)"),
    ]
    for args, message in cases:
        result = cli(*args)
        assert result.code == 2 and result.err.strip() == f"ganzoo: error: {message}", result.err
    assert not (tmp_path / "x.png").exists()
