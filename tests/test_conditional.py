"""Conditional GANs: label plumbing, the AC-GAN and projection objectives, class-conditional
sampling, class-aware scores and the error cases."""

from __future__ import annotations

import json
import math

import pytest
import torch
from PIL import Image
from torch import nn

import ganzoo
from ganzoo import losses
from ganzoo.data.base import DataInfo, TensorData
from ganzoo.errors import ConfigError
from ganzoo.nets.base import Discriminator, Generator
from ganzoo.plugin import ConditionalBatchNorm2d
from ganzoo.plugins import get_registry
from ganzoo.registry import Registry, Source
from ganzoo.spec import BuildContext, DatasetSpec, ModelSpec
from ganzoo_acgan.losses import discriminator_loss, generator_loss
from ganzoo_acgan.objective import ACGANObjective
from ganzoo_projection.models import ProjectionDiscriminator

CONDITIONAL = ("cgan", "cgan-conv", "acgan", "projection")
TINY = {
    "cgan": {"g_hidden": 32, "d_hidden": 16, "latent_dim": 8, "embed_dim": 4},
    "cgan-conv": {"g_width": 8, "d_width": 8, "latent_dim": 16},
    "acgan": {"g_width": 8, "d_width": 8, "latent_dim": 16},
    "projection": {"g_width": 8, "d_width": 8, "latent_dim": 16},
}
DIGITS = DataInfo("image", (1, 32, 32), num_classes=10)


pytestmark = pytest.mark.usefixtures("private_cache")


def build(name: str, seed: int = 0) -> tuple[Generator, Discriminator]:
    spec = get_registry().model(name)
    torch.manual_seed(seed)
    ctx = BuildContext(DIGITS, {**spec.default_options(), **TINY[name]})
    return spec.build_generator(ctx), spec.build_discriminator(ctx)


def test_the_conditional_variants_are_plugins_that_declare_it(cli):
    rows = {row["name"]: row for row in json.loads(cli("list", "models", "--json").out)}
    for name in CONDITIONAL:
        assert rows[name]["conditional"] is True and rows[name]["paper"]
    assert rows["dcgan"]["conditional"] is False
    assert json.loads(cli("info", "acgan", "--json").out)["training"] == "shared driver, own objective"
    assert json.loads(cli("info", "projection", "--json").out)["defaults"]["loss"] == "hinge"


# ---- label plumbing -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CONDITIONAL)
def test_generators_draw_what_the_label_asks_for(name):
    G, _ = build(name)
    for module in G.modules():  # as after training: conditional batch norm starts label-blind (gain 1, bias 0)
        if isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight)
    G.eval()
    z = torch.randn(10, G.latent_dim)
    threes, sevens = G(z, torch.full((10,), 3)), G(z, torch.full((10,), 7))
    assert threes.shape == (10, 1, 32, 32) and G.num_classes == 10
    assert (threes - sevens).abs().mean() > 0.01 * threes.abs().mean()  # fresh DCGAN outputs are tiny


@pytest.mark.parametrize("name", ["cgan", "cgan-conv", "projection"])
def test_a_discriminator_that_sees_the_wrong_label_scores_differently(name):
    _, D = build(name)
    D.eval()
    x = torch.rand(6, 1, 32, 32) * 2 - 1
    right, wrong = torch.arange(6), (torch.arange(6) + 1) % 10
    assert not torch.allclose(D(x, right), D(x, wrong))
    assert torch.equal(D(x, right), D(x, right))  # deterministic in eval mode: the difference is the label


def test_acgan_discriminator_is_told_the_label_through_its_class_loss():
    _, D = build("acgan")
    D.eval()
    x = torch.rand(6, 1, 32, 32) * 2 - 1
    source, classes = D.score(x)
    assert torch.equal(D(x, torch.arange(6)), source) and classes.shape == (6, 10)
    right = classes.argmax(1)
    loss = losses.NONSATURATING
    wrong = (right + 1) % 10
    for classify_fakes in (True, False):
        with_right = discriminator_loss(loss, source, source, classes, right, classes, right, 1.0, classify_fakes)
        with_wrong = discriminator_loss(loss, source, source, classes, wrong, classes, wrong, 1.0, classify_fakes)
        assert with_wrong > with_right


K = 4  # classes of the toy dataset below; an image's constant value encodes its class


def value_of(labels: torch.Tensor) -> torch.Tensor:
    return labels.float() * (2 / (K - 1)) - 1


def decode(x: torch.Tensor) -> torch.Tensor:
    return ((x.flatten(1).mean(1) + 1) * (K - 1) / 2).round().long()


class EncodingGenerator(Generator):
    """Draws an image whose value encodes the label it was asked for."""

    def __init__(self) -> None:
        super().__init__(2, (1, 4, 4), num_classes=K)
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, z, labels=None):
        return value_of(labels).view(-1, 1, 1, 1).expand(-1, 1, 4, 4) + self.w * 0


class CheckingDiscriminator(Discriminator):
    """Says 'real' (logit +10) exactly when the label it is given matches the image, else -10."""

    def __init__(self) -> None:
        super().__init__()
        self.b = nn.Parameter(torch.zeros(()))

    def score(self, x):
        classes = 10 * nn.functional.one_hot(decode(x), K).float()
        return self.forward(x), classes + self.b * 0 + x.flatten(1)[:, :1] * 0

    def forward(self, x, labels=None):
        matches = decode(x) == labels if labels is not None else torch.ones(len(x), dtype=torch.bool)
        return torch.where(matches, 10.0, -10.0) + self.b * 0 + x.flatten(1).mean(1) * 0  # keeps the graph


def toy_registry() -> Registry:
    labels = torch.arange(40) % K
    images = value_of(labels).view(-1, 1, 1, 1).expand(-1, 1, 4, 4).clone()
    data = DatasetSpec("toy-labelled", "constant images encoding their class", "image",
                       lambda request: TensorData(images, labels, DataInfo("image", (1, 4, 4), num_classes=K)),
                       labelled=True)
    registry, source = Registry(), Source("test", "tests", "0")
    base = ModelSpec("toy", "label plumbing probe", "", "image", lambda ctx: EncodingGenerator(),
                     lambda ctx: CheckingDiscriminator(), overrides={"dataset": "toy-labelled", "batch_size": 8},
                     conditional=True)
    registry.models.add("toy", base, source)
    registry.models.add("toy-acgan", ModelSpec(**{**base.__dict__, "name": "toy-acgan", "objective": ACGANObjective(),
                                                  "options": {"class_weight": 1.0, "classify_fakes": True}}), source)
    registry.datasets.add("toy-labelled", data, source)
    for entry in get_registry().losses:
        registry.losses.add(entry.name, entry.value, source)
    return registry


def logged(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_the_trainer_pairs_real_images_with_their_own_labels_and_fakes_with_theirs(tmp_path):
    ganzoo.train("toy", registry=toy_registry(), steps=3, log_every=1, out=tmp_path / "run", progress=False)
    for record in logged(tmp_path / "run"):  # a shuffled label would read as 'fake' (sigmoid(-10))
        assert record["d_real"] > 0.999 and record["d_fake"] > 0.999


def test_the_acgan_objective_scores_the_classifier_against_the_right_labels(tmp_path):
    ganzoo.train("toy-acgan", registry=toy_registry(), steps=3, log_every=1, out=tmp_path / "run", progress=False)
    for record in logged(tmp_path / "run"):
        assert record["acc_real"] == 1.0 and record["acc_fake"] == 1.0


# ---- the objectives, on hand-computed cases ---------------------------------------------------------
def test_acgan_losses_by_hand():
    ln = math.log
    real_source, fake_source = torch.zeros(2), torch.zeros(2)
    # class logits [0, ln 3] give P(class 1) = 3/4; [ln 3, 0] give P(class 1) = 1/4
    real_classes = torch.tensor([[0.0, ln(3)], [0.0, ln(3)]])
    fake_classes = torch.tensor([[ln(3), 0.0], [ln(3), 0.0]])
    ones = torch.ones(2, dtype=torch.long)
    d = discriminator_loss(losses.NONSATURATING, real_source, fake_source, real_classes, ones, fake_classes, ones, 0.5,
                           classify_fakes=True)
    # softplus(0) + softplus(0) for the source head, then 0.5 * (-ln 3/4 - ln 1/4)
    assert d.item() == pytest.approx(2 * ln(2) + 0.5 * (ln(4 / 3) + ln(4)), rel=1e-6)
    d_real_only = discriminator_loss(losses.NONSATURATING, real_source, fake_source, real_classes, ones, fake_classes,
                                     ones, 0.5, classify_fakes=False)
    assert d_real_only.item() == pytest.approx(2 * ln(2) + 0.5 * ln(4 / 3), rel=1e-6)
    g = generator_loss(losses.NONSATURATING, fake_source, fake_classes, ones, 0.5)
    assert g.item() == pytest.approx(ln(2) + 0.5 * ln(4), rel=1e-6)
    zero = torch.zeros(2, dtype=torch.long)  # the same samples asked to be class 0: P = 1/4 real, 3/4 fake
    g0 = generator_loss(losses.NONSATURATING, fake_source, fake_classes, zero, 0.5)
    assert g0.item() == pytest.approx(ln(2) + 0.5 * ln(4 / 3), rel=1e-6)


def test_hinge_loss_by_hand():
    real, fake = torch.tensor([0.5, 2.0]), torch.tensor([-2.0, 0.5])
    # D: mean(relu(1 - real)) + mean(relu(1 + fake)) = (0.5 + 0)/2 + (0 + 1.5)/2
    assert losses.hinge_discriminator_loss(real, fake).item() == pytest.approx(1.0)
    assert losses.hinge_generator_loss(fake).item() == pytest.approx(0.75)


def test_projection_discriminator_by_hand():
    D = ProjectionDiscriminator(1, 32, num_classes=3, width=1)
    D.phi = nn.Identity()  # feed phi(x) directly: (B, F, 1, 1) summed over positions is the vector itself
    features = 4  # width 1 -> 1, 2, 4 channels at the end of the trunk
    with torch.no_grad():
        D.psi.parametrizations.weight.original.copy_(torch.tensor([[0.0, 0.0, 3.0, 4.0]]))  # spectral norm 5
        D.psi.bias.fill_(0.25)
        D.embed.parametrizations.weight.original.copy_(torch.diag(torch.tensor([2.0, 1.0, 1.0, 0.0]))[:3])  # norm 2
    for _ in range(60):  # power iterations (train mode) converge on the largest singular values
        D(torch.zeros(1, features, 1, 1), torch.zeros(1, dtype=torch.long))
    D.eval()
    h = torch.tensor([[1.0, 2.0, 1.0, 2.0], [1.0, 2.0, 1.0, 2.0]]).view(2, features, 1, 1)
    out = D(h, torch.tensor([0, 1]))
    psi = (3 * 1 + 4 * 2) / 5 + 0.25  # w / 5 . h + b
    assert out[0].item() == pytest.approx(psi + 1.0 * 1, abs=1e-4)  # V/2 row 0 = [1, 0, 0, 0]
    assert out[1].item() == pytest.approx(psi + 0.5 * 2, abs=1e-4)  # V/2 row 1 = [0, 0.5, 0, 0]
    assert D(h, None)[0].item() == pytest.approx(psi, abs=1e-4)  # no label: the unconditional score


def test_conditional_batch_norm_scales_and_shifts_by_class():
    norm = ConditionalBatchNorm2d(1, num_classes=2)
    with torch.no_grad():
        norm.gain.weight.copy_(torch.tensor([[1.0], [3.0]]))
        norm.bias.weight.copy_(torch.tensor([[0.0], [-1.0]]))
    x = torch.tensor([-1.0, 1.0, -1.0, 1.0]).view(4, 1, 1, 1)  # batch mean 0, variance 1
    out = norm(x, torch.tensor([0, 0, 1, 1])).flatten()
    assert out.tolist() == pytest.approx([-1.0, 1.0, -4.0, 2.0], abs=1e-4)


# ---- sampling, grids and the error cases -------------------------------------------------------------
@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "cgan"
    ganzoo.train("cgan-conv", steps=4, out=path, progress=False, num_samples=40, **TINY["cgan-conv"])
    return path


def test_trainer_sample_grids_have_one_row_per_class(cgan_run):
    grid = Image.open(cgan_run / "samples" / "step-00000004.png")
    assert grid.size == (4 * 34 + 2, 10 * 34 + 2)  # 40 samples: 10 classes x 4, 32 px + 2 px padding


def test_sampling_a_label_through_the_api_and_the_cli(cli, cgan_run, tmp_path):
    G = ganzoo.load(cgan_run)
    threes = ganzoo.sample(cgan_run, 5, seed=1, label=3)
    z = G.sample_latent(5, torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(threes, G(z, torch.full((5,), 3)))
        assert not torch.allclose(threes, G(z, torch.full((5,), 4)))
    grid = ganzoo.sample(cgan_run, 20, seed=1)
    with torch.no_grad():  # default: 2 per class, in class order
        assert torch.allclose(grid, G(G.sample_latent(20, torch.Generator().manual_seed(1)),
                                      torch.arange(10).repeat_interleave(2)))
    result = cli("sample", cgan_run, "--label", "7", "-n", "9", "--out", tmp_path / "sevens.png")
    assert result.code == 0, result.err
    assert Image.open(tmp_path / "sevens.png").size == (3 * 34 + 2, 3 * 34 + 2)
    assert cli("sample", cgan_run, "-n", "10", "--out", tmp_path / "grid.png").code == 0
    assert Image.open(tmp_path / "grid.png").size == (34 + 2, 10 * 34 + 2)


@pytest.mark.parametrize("label", ["10", "-1"])
def test_a_label_outside_the_classes_is_one_line_exit_2(cli, cgan_run, label):
    result = cli("sample", cgan_run, "--label", label)
    assert result.code == 2 and result.err.count("\n") == 1
    assert f"label {label} is outside this model's classes 0..9" in result.err
    with pytest.raises(ConfigError, match="outside this model's classes"):
        ganzoo.sample(cgan_run, 4, label=int(label))


def test_a_label_for_an_unconditional_model_is_refused(cli, tmp_path):
    ganzoo.train("dcgan", steps=1, out=tmp_path / "dcgan", progress=False, g_width=8, d_width=8, latent_dim=8)
    result = cli("sample", tmp_path / "dcgan", "--label", "3")
    assert result.code == 2 and "not conditional" in result.err
    result = cli("eval", tmp_path / "dcgan", "--metrics", "class_acc", "--num-samples", "20")
    assert result.code == 2 and "metric 'class_acc' scores class-conditional models" in result.err


@pytest.mark.parametrize("name", CONDITIONAL)
def test_a_conditional_model_on_unlabelled_data_is_one_line_exit_2(cli, name):
    result = cli("train", name, "--dataset", "celeba", "--steps", "1")  # refused before any data is read
    assert result.code == 2 and result.err.count("\n") == 1
    assert f"model {name!r} is conditional and needs class labels, but dataset 'celeba' has none" in result.err


def test_a_folder_without_class_subfolders_has_no_labels(cli, tmp_path):
    images = tmp_path / "flat"
    images.mkdir()
    for i in range(4):
        Image.new("L", (8, 8), color=i * 60).save(images / f"{i}.png")
    result = cli("train", "cgan-conv", "--dataset", "folder", "--data-root", images, "--steps", "1", "--batch-size", "2",
                 "--set", "channels=1", "--image-size", "32", "--out", tmp_path / "run")
    assert result.code == 2 and "dataset 'folder' has none" in result.err and result.err.count("\n") == 1


# ---- class-aware scores ---------------------------------------------------------------------------
class DigitsOracle(Generator):
    """Returns real training digits of the class asked for, or of the next class when ``shift`` is 1."""

    def __init__(self, shift: int = 0) -> None:
        from ganzoo.data.base import DataRequest
        from ganzoo.data.digits import load_digits

        super().__init__(4, (1, 32, 32), num_classes=10)
        data = load_digits(DataRequest(split="train"))
        self.by_class = [data.x[data.labels == c] for c in range(10)]
        self.shift = shift

    def forward(self, z, labels=None):
        picks = []
        for code, label in zip(z[:, 0].tolist(), labels.tolist(), strict=True):
            pool = self.by_class[(label + self.shift) % 10]
            picks.append(pool[int(abs(code) * 1e4) % len(pool)])
        return torch.stack(picks)


def score_oracle(shift: int):
    from ganzoo.configure import resolve_run
    from ganzoo.metrics.base import EvalContext, choose_metrics, evaluate

    registry = get_registry()
    _, config = resolve_run(registry, "cgan-conv", {})
    specs = choose_metrics(registry, DIGITS, ["fid", "class_acc", "intra_fid"], conditional=True)
    ctx = EvalContext(DigitsOracle(shift), config, DIGITS, None, [s.name for s in specs], num_samples=300,
                      batch_size=100, registry=registry)
    return evaluate(ctx, specs)


def test_class_aware_scores_catch_a_generator_that_draws_the_wrong_class():
    right, shifted = score_oracle(0), score_oracle(1)
    per_class = [right.scores[f"class_acc_{c}"] for c in range(10)]
    assert min(per_class) > 0.9 and right.scores["class_acc"] == pytest.approx(sum(per_class) / 10)
    assert shifted.scores["class_acc"] < 0.05
    assert shifted.scores["intra_fid"] > 5 * right.scores["intra_fid"]
    assert shifted.scores["fid"] < 1.5 * right.scores["fid"] + 0.5  # plain FID barely notices: same class mix
    intra = [right.scores[f"intra_fid_{c}"] for c in range(10)]
    assert right.scores["intra_fid"] == pytest.approx(sum(intra) / 10)
    assert right.better["class_acc_3"] == "higher" and right.better["intra_fid_3"] == "lower"
    judge, intra_protocol = right.protocols["class_acc"], right.protocols["intra_fid"]
    assert judge["feature_extractor"] == "ganzoo-digits" and judge["per_class"] == 30 and judge["num_generated"] == 300
    assert judge["classifier_heldout_accuracy"] >= 0.97
    assert intra_protocol["reference"] == "digits:train" and intra_protocol["num_real"] == 1437
    assert 130 < intra_protocol["real_per_class"][0] <= intra_protocol["real_per_class"][1] < 160


def test_conditional_runs_are_scored_with_the_class_aware_metrics_by_default(cli, tmp_path):
    out = tmp_path / "run"
    trained = cli("train", "cgan-conv", "--steps", "2", "--out", out, "--quiet", "--eval-every", "2",
                  "--set", "eval_samples=100", *[f"--set={k}={v}" for k, v in TINY["cgan-conv"].items()])
    assert trained.code == 0, trained.err
    assert "class_acc" in trained.out and "intra_fid" in trained.out
    report = json.loads(cli("eval", out, "--num-samples", "100", "--json").out)
    assert {"fid", "isc", "class_acc", "class_acc_9", "intra_fid", "intra_fid_0"} <= set(report["eval"])
    assert report["protocol"]["class_acc"]["per_class"] == 10
    unconditional = ganzoo.train("dcgan", steps=1, out=tmp_path / "dcgan", progress=False, g_width=8, d_width=8,
                                 latent_dim=8)
    assert "class_acc" not in ganzoo.evaluate(unconditional.path, num_samples=50).scores


def test_terminal_output_folds_per_class_scores_behind_their_mean():
    from ganzoo.metrics.base import format_scores

    text = format_scores({"class_acc": 0.5, "class_acc_0": 1.0, "class_acc_1": 0.0, "fid": 3.25, "kid_std": 0.1})
    assert text == "class_acc 0.5 [by class 1 0], fid 3.25, kid_std 0.1"


def test_projection_resumes_bitwise_identically_with_its_spectral_norm_state(tmp_path):
    from safetensors.torch import load_file

    tiny = {**TINY["projection"], "g_width": 4, "d_width": 4}
    ganzoo.train("projection", steps=4, out=tmp_path / "a", progress=False, **tiny)
    ganzoo.train("projection", steps=2, out=tmp_path / "b", progress=False, **tiny)
    ganzoo.train(resume=tmp_path / "b", steps=4, progress=False)
    a, b = (load_file(str(tmp_path / run / "checkpoints" / "step-00000004.safetensors")) for run in ("a", "b"))
    assert any("_u" in key for key in a)  # the power-iteration vectors are checkpointed
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
