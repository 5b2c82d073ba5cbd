"""The contracts the next families need, proven with throwaway specs: extension points inside the
driver's D and G steps, a variant with several networks, optimisers and schedulers, a model with
no discriminator, a generator conditioned on an image, and the bench-executor hook."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

import ganzoo
from ganzoo.errors import CheckpointError, ConfigError
from ganzoo.plugin import (
    DataInfo,
    DatasetSpec,
    Discriminator,
    DiscriminatorStep,
    ExecutorSpec,
    Generator,
    GeneratorStep,
    Losses,
    ModelSpec,
    TensorData,
    TrainingExtension,
    adam,
)
from ganzoo.plugins import get_registry
from ganzoo.registry import Registry, Source
from ganzoo.storage.checkpoint import read_checkpoint

SOURCE = Source("test", "tests", "0")
FIXTURE = Path(__file__).parent / "fixtures" / "v1-vanilla-run"


class PointsG(Generator):
    def __init__(self, ctx) -> None:
        super().__init__(ctx["latent_dim"], ctx.data.shape)
        self.net = nn.Sequential(nn.Linear(ctx["latent_dim"], 16), nn.ReLU(), nn.Linear(16, math.prod(ctx.data.shape)))

    def forward(self, z, labels=None):
        return self.net(z).view(len(z), *self.output_shape)


class PointsD(Discriminator):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(ctx.data.shape), 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, x, labels=None):
        return self.net(x).view(len(x))


def registry_with(*specs: ModelSpec, datasets: tuple[DatasetSpec, ...] = ()) -> Registry:
    """The installed losses and datasets plus throwaway models (and datasets)."""
    installed = get_registry()
    registry = Registry()
    for table in ("losses", "datasets"):
        for entry in installed.table(table):
            registry.table(table).add(entry.name, entry.value, entry.source)
    for spec in specs:
        registry.models.add(spec.name, spec, SOURCE)
    for dataset in datasets:
        registry.datasets.add(dataset.name, dataset, SOURCE)
    return registry


def toy(name: str = "toy", **fields) -> ModelSpec:
    base = {"build_generator": PointsG, "build_discriminator": PointsD, "options": {"latent_dim": 4},
            "overrides": {"dataset": "ring", "batch_size": 16}}
    return ModelSpec(name, "throwaway", "", "points", **{**base, **fields})


def tensors(path: Path) -> dict[str, Tensor]:
    return read_checkpoint(path).tensors


def assert_resume_is_bitwise(registry: Registry, model: str, tmp_path: Path, extensions=lambda: (), **options) -> None:
    """6 steps straight equal 3 steps, a resume in a new trainer, and 3 more: every tensor of the checkpoint."""
    opts = {"steps": 6, "checkpoint_every": 3, "log_every": 1, "progress": False, **options}
    ganzoo.train(model, registry=registry, out=tmp_path / "a", extensions=extensions(), **opts)
    ganzoo.train(model, registry=registry, out=tmp_path / "b", extensions=extensions(), **{**opts, "steps": 3})
    ganzoo.train(resume=tmp_path / "b", registry=registry, extensions=extensions(), steps=6, progress=False)
    a = tensors(tmp_path / "a" / "checkpoints" / "step-00000006.safetensors")
    b = tensors(tmp_path / "b" / "checkpoints" / "step-00000006.safetensors")
    kept = [k for k in a if not k.startswith("rng/")]
    assert kept and set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in kept)


# ---- extension points inside the driver's D and G steps ------------------------------------------------
class Probe(TrainingExtension):
    """Shifts what D sees, adds a penalty term to D's loss, counts optimiser steps, keeps a resumable tensor."""

    name = "probe"

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.d_frozen_in_g_step: list[bool] = []
        self.after: list[str] = []
        self.total = torch.zeros(())

    def transform(self, x: Tensor, state) -> Tensor:
        self.seen.append(len(x))
        return x + 0.5

    def wants_real_grad(self, state) -> bool:
        return True

    def discriminator_terms(self, step: DiscriminatorStep, losses: Losses) -> dict[str, Tensor]:
        (grad,) = torch.autograd.grad(losses.real_logits.sum(), step.real_input, create_graph=True)
        return {"probe_penalty": grad.square().sum(1).mean()}

    def generator_terms(self, step: GeneratorStep, losses: Losses) -> dict[str, Tensor]:
        self.d_frozen_in_g_step.append(not any(p.requires_grad for p in step.state.discriminator.parameters()))
        return {}

    def after_optimizer_step(self, state, optimizer: str) -> None:
        self.after.append(optimizer)
        self.total = self.total + 1

    def logs(self, state) -> dict[str, Tensor]:
        return {"probe_total": self.total.clone()}

    def state_dict(self) -> dict[str, Tensor]:
        return {"total": self.total}

    def load_state_dict(self, tensors) -> None:
        self.total = tensors["total"].clone()


def test_extensions_transform_what_d_sees_add_terms_and_act_after_each_optimiser_step(tmp_path):
    registry = registry_with(toy())
    probe = Probe()
    run = ganzoo.train("toy", registry=registry, steps=2, d_steps=3, log_every=1, out=tmp_path / "run",
                       progress=False, extensions=[probe])
    assert probe.seen == [16] * (2 * (3 * 2 + 1))  # real and fake in each of 3 D steps, fakes in the G step
    assert probe.after == (["discriminator"] * 3 + ["generator"]) * 2
    assert probe.d_frozen_in_g_step == [True, True]
    assert {"probe_penalty", "probe_total"} <= set(run.last_log) and run.last_log["probe_total"] == 8
    assert torch.equal(read_checkpoint(run.checkpoint).module_state("extension/probe")["total"], torch.tensor(8.0))


def test_an_extensions_state_resumes_bitwise(tmp_path):
    assert_resume_is_bitwise(registry_with(toy()), "toy", tmp_path, extensions=lambda: [Probe()])


def test_resuming_without_an_extension_the_checkpoint_lacks_is_refused(tmp_path):
    registry = registry_with(toy())
    ganzoo.train("toy", registry=registry, steps=2, out=tmp_path / "run", progress=False)
    with pytest.raises(CheckpointError, match="no state for training extension 'probe'"):
        ganzoo.train(resume=tmp_path / "run", registry=registry, steps=4, progress=False, extensions=[Probe()])


# ---- several named networks, optimisers and schedulers ------------------------------------------------------
def halve_after_two(step: int) -> float:
    return 0.5 if step >= 2 else 1.0


def two_pairs_step(state) -> dict[str, Tensor]:
    """A CycleGAN-shaped step: two generators and two discriminators, each with its own optimiser."""
    logs = {}
    for g_name, d_name in (("generator", "discriminator"), ("generator_b", "discriminator_b")):
        G = state.generator if g_name == "generator" else state.extras[g_name]
        D = state.discriminator if d_name == "discriminator" else state.extras[d_name]
        real = state.next_batch().x
        with state.autocast():
            fake = G(G.sample_latent(len(real)))
            d_loss = state.loss.d_loss(D(real), D(fake.detach()))
        state.optimize(d_loss, d_name)
        with state.autocast():
            g_loss = state.loss.g_loss(D(fake))
        state.optimize(g_loss, g_name)
        logs[f"loss_{d_name}"] = d_loss.detach()
    return logs


def two_pairs() -> ModelSpec:
    return toy(
        "two-pairs", train_step=two_pairs_step,
        build_extras=lambda ctx, G, D: {"generator_b": PointsG(ctx), "discriminator_b": PointsD(ctx)},
        build_optimizers=lambda s: {name: adam(s, module.parameters(), 1e-3) for name, module in s.modules().items()},
        build_schedulers=lambda s: {
            "generator": torch.optim.lr_scheduler.LambdaLR(s.optimizers["generator"], halve_after_two),
            "generator_b": torch.optim.lr_scheduler.StepLR(s.optimizers["generator_b"], step_size=4, gamma=0.1),
        },
    )


def test_a_variant_with_several_networks_optimisers_and_schedulers_checkpoints_them_all(tmp_path):
    registry = registry_with(two_pairs())
    run = ganzoo.train("two-pairs", registry=registry, steps=5, out=tmp_path / "run", progress=False)
    checkpoint = read_checkpoint(run.checkpoint)
    assert {k.split("/")[0] for k in checkpoint.tensors} >= {"generator", "discriminator", "generator_b",
                                                              "discriminator_b", "optim"}
    assert set(checkpoint.meta["optimizers"]) == {"generator", "discriminator", "generator_b", "discriminator_b"}
    schedulers = checkpoint.meta["schedulers"]
    assert schedulers["generator"]["last_epoch"] == 5 and schedulers["generator"]["_last_lr"] == [5e-4]
    assert schedulers["generator_b"]["_last_lr"] == [pytest.approx(1e-4)]  # stepped at 4


def test_several_networks_and_their_schedulers_resume_bitwise(tmp_path):
    assert_resume_is_bitwise(registry_with(two_pairs()), "two-pairs", tmp_path)


# ---- a model with no discriminator ---------------------------------------------------------------------------
def regression_step(state) -> dict[str, Tensor]:
    """Fits G's samples' mean to the data's (a stand-in for a likelihood model's own step)."""
    G, real = state.generator, state.next_batch().x
    with state.autocast():
        loss = (G(G.sample_latent(len(real))).mean(0) - real.mean(0)).square().sum()
    state.optimize(loss, "generator")
    return {"loss": loss.detach()}


def no_d() -> ModelSpec:
    return toy("no-d", build_discriminator=None, train_step=regression_step)


def test_a_model_without_a_discriminator_has_no_d_options_optimiser_or_checkpoint_entry(tmp_path):
    registry = registry_with(no_d())
    run = ganzoo.train("no-d", registry=registry, steps=3, out=tmp_path / "run", progress=False)
    checkpoint = read_checkpoint(run.checkpoint)
    assert set(checkpoint.meta["optimizers"]) == {"generator"}
    assert not any(k.startswith("discriminator/") for k in checkpoint.tensors)
    trainer = json.loads((tmp_path / "run" / "config.json").read_text())["config"]["trainer"]
    assert not {"lr_d", "d_steps", "loss"} & set(trainer)
    for key in ("lr_d", "d_steps", "loss"):
        with pytest.raises(ConfigError, match=f"model 'no-d' has no discriminator, so it takes no {key}"):
            ganzoo.train("no-d", registry=registry, out=tmp_path / "refused", progress=False, **{key: 1})
    assert not (tmp_path / "refused").exists()
    assert ganzoo.check("no-d", registry=registry, device="cpu").ok


def test_a_model_without_a_discriminator_resumes_bitwise(tmp_path):
    assert_resume_is_bitwise(registry_with(no_d()), "no-d", tmp_path)


def test_a_spec_without_discriminator_or_own_step_is_refused():
    with pytest.raises(ValueError, match="has no discriminator, so it must give its own train_step or phases"):
        toy("broken", build_discriminator=None)


# ---- a generator conditioned on an image ------------------------------------------------------------------
class Translator(Generator):
    """(noise, source image) -> image: the source plus a learned offset map."""

    def __init__(self, ctx) -> None:
        super().__init__(ctx["latent_dim"], ctx.data.shape, condition_shape=ctx.data.extras["condition_shape"])
        self.offset = nn.Parameter(torch.zeros(ctx.data.shape))
        self.mix = nn.Linear(ctx["latent_dim"], 1)

    def forward(self, z, labels=None):
        if labels is None:
            raise ValueError("pass source images")
        return torch.tanh(labels + self.offset + 0.01 * self.mix(z).view(-1, 1, 1, 1))


class PairCritic(Discriminator):
    """(image, source image) -> logit: judges pairs, as pix2pix's D does."""

    def __init__(self, ctx) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.LazyLinear(1))

    def forward(self, x, labels=None):
        return self.net(torch.cat([x, labels], dim=1)).view(len(x))


def load_pairs(request) -> TensorData:
    """Targets are the sources flipped left to right; 8x8 grayscale, uint8."""
    gen = torch.Generator().manual_seed(1 if request.split == "test" else 0)
    sources = torch.randint(0, 256, (48, 1, 8, 8), generator=gen, dtype=torch.uint8)
    info = DataInfo("image", (1, 8, 8), extras={"condition_shape": [1, 8, 8]})
    return TensorData(sources.flip(-1), None, info, condition=sources)


PAIRS = DatasetSpec("flip-pairs", "sources and their mirror images", "image", load_pairs)


def translator() -> ModelSpec:
    return ModelSpec("translator", "image-to-image probe", "", "image", Translator, PairCritic,
                     options={"latent_dim": 2}, overrides={"dataset": "flip-pairs", "batch_size": 8, "image_size": 8})


def test_a_generator_conditioned_on_an_image_trains_samples_and_loads(tmp_path):
    registry = registry_with(translator(), datasets=(PAIRS,))
    run = ganzoo.train("translator", registry=registry, steps=3, out=tmp_path / "run", progress=False,
                       num_samples=4, channels_last=False)
    assert run.step == 3 and (tmp_path / "run" / "samples" / "step-00000003.png").is_file()
    loaded = ganzoo.load_run(run.path, registry=registry)
    assert loaded.generator.image_conditioned
    sources = load_pairs(type("R", (), {"split": "test"})()).condition[:5].float() / 127.5 - 1
    out = loaded.generator.sample(5, labels=sources)
    assert out.shape == (5, 1, 8, 8)
    with pytest.raises(ValueError, match="translates images"):
        loaded.generator.sample(5)


def test_a_generator_conditioned_on_an_image_resumes_bitwise(tmp_path):
    registry = registry_with(translator(), datasets=(PAIRS,))
    assert_resume_is_bitwise(registry, "translator", tmp_path, channels_last=False)


# ---- the bench-executor hook -----------------------------------------------------------------------------------
def test_a_plugin_registers_a_bench_executor(monkeypatch):
    from plugin_env import FakeEntryPoint, module_from, use_entry_points

    source = '''
from ganzoo.plugin import ExecutorSpec, Option, hookimpl

def run(tasks, ctx):
    for task in tasks:
        yield task.run_id, {"status": "ok"}

@hookimpl
def register_executors(register):
    register(ExecutorSpec("inline", "runs nothing, answers ok", run, options={"slots": Option(1, "parallel runs", 1)}))
'''
    use_entry_points(monkeypatch, FakeEntryPoint("site-executor", module_from(source, "site_executor")))
    names = [row["name"] for row in ganzoo.list_entries("executors")]
    assert names == ["inline"]
    spec = get_registry().executor("inline")
    assert isinstance(spec, ExecutorSpec) and ganzoo.info("inline")["options"]["slots"]["default"] == 1
    plugins = {p["name"]: p for p in ganzoo.list_plugins()}
    assert plugins["site-executor"]["hooks"] == ["register_executors"]
    assert plugins["site-executor"]["registered"] == {"executors": ["inline"]}


# ---- runs written by ganzoo 0.1, before the sectioned configuration ------------------------------------------------
def test_a_run_directory_from_version_0_1_resumes_samples_and_evaluates(tmp_path):
    run = tmp_path / "v1"
    shutil.copytree(FIXTURE, run)
    assert "steps" in json.loads((run / "config.json").read_text())["config"]  # the flat format of 0.1
    loaded = ganzoo.load_run(run)
    assert loaded.config.model == {"latent_dim": 4, "g_hidden": 8, "d_hidden": 8, "maxout_pieces": 5, "dropout": 0.5}
    assert loaded.config["image_size"] == 8 and loaded.step == 4
    assert ganzoo.sample(run, 4, seed=0).shape == (4, 1, 8, 8)
    report = ganzoo.evaluate(run, num_samples=200, metrics="fid")
    assert report.scores["fid"] > 0
    result = ganzoo.train(resume=run, steps=6, progress=False)
    assert result.step == 6
    config = json.loads((run / "config.json").read_text())["config"]
    assert config["trainer"]["steps"] == 6 and config["model"]["g_hidden"] == 8  # rewritten in sections
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3, 4, 5, 6]


# ---- ganzoo info shows only the options that apply ---------------------------------------------------------------
def test_info_of_a_sequence_model_shows_no_image_options(cli):
    result = cli("info", "seqgan")
    assert result.code == 0, result.err
    assert "image_size" not in result.out and "channels_last" not in result.out and "feature_extractor" not in result.out
    assert "data_root" not in result.out  # the oracle reads no files
    assert "rollouts = 16" in result.out and "Monte Carlo rollouts per prefix" in result.out  # with help text
    options = json.loads(cli("info", "seqgan", "--json").out)["options"]
    assert set(options) == {"trainer", "model", "data", "eval"} and "oracle_vocab" in options["data"]
    dcgan = json.loads(cli("info", "dcgan", "--json").out)["options"]
    assert "channels_last" in dcgan["trainer"] and dcgan["data"]["image_size"]["default"] == 32
