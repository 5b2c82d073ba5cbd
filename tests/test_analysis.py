"""The analyses behind the classic GAN figures: toy1d, neighbours, interpolation, arithmetic, curves."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.analysis import concepts
from ganzoo.analysis.latent import lerp, slerp
from ganzoo.analysis.neighbours import Space, find_neighbours
from ganzoo.errors import GanzooError
from ganzoo.sampling import load_run

TINY = {"g_width": 8, "d_width": 8, "latent_dim": 16}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny digits DCGAN run, scored twice during training so its curves have a scores panel."""
    out = tmp_path_factory.mktemp("analysis") / "run"
    ganzoo.train("dcgan", steps=20, out=out, progress=False, log_every=5, eval_every=10, eval_samples=100,
                 eval_metrics="fid", **TINY)
    return out


def png_size(path):
    with Image.open(path) as image:
        return image.size


# ---- toy1d -------------------------------------------------------------------------------------------------------


def test_toy1d_generator_moves_onto_the_data_and_d_goes_to_one_half(tmp_path, cli):
    result = cli("demo", "toy1d", "--out", tmp_path, "--train-steps", "400", "--frames", "8", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    stages = data["stages"]
    assert list(stages) == ["a", "b", "c", "d"]
    # p_g starts 1.8 away (start mean -0.8, data mean 1.0) and ends close to the data
    assert stages["a"]["wasserstein"] > 1.5
    assert stages["c"]["wasserstein"] < stages["b"]["wasserstein"]  # G steps alone already move it toward the data
    assert stages["d"]["wasserstein"] < 0.2 * stages["a"]["wasserstein"]
    low, high = stages["d"]["d_on_data"]
    assert 0.35 < low <= high < 0.65
    steps = [step for step, _ in data["wasserstein_by_step"]]
    assert steps == sorted(steps) and len(steps) >= 8
    assert png_size(tmp_path / "toy1d-stages.png") == (1530, 396)  # 17 x 4.4 inches at 90 dpi
    with Image.open(tmp_path / "toy1d.gif") as gif:
        assert gif.size == (544, 340) and gif.n_frames == len(steps)  # 6.4 x 4 inches at 85 dpi, one frame a snapshot


def test_toy1d_discriminator_trained_with_g_fixed_approaches_the_optimal_one():
    from ganzoo.analysis.toy1d import Toy1DConfig, run_toy1d

    result = run_toy1d(Toy1DConfig(train_steps=1, frames=4))
    snap = result.stages["b"]
    optimal = snap.optimal_discriminator
    where = (snap.data_density + snap.generator_density) > 0.05  # where D* is defined and D is trained
    assert float((snap.discriminator[where] - optimal[where]).abs().mean()) < 0.1


# ---- interpolation -----------------------------------------------------------------------------------------------


def test_slerp_keeps_the_ends_and_the_norm_lerp_shrinks_it():
    a, b = torch.randn(2, 64, generator=torch.Generator().manual_seed(1))
    t = torch.linspace(0, 1, 5)
    for walk in (lerp, slerp):
        path = walk(a, b, t)
        assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    assert float(slerp(a, b, t)[2].norm()) > 0.95 * min(float(a.norm()), float(b.norm()))
    assert float(lerp(a, b, t)[2].norm()) < 0.85 * min(float(a.norm()), float(b.norm()))


def test_sample_interpolate_draws_lerp_and_slerp_rows(run_dir, cli, tmp_path):
    out = tmp_path / "walk.png"
    result = cli("sample", run_dir, "--interpolate", "--pairs", "2", "--steps", "5", "--out", out)
    assert result.code == 0, result.err and result.out.strip() == str(out)
    assert png_size(out) == (690, 372)  # 4 rows (2 pairs x lerp, slerp) of 0.6 in cells, as wide as the footer, 110 dpi
    walk = ganzoo.interpolate(run_dir, pairs=2, steps=5, out=tmp_path / "again.png")
    for straight, circle in zip(walk.images["lerp"], walk.images["slerp"], strict=True):
        assert straight.shape == (5, 1, 32, 32)
        assert torch.allclose(straight[0], circle[0], atol=1e-5) and torch.allclose(straight[-1], circle[-1], atol=1e-5)
    assert walk.midpoint_norms["slerp"] > walk.midpoint_norms["lerp"]
    default = cli("sample", run_dir, "--interpolate", "--seed", "3")
    assert default.code == 0 and (run_dir / "samples" / "interpolate-seed3.png").is_file()


# ---- nearest neighbours ------------------------------------------------------------------------------------------


def test_nearest_neighbour_search_in_chunks_matches_brute_force():
    gen = torch.Generator().manual_seed(0)
    queries, bank = torch.randn(30, 8, generator=gen), torch.randn(100, 8, generator=gen)
    space = Space("pixels", queries)
    for begin in range(0, 100, 33):
        space.update(bank[begin : begin + 33], begin)
    best, index = torch.cdist(queries, bank).min(dim=1)
    assert torch.equal(space.index, index) and torch.allclose(space.best, best)


def test_neighbours_reports_distances_against_held_out_images(run_dir, cli, tmp_path):
    out = tmp_path / "nn.png"
    result = cli("neighbours", run_dir, "-n", "40", "--show", "4", "--out", out, "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["num_train"] == 1437 and data["num_heldout"] == 40 and data["heldout_split"] == "test"
    assert set(data["spaces"]) == {"pixels", "ganzoo-digits"}
    for space in data["spaces"].values():
        assert space["generated_mean"] > 0 and space["heldout_mean"] > 0
    assert png_size(out) == (671, 398)  # 3 rows of 4 cells of 0.7 in, a 3-line footer setting the width, 110 dpi
    text = cli("neighbours", run_dir, "-n", "10", "--show", "2", "--heldout-split", "none", "--feature-extractor", "none")
    assert text.code == 0 and "pixels: generated" in text.out and "no held-out split" in text.out
    assert (run_dir / "analysis" / "neighbours.png").is_file()


def test_neighbours_catches_a_generator_that_copies_its_training_data(run_dir):
    from ganzoo.data.loading import load_data
    from ganzoo.plugins import get_registry

    loaded = load_run(run_dir)
    train = next(load_data(get_registry(), loaded.config).iterate(64)).x

    def copy(n, labels=None, generator=None):
        return train[torch.randint(len(train), (n,), generator=generator)]

    loaded.generator.sample = copy
    report, shown = find_neighbours(loaded, num_samples=30, show=3, heldout_split="test")
    pixels = report.spaces["pixels"]
    assert float(pixels.generated.max()) < 1e-4 and float(pixels.heldout.min()) > 1.0
    assert report.to_json()["spaces"]["pixels"]["generated_nearer_than_every_heldout"] == 30
    assert torch.allclose(shown["nearest"]["pixels"], shown["generated"])


# ---- arithmetic --------------------------------------------------------------------------------------------------


def _image(pixels):
    """A 16x16 image in [-1, 1], bright where ``pixels`` (a list of (row, col)) says."""
    image = -torch.ones(1, 1, 16, 16)
    for r, c in pixels:
        image[0, 0, r, c] = 1.0
    return image


def test_image_properties_measure_ink_width_and_slant():
    rising = _image([(15 - i, 2 + i // 2) for i in range(16)])  # '/': the top leans right
    falling = _image([(i, 2 + i // 2) for i in range(16)])  # '\'
    upright = _image([(i, 8) for i in range(16)])
    wide = _image([(8, c) for c in range(2, 14)] + [(0, 8), (15, 8)])
    assert float(concepts.slant(rising)) > 0.4 and float(concepts.slant(falling)) < -0.4
    assert abs(float(concepts.slant(upright))) < 1e-6
    assert float(concepts.width(wide)) > float(concepts.width(upright))
    assert float(concepts.ink(torch.cat([rising, -torch.ones(1, 1, 16, 16)]))[1]) == 0.0
    assert float(concepts.ink(upright)) == pytest.approx(16 / 256)


def test_expressions_parse_into_signed_concepts():
    terms = concepts.parse_expression("class=0,ink=high - class=0,ink=low + slant=upright")
    assert [(s, c.label, c.prop, c.direction) for s, c in terms] == [
        (1, 0, "ink", "high"), (-1, 0, "ink", "low"), (1, None, "slant", "zero")]


def test_a_concept_takes_confident_members_of_its_class_with_the_most_extreme_property():
    values = {"ink": torch.tensor([0.9, 0.1, 0.5, 0.3, 0.8, 0.2]), "width": torch.zeros(6), "slant": torch.zeros(6)}
    # sample 0 has the most ink but is only a borderline 3; samples 1-4 are confident 3s; sample 5 is a 7
    probabilities = torch.tensor([[0.0, 0.85], [0.0, 0.95], [0.0, 0.99], [0.0, 0.91], [0.0, 0.97], [1.0, 0.0]])
    probabilities = torch.cat([torch.zeros(6, 3), probabilities[:, 1:]], dim=1)  # class 3 is column 3
    thick = concepts.parse_concept("class=3,ink=high")
    assert concepts.select(thick, values, probabilities, k=2).tolist() == [4, 2]
    assert concepts.select(concepts.parse_concept("class=3"), values, probabilities, k=2).tolist() == [2, 4]
    assert concepts.select(concepts.parse_concept("ink=low"), values, None, k=3).tolist() == [1, 5, 3]
    with pytest.raises(GanzooError, match="only 4 of 6 pool samples fit 'class=3'; need 5"):
        concepts.select(concepts.parse_concept("class=3"), values, probabilities, k=5)
    with pytest.raises(GanzooError, match="needs the dataset's domain classifier"):
        concepts.select(thick, values, None, k=1)


@pytest.mark.parametrize("expression,message", [
    ("ink=loud", "ink must be high or low"),
    ("colour=red", "unknown concept selector 'colour'"),
    ("ink=high,slant=left", "ranks by two properties"),
    ("class=x", "class must be a class number"),
    ("ink", "must be key=value"),
])
def test_bad_concepts_are_one_line_errors(run_dir, cli, expression, message):
    result = cli("arithmetic", run_dir, expression)
    assert result.code == 2 and message in result.err and len(result.err.strip().splitlines()) == 1


def test_arithmetic_averages_k_exemplars_chosen_by_the_concept(run_dir, cli, tmp_path):
    out = tmp_path / "arith.png"
    result = cli("arithmetic", run_dir, "ink=high - ink=low + slant=right", "--pool", "60", "-k", "3",
                 "--variants", "4", "--out", out, "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    high, low, right = data["terms"]
    assert [t["sign"] for t in data["terms"]] == ["+", "-", "+"]
    assert all(len(t["exemplars"]) == 3 for t in data["terms"])
    assert min(e["ink"] for e in high["exemplars"]) > max(e["ink"] for e in low["exemplars"])
    assert all("class" in e for e in right["exemplars"])  # judged by ganzoo-digits
    assert len(data["result"]) == 4 and data["feature_extractor"] == "ganzoo-digits"
    assert png_size(out) == (613, 554)  # 3 concept rows and the result, 0.75 in cells with 2-line captions, 110 dpi
    few = cli("arithmetic", run_dir, "class=3", "--pool", "3", "-k", "3")
    assert few.code == 2 or few.code == 0  # a pool of 3 holds three 3s only by chance; either way no traceback
    assert "Traceback" not in few.err


# ---- curves ------------------------------------------------------------------------------------------------------


def test_plot_draws_losses_d_outputs_and_scores(run_dir, cli, tmp_path):
    from ganzoo.analysis.curves import collect
    from ganzoo.storage.rundir import RunDir

    result = cli("plot", run_dir)
    assert result.code == 0, result.err
    path = run_dir / "analysis" / "curves.png"
    assert result.out.strip() == str(path)
    assert png_size(path) == (920, 660)  # two panels a row (losses, D outputs; FID) of 4.6 x 3.3 in at 100 dpi
    curves = collect(RunDir(run_dir).read_metrics())
    assert curves.series["d_real"][0] == [5, 10, 15, 20]
    assert curves.scores["fid"][0] == [10, 20] and curves.extractor == "ganzoo-digits"


def test_analyses_refuse_non_image_runs(tmp_path, cli):
    out = tmp_path / "ring"
    ganzoo.train("vanilla", dataset="ring", steps=2, out=out, progress=False, g_hidden=8, d_hidden=8, latent_dim=2)
    for args, what in ((["neighbours", out], "neighbours"), (["sample", out, "--interpolate"], "interpolation"),
                       (["arithmetic", out], "latent arithmetic")):
        result = cli(*args)
        assert result.code == 2 and f"{what} draws images; this run's data is points" in result.err
    assert cli("plot", out).code == 0  # curves work for any run


@pytest.mark.parametrize("command", [["demo"], ["demo", "toy1d"], ["neighbours"], ["arithmetic"], ["plot"]])
def test_analysis_commands_have_help(cli, command):
    result = cli(*command, "--help")
    assert result.code == 0 and "Usage:" in result.out
