"""SeqGAN on a tiny oracle (vocabulary 50, length 8): training phases, scores, text data, CLI."""

from __future__ import annotations

import json

import pytest
import torch
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

import ganzoo
from ganzoo.configure import resolve_run
from ganzoo.metrics.base import EvalContext, choose_metrics, evaluate
from ganzoo.plugins import get_registry
from ganzoo.storage.checkpoint import read_checkpoint
from ganzoo.storage.rundir import RunDir
from ganzoo.trainer.setup import prepare_state
from ganzoo_seqgan import bleu as bleu_lib
from ganzoo_seqgan import training
from ganzoo_seqgan.oracle import make_oracle, oracle_from_tensors, oracle_sizes
from ganzoo_seqgan.text import END, PAD, UNK

TINY = {
    "dataset": "oracle", "oracle_vocab": 50, "oracle_length": 8, "oracle_samples": 512, "emb_dim": 16,
    "hidden_dim": 16, "d_emb_dim": 16, "d_filters": [8] * 12, "batch_size": 32, "rollouts": 4, "device": "cpu",
    "mle_epochs": 2, "d_pretrain_rounds": 1, "d_negatives": 64, "d_epochs": 1, "steps": 2, "d_steps": 1,
}
TINY_CLI = [arg for key, value in TINY.items() if key != "dataset" and not key.startswith("oracle_")
            for arg in ("--set", f"{key}={','.join(map(str, value)) if isinstance(value, list) else value}")]


def tiny_options(**changes):
    """TINY with changes; the oracle's options are left out for other datasets."""
    options = {**TINY, **changes}
    if options["dataset"] != "oracle":
        options = {k: v for k, v in options.items() if not k.startswith("oracle_")}
    return options


def tiny_state(**changes):
    registry = get_registry()
    spec, config = resolve_run(registry, "seqgan", tiny_options(**changes))
    return prepare_state(registry, spec, config)


def scores(state, names, n=1000):
    registry = get_registry()
    ctx = EvalContext(state.generator, state.config, state.data.info, None, list(names), num_samples=n,
                      registry=registry)
    return evaluate(ctx, [registry.metric(name) for name in names]).scores


def test_mle_pretraining_lowers_nll_oracle():
    state = tiny_state()
    before = scores(state, ["nll-oracle"])["nll_oracle"]
    for _ in range(3):
        training.mle_epoch(state)
    after = scores(state, ["nll-oracle"])["nll_oracle"]
    assert after < before - 0.3


def mean_reward(state, n=2000):
    D = state.discriminator
    D.eval()
    with torch.no_grad():
        samples = state.generator.sample(n, generator=torch.Generator().manual_seed(123))
        reward = torch.sigmoid(D(samples)).mean()
    D.train()
    return float(reward)


def test_a_policy_gradient_step_raises_the_discriminators_reward():
    state = tiny_state(batch_size=128, lr_d=1e-3, d_filters=[16] * 12)
    for _ in range(4):  # a discriminator that tells the untrained G from the oracle
        training.train_discriminator(state, 512, 1)
    state.extras["rollout"].load_state_dict(state.generator.state_dict())
    before = mean_reward(state)
    assert before < 0.47  # D does see a difference
    logs = training.generator_step(state)
    assert mean_reward(state) > before
    assert 0 < float(logs["reward"]) < 1


def test_rollout_rewards_score_prefixes_and_the_whole_sequence():
    state = tiny_state()
    G, D = state.generator, state.discriminator
    samples = G.sample(5)
    rewards = training.rollout_rewards(G, D, samples, rollouts=3)
    assert rewards.shape == (5, 8) and bool(((rewards > 0) & (rewards < 1)).all())
    D.eval()
    with torch.no_grad():
        assert torch.allclose(rewards[:, -1], torch.sigmoid(D(samples)))


def test_rollout_policy_follows_the_generator_at_the_update_rate():
    policy, G = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    old = policy.weight.detach().clone()
    training.follow(policy, G, keep=0.8)
    assert torch.allclose(policy.weight, 0.8 * old + 0.2 * G.weight)


def test_the_oracle_is_a_function_of_its_seed_and_is_kept_with_the_run(cli, tmp_path):
    sizes = oracle_sizes(TINY)
    a, b = make_oracle(sizes), make_oracle(sizes)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    other = make_oracle({**sizes, "oracle_seed": 1})
    assert not torch.equal(a.output.weight, other.output.weight)
    result = ganzoo.train("seqgan", out=tmp_path / "run", progress=False, **TINY)
    kept = RunDir(result.path).read_data_artifacts()
    info = ganzoo.load_run(result.path).data_info
    restored = oracle_from_tensors(kept, info)
    assert torch.equal(restored.output.weight, a.output.weight)
    with torch.no_grad():  # the eval command scores G's samples under the kept oracle
        tampered = {k: v * 2 if k.endswith("output.weight") else v for k, v in kept.items()}
    RunDir(result.path).write_data_artifacts(tampered)
    evaluated = cli("eval", result.path, "--metrics", "nll-oracle", "--num-samples", "200", "--json")
    assert evaluated.code == 0, evaluated.err
    with_tampered = json.loads(evaluated.out)["eval"]["nll_oracle"]
    RunDir(result.path).write_data_artifacts(kept)
    honest = json.loads(cli("eval", result.path, "--metrics", "nll-oracle", "--num-samples", "200", "--json").out)
    assert honest["eval"]["nll_oracle"] != with_tampered


def test_training_runs_three_phases_and_resumes_exactly_across_them(tmp_path):
    straight = ganzoo.train("seqgan", out=tmp_path / "a", progress=False, **TINY)
    records = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert [r["phase"] for r in records] == ["pretrain-g"] * 2 + ["pretrain-d"] + ["adversarial"] * 2
    assert {"loss_pg", "reward", "loss_d"} <= set(records[-1])
    assert straight.step == 5
    ganzoo.train("seqgan", out=tmp_path / "b", progress=False, **{**TINY, "mle_epochs": 2, "steps": 1})
    ganzoo.train(resume=tmp_path / "b", steps=2, progress=False)
    a = read_checkpoint(straight.checkpoint).tensors
    b = read_checkpoint(tmp_path / "b" / "checkpoints" / "step-00000005.safetensors").tensors
    keys = [k for k in a if k.startswith(("generator/", "discriminator/", "rollout/", "optim/"))]
    assert any(k.startswith("rollout/") for k in keys) and any(k.startswith("optim/generator_pg/") for k in keys)
    assert all(torch.equal(a[k], b[k]) for k in keys)


def test_fast_bleu_equals_nltk_against_every_reference():
    refs = [s.split() for s in ["a man rides a horse .", "a dog on a beach", "two men ride horses on a beach .",
                                "a cat sleeps", "the man is riding a brown horse", "a horse on the beach ."]]
    hyps = [s.split() for s in ["a man rides a brown horse on the beach .", "a dog", "cat on a horse", ""]]
    smooth = SmoothingFunction().method1
    fast = bleu_lib.bleu(hyps, refs, (2, 3, 4, 5))
    for order in (2, 3, 4, 5):
        w = bleu_lib.weights_for(order)
        exact = sum(sentence_bleu(refs, h, w, smoothing_function=smooth) if h else 0.0 for h in hyps) / len(hyps)
        assert fast[order] == pytest.approx(exact, abs=1e-12)
    self_fast = bleu_lib.self_bleu(refs, (2, 3))
    for order in (2, 3):
        w = bleu_lib.weights_for(order)
        exact = sum(sentence_bleu(refs[:i] + refs[i + 1:], r, w, smoothing_function=smooth)
                    for i, r in enumerate(refs)) / len(refs)
        assert self_fast[order] == pytest.approx(exact, abs=1e-12)


@pytest.fixture
def captions(tmp_path):
    train = tmp_path / "caps.txt"
    train.write_text("a man rides a horse.\na dog runs on the beach.\na man walks a dog.\n" * 20, encoding="utf-8")
    (tmp_path / "caps_test.txt").write_text("a zebra rides a horse.\na dog walks.\n" * 10, encoding="utf-8")
    return train


def test_text_data_uses_the_training_vocabulary_with_end_and_padding(captions):
    registry = get_registry()
    spec, config = resolve_run(registry, "seqgan", {"dataset": "text", "data_root": captions})
    assert config["data_root"] == str(captions)  # a Path is kept as a string (the config is JSON)
    from ganzoo.data.loading import load_data

    train, test = load_data(registry, config), load_data(registry, config, split="test")
    info = train.info
    vocab = info.extras["vocab"]
    assert info.shape == (8,)  # 'a dog runs on the beach .' + <end>
    assert vocab[info.extras["end_token"]] == END and vocab[info.extras["pad_token"]] == PAD
    assert "zebra" not in vocab and test.info.extras["vocab"] == vocab
    first_test = [vocab[i] for i in test.x[0].tolist()]
    assert first_test == ["a", UNK, "rides", "a", "horse", ".", END, PAD]
    from ganzoo.render import decode_tokens

    assert decode_tokens(train.x[:2], info) == ["a man rides a horse .", "a dog runs on the beach ."]


def test_text_data_reports_unknown_words_cut_sentences_and_its_tokenizer(tmp_path, caplog):
    from ganzoo.data.loading import load_data

    train = tmp_path / "news.txt"
    long_line = 'Rates rose to 4.5% in "March", the bank\'s chief said, and 1,250 jobs went. ' * 4  # 96 tokens
    short = "the cat sat .\n" * 30 + "the dog sat .\n"
    train.write_text(f"{long_line}\n{short}", encoding="utf-8")
    (tmp_path / "news_test.txt").write_text("the cow sat .\n", encoding="utf-8")
    registry = get_registry()
    _, config = resolve_run(registry, "seqgan", {"dataset": "text", "data_root": train,
                                                 "text_max_length": 10, "text_vocab_size": 3})
    with caplog.at_level("WARNING"):
        data = load_data(registry, config)
    extras = data.info.extras
    assert "1 of 32 train sentences are longer than 10 tokens (end token included) and were cut" in caplog.text
    assert extras["sentences_cut"] == 1 and extras["tokenizer"] == "words-and-punctuation"
    # the 3 most frequent: '.' (31 + 8, '4.5' included), 'the' (31 + 4) and 'sat' (31), not 'cat' (30)
    assert extras["vocab"][4:] == [".", "the", "sat"] and data.info.shape == (10,)
    # <unk>: the long line's 96 tokens but its 12 kept ones, 30 'cat' and one 'dog'; of 96 + 31 * 4 tokens
    assert extras["unk_rate"] == pytest.approx((96 - 12 + 30 + 1) / (96 + 31 * 4))
    test = load_data(registry, config, split="test")
    assert test.info.extras["unk_rate"] == pytest.approx(1 / 4) and test.info.extras["sentences_cut"] == 0


def test_metrics_apply_only_to_data_that_has_what_they_need(captions):
    registry = get_registry()
    oracle_info = tiny_state().data.info
    assert {m.name for m in choose_metrics(registry, oracle_info, None)} == {"nll-oracle", "nll-test", "distinct"}
    state = tiny_state(dataset="text", data_root=str(captions))
    assert {m.name for m in choose_metrics(registry, state.data.info, None)} == {"nll-test", "bleu", "distinct"}
    from ganzoo.errors import ConfigError

    with pytest.raises(ConfigError, match="oracle"):
        choose_metrics(registry, state.data.info, ["nll-oracle"])


def test_generated_text_end_with_padding_and_bleu_scores_are_probabilities(captions):
    state = tiny_state(dataset="text", data_root=str(captions))
    for _ in range(3):
        training.mle_epoch(state)
    samples = state.generator.sample(50)
    end, pad = state.data.info.extras["end_token"], state.data.info.extras["pad_token"]
    for row in samples.tolist():
        if end in row:
            assert all(t == pad for t in row[row.index(end) + 1:])
    result = scores(state, ["bleu", "nll-test"], n=50)
    assert {f"bleu{k}" for k in (2, 3, 4, 5)} <= set(result) and "self_bleu2" in result
    assert all(0 <= result[f"bleu{k}"] <= 1 for k in (2, 3, 4, 5))
    assert result["bleu2"] >= result["bleu5"]


def test_cli_trains_on_text_and_prints_sampled_sentences(cli, captions, tmp_path):
    out = tmp_path / "run"
    result = cli("train", "seqgan", "--dataset", "text", "--data-root", captions, "--out", out, "--quiet", *TINY_CLI)
    assert result.code == 0, result.err
    printed = cli("sample", out, "-n", "7")
    assert printed.code == 0, printed.err
    lines = printed.out.splitlines()
    assert len(lines) == 7 and all(set(line.split()) <= set(ganzoo.load_run(out).data_info.extras["vocab"]) for line in lines)
    written = cli("sample", out, "-n", "4", "--out", tmp_path / "s.txt")
    assert written.code == 0 and len((tmp_path / "s.txt").read_text().splitlines()) == 4
    assert (out / "samples" / "step-00000005.txt").is_file()
    evaluated = cli("eval", out, "--num-samples", "20", "--json")
    assert evaluated.code == 0, evaluated.err
    report = json.loads(evaluated.out)
    assert {"bleu2", "bleu5", "self_bleu2", "nll_test"} <= set(report["eval"])
    info = ganzoo.load_run(out).data_info
    made_from_text = {"tokenizer": "words-and-punctuation", "max_length": info.shape[0],
                      "vocab_size": info.extras["vocab_size"]}
    for metric in ("bleu", "nll-test", "distinct"):  # how sentences became tokens changes these scores
        assert made_from_text.items() <= report["protocol"][metric].items(), metric


def test_the_paper_schedule_is_a_named_preset_and_user_values_win():
    assert training.resolved_schedule({"schedule": "paper"} | dict.fromkeys(training.SCHEDULE_KEYS)) == {
        "mle_epochs": 120, "d_pretrain_rounds": 50, "d_negatives": 10_000, "d_epochs": 3, "steps": 200, "d_steps": 5}
    mixed = training.resolved_schedule({"schedule": "paper", **dict.fromkeys(training.SCHEDULE_KEYS), "steps": 7})
    assert mixed["steps"] == 7 and mixed["mle_epochs"] == 120
    from ganzoo.errors import GanzooError

    with pytest.raises(GanzooError, match="unknown schedule"):
        training.resolved_schedule({"schedule": "fast"})


def test_tokens_are_drawn_with_the_models_probabilities():
    from ganzoo_seqgan.models import draw_tokens

    logits = torch.log(torch.tensor([[0.1, 0.2, 0.7]])).repeat(20_000, 1)
    counts = torch.bincount(draw_tokens(logits, torch.Generator().manual_seed(0)), minlength=3) / 20_000
    assert torch.allclose(counts, torch.tensor([0.1, 0.2, 0.7]), atol=0.015)


@torch.no_grad()
def reference_rollout_rewards(G, D, samples, rollouts):
    """The plain algorithm: per prefix length, roll out token by token with ``continue_from``, then call D."""
    n, length = samples.shape
    states = G.prefix_states(samples)
    rewards = torch.empty(n, length)
    for t in range(1, length):
        h, c = states[t - 1]
        state = (h.repeat_interleave(rollouts, dim=1), c.repeat_interleave(rollouts, dim=1))
        completed = G.continue_from(samples[:, :t].repeat_interleave(rollouts, dim=0), state)
        rewards[:, t - 1] = torch.sigmoid(D(completed)).view(n, rollouts).mean(dim=1)
    rewards[:, -1] = torch.sigmoid(D(samples))
    return rewards


@pytest.mark.parametrize("dataset", ["oracle", "text"])
def test_batched_rollout_rewards_equal_the_plain_algorithm_for_the_same_seed(dataset, captions):
    state = tiny_state(dataset="text", data_root=str(captions)) if dataset == "text" else tiny_state()
    G, D = state.generator, state.discriminator
    G.eval()
    D.eval()
    samples = G.sample(6, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(7)
    fast = training.rollout_rewards(G, D, samples, rollouts=5)
    torch.manual_seed(7)
    plain = reference_rollout_rewards(G, D, samples, 5)
    assert torch.allclose(fast, plain, atol=1e-6, rtol=0)
    torch.manual_seed(7)  # the same uniforms give the very same completions
    completed = G.complete_prefixes(samples, 5)
    torch.manual_seed(7)
    states = G.prefix_states(samples)
    for t in range(1, samples.shape[1]):
        h, c = states[t - 1]
        state = (h.repeat_interleave(5, dim=1), c.repeat_interleave(5, dim=1))
        assert torch.equal(completed[t - 1], G.continue_from(samples[:, :t].repeat_interleave(5, dim=0), state))


def test_the_discriminators_score_is_its_eval_forward():
    D = tiny_state().discriminator.eval()
    x = torch.randint(0, 50, (300, 8), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(D.score(x, chunk=128), D(x), atol=1e-5, rtol=0)
    with pytest.raises(RuntimeError, match="eval mode"):
        D.train().score(x)


@pytest.mark.parametrize(("content", "message"), [
    (b"caf\xe9 au lait .\n", "cannot read text file"),
    (b"\n   \n\t\n", "holds no sentences"),
])
def test_unreadable_or_empty_text_is_one_line_exit_2_and_nothing_written(cli, tmp_path, content, message):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    out = tmp_path / "run"
    result = cli("train", "seqgan", "--dataset", "text", "--data-root", bad, "--out", out, "--quiet", *TINY_CLI)
    assert result.code == 2 and message in result.err, result.err
    assert len(result.err.strip().splitlines()) == 1 and not out.exists()


def test_the_constant_reward_control_takes_no_rewards_from_d(tmp_path, monkeypatch):
    from ganzoo_seqgan import training

    def no_rollouts(*args, **kwargs):
        raise AssertionError("the control must not roll out or ask D")

    monkeypatch.setattr(training, "rollout_rewards", no_rollouts)
    run = ganzoo.train("seqgan", out=tmp_path / "control", progress=False, **{**TINY, "constant_reward": 0.5})
    records = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    rewards = [r["reward"] for r in records if "reward" in r]
    assert len(rewards) == TINY["steps"] and all(r == 0.5 for r in rewards)
    assert any("loss_d" in r and r.get("phase") == "adversarial" for r in records)  # D still trains


def test_precision_auto_scores_with_d_in_bf16_on_cpus_with_bf16_units_and_keeps_mle_in_fp32():
    from ganzoo.driver.precision import has_bf16_units

    state = tiny_state(precision="auto")
    expected = "bf16" if has_bf16_units(torch.device("cpu")) else "fp32"
    assert state.config["precision"] == expected
    with state.autocast():
        logits = state.discriminator(state.next_batch().x)
    assert logits.dtype == (torch.bfloat16 if expected == "bf16" else torch.float32)
    registry = get_registry()
    spec, config = resolve_run(registry, "mle", {"dataset": "oracle", "oracle_vocab": 50, "oracle_length": 8,
                                                 "oracle_samples": 64, "batch_size": 32, "device": "cpu"})
    assert prepare_state(registry, spec, config).config["precision"] == "fp32"  # an LSTM gains nothing from bf16
