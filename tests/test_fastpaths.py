"""The trainer's fast paths: channels_last, fused Adam, torch.compile, and no host sync per step."""

from __future__ import annotations

import os
import time

import pytest
import torch

import ganzoo
from ganzoo.configure import resolve_run
from ganzoo.errors import ConfigError
from ganzoo.plugins import get_registry
from ganzoo.storage.rundir import RunDir
from ganzoo.trainer import setup as setup_lib
from ganzoo.trainer.loop import Trainer, _Window
from ganzoo.trainer.setup import CompileError, prepare_state

TINY = {"g_width": 4, "d_width": 4, "latent_dim": 8, "batch_size": 16}


def tiny_state(**options):
    registry = get_registry()
    spec, config = resolve_run(registry, "dcgan", {**TINY, "device": "cpu", **options})
    return spec, prepare_state(registry, spec, config)


@pytest.mark.parametrize("key, value", [("compile", "maybe"), ("fused", 3), ("channels_last", "sometimes")])
def test_fast_path_options_take_only_true_or_false(key, value):
    with pytest.raises(ConfigError, match=f"{key} must be true or false"):
        resolve_run(get_registry(), "dcgan", {key: value})


def test_fused_adam_by_default_and_foreach_when_turned_off():
    _, state = tiny_state()
    assert all(opt.defaults["fused"] for opt in state.optimizers.values())
    _, state = tiny_state(fused=False)
    assert all(not opt.defaults["fused"] and opt.defaults["foreach"] for opt in state.optimizers.values())


def test_channels_last_is_an_option_for_convolutional_models():
    _, state = tiny_state()
    weight = state.discriminator.net[2].weight  # a 4-D convolution weight with several input channels
    assert state.channels_last and weight.is_contiguous(memory_format=torch.channels_last)
    assert not weight.is_contiguous()
    _, state = tiny_state(channels_last=False)
    assert not state.channels_last and state.discriminator.net[2].weight.is_contiguous()


def test_fused_channels_last_resume_matches_an_uninterrupted_run(tmp_path):
    """Checkpoints hold contiguous moments; restored, they must take the parameters' layout again."""
    options = {**TINY, "fused": True, "channels_last": True, "progress": False}
    straight = ganzoo.train("dcgan", steps=6, out=tmp_path / "a", **options)
    ganzoo.train("dcgan", steps=3, out=tmp_path / "b", **options)
    resumed = ganzoo.train(resume=tmp_path / "b", steps=6, progress=False)
    a = ganzoo.load(straight.path).state_dict()
    b = ganzoo.load(resumed.path).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_hot_path_reads_nothing_back_from_the_device(monkeypatch):
    """Losses stay tensors until a log line: no .item(), float() or bool() on a tensor per step."""
    spec, state = tiny_state()
    trainer = Trainer(spec, state, RunDir("unused"), progress=False)
    phase, window = trainer.phases[0], _Window()
    trainer.advance(phase, window)  # first step outside the check (lazy set-up)

    def refuse(*args, **kwargs):
        raise AssertionError("host read-back in the training step")

    for name in ("item", "__float__", "__bool__", "tolist"):
        monkeypatch.setattr(torch.Tensor, name, refuse)
    for _ in range(2):
        trainer.advance(phase, window)
    monkeypatch.undo()
    means, _, _ = window.flush()
    assert set(means) >= {"loss_d", "loss_g"} and state.step == 3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_the_hot_path_never_synchronises_on_cuda(precision):
    """On a GPU, CUDA's own sync detector: no step waits for the device (fp16's scaler included,
    which fused Adam lets skip its host check)."""
    spec, state = tiny_state(device="cuda", precision=precision)
    trainer = Trainer(spec, state, RunDir("unused"), progress=False)
    phase, window = trainer.phases[0], _Window()
    trainer.advance(phase, window)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(2):
            trainer.advance(phase, window)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert state.step == 3


def test_compile_refused_in_one_line_without_a_cxx_compiler(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(CompileError, match="needs a C\\+\\+ compiler"):
        tiny_state(compile=True)


def test_a_compile_failure_at_the_first_step_is_one_line(monkeypatch):
    from torch._dynamo.exc import BackendCompilerFailed

    spec, state = tiny_state()
    trainer = Trainer(spec, state, RunDir("unused"), progress=False)
    trainer.compile_errors = (BackendCompilerFailed,)

    class Broken:
        name = "adversarial"

        @staticmethod
        def step(state):
            raise BackendCompilerFailed(lambda *a: None, RuntimeError("no compiler here\nlong trace"), None)

    with pytest.raises(CompileError, match="--compile failed .*train without --compile") as info:
        trainer.advance(Broken, _Window())
    assert "\n" not in str(info.value)


def test_compiling_keeps_the_modules_and_their_checkpoint_names():
    """Compilation is in place and lazy: nothing is compiled until the first step."""
    _, state = tiny_state(compile=True)
    names = set(state.generator.state_dict())
    assert names and not any("_orig_mod" in n for n in names)
    assert all(m._compiled_call_impl is not None for m in (state.generator, state.discriminator))


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("GANZOO_TEST_COMPILE"),
                    reason="compiling takes ~40 s on 2 busy CPU cores; set GANZOO_TEST_COMPILE=1 to run it")
def test_a_compiled_two_step_run_trains_and_checkpoints(tmp_path):
    start = time.perf_counter()
    result = ganzoo.train("dcgan", steps=2, out=tmp_path / "run", progress=False, compile=True, **TINY)
    assert result.step == 2 and result.checkpoint.exists()
    names = set(ganzoo.load(result.path).state_dict())
    assert names and not any("_orig_mod" in n for n in names)  # checkpoints hold the plain modules
    print(f"compiled 2-step run: {time.perf_counter() - start:.1f} s")


def test_setup_exposes_adam_for_variants_with_their_own_optimisers():
    _, state = tiny_state(fused=False)
    opt = setup_lib.adam(state, state.generator.parameters(), 1e-3)
    assert opt.defaults["lr"] == 1e-3 and opt.defaults["betas"] == tuple(state.config["betas"])
