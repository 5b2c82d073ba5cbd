"""Every bad input gets one clear line and exit code 2, and leaves every file as it was.

Each case runs the CLI against a directory of prepared runs, checkpoints and data folders; the
whole directory is fingerprinted before and after, so a case that wrote, moved or deleted
anything fails. (tests/test_cli.py holds more cases of the same kind.)
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import ganzoo
from conftest import run_ganzoo
from ganzoo.storage.checkpoint import read_checkpoint, write_checkpoint

TINY = {"g_width": 8, "d_width": 8, "latent_dim": 16}
CHECKPOINT = "checkpoints/step-00000002.safetensors"


def fingerprint(root: Path) -> dict[str, str]:
    """Every directory and file under root, files with a hash of their bytes."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            found[os.path.relpath(os.path.join(folder, name), root)] = "dir"
        for name in files:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return found


def flip_bit(data: bytes, position: int) -> bytes:
    out = bytearray(data)
    out[position] ^= 0x10
    return bytes(out)


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> Path:
    return build_place(tmp_path_factory.mktemp("bad-input"))


def build_place(root: Path) -> Path:
    """Runs, broken checkpoints and data folders that the cases point at."""
    ganzoo.train("dcgan", steps=2, out=root / "run", progress=False, **TINY)
    ganzoo.train("vanilla", steps=2, out=root / "vanilla", progress=False, g_hidden=8, d_hidden=8, latent_dim=4)
    good = (root / "run" / CHECKPOINT).read_bytes()

    files = {
        "truncated.safetensors": good[: len(good) // 2],
        "flipped.safetensors": flip_bit(good, len(good) - 1000),
        "empty.safetensors": b"",
        "text.safetensors": b"this is not a checkpoint\n",
        "afile": b"a file, not a directory\n",
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    save_file({"weight": torch.zeros(3)}, str(root / "foreign.safetensors"), metadata={"format": "pt"})
    torch.save({"weights": torch.zeros(3)}, root / "pickled.safetensors")  # a pickle under a .safetensors name

    checkpoint = read_checkpoint(root / "run" / CHECKPOINT)
    meta = dict(checkpoint.meta)
    write_checkpoint(root / "not-installed.safetensors", checkpoint.tensors, {**meta, "model": "stylegan9"})
    write_checkpoint(root / "misfit.safetensors", checkpoint.tensors,
                     {**meta, "config": {**meta["config"], "g_width": 16}})

    for name, latest in [("run-truncated", files["truncated.safetensors"]),
                         ("run-flipped", files["flipped.safetensors"]),
                         ("run-foreign", (root / "foreign.safetensors").read_bytes()),
                         ("run-vanilla-checkpoint", (root / "vanilla" / CHECKPOINT).read_bytes())]:
        shutil.copytree(root / "run", root / name)
        (root / name / CHECKPOINT).write_bytes(latest)
    shutil.copytree(root / "run", root / "run-no-checkpoint")
    shutil.rmtree(root / "run-no-checkpoint" / "checkpoints")

    (root / "foreign-dir").mkdir()
    (root / "foreign-dir" / "notes.txt").write_text("someone else's files")
    (root / "empty-dir").mkdir()
    (root / "no-images").mkdir()
    (root / "no-images" / "readme.txt").write_text("no pictures here")
    (root / "no-images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (root / "cifar-python" / "cifar-10-batches-py").mkdir(parents=True)
    (root / "cifar-python" / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"\x80\x04pickled")
    return root


# (arguments, what the one line must contain); {x} is place / x
CASES = [
    # unknown names, with suggestions
    (["tran"], "No such command 'tran'. (Did you mean one of: 'train', 'translate'?) (see 'ganzoo --help')"),
    (["train", "dcgan", "--step", "3"], "No such option '--step'. (Did you mean one of: '--d-steps', '--set', '--steps'?)"),
    (["train", "dcgan", "--set", "batch_sise=3"], "unknown option 'batch_sise'; did you mean 'batch_size'"),
    (["train", "dcgan", "--set", "data.nosuch=1"], "unknown option 'data.nosuch'"),
    (["train", "dcgan", "--set", "nosuch.g_width=1"], "unknown option 'nosuch.g_width'"),
    # options that do not apply to this run, or that two sections declare
    (["train", "dcgan", "--data-root", "/tmp"], "data_root: dataset 'digits' reads no files, so it takes no data_root"),
    (["train", "dcgan", "--set", "data.download=true"], "data.download: dataset 'digits' reads no files"),
    (["train", "seqgan", "--image-size", "32"], "image_size: dataset 'oracle' holds sequence data and this option is for "
                                                "images, so it takes no image_size"),
    (["list", "model"], "'model' is not one of 'models', 'losses', 'datasets', 'metrics', 'executors', 'extensions', 'all'"),
    (["train", "dcgan", "--precision", "fp8"],
     "Invalid value for '--precision': 'fp8' is not one of 'auto', 'fp32', 'bf16', 'fp16'"),
    (["train", "dcgan", "--device", "tpu"], "unknown device 'tpu'; use auto, cpu, cuda or cuda:N"),
    # invalid numbers
    (["train", "dcgan", "--lr-g", "abc"], "Invalid value for '--lr-g': 'abc' is not a valid float"),
    (["train", "dcgan", "--lr-g", "nan"], "lr_g must be a finite number, got nan"),
    (["train", "dcgan", "--set", "lr_d=Infinity"], "lr_d must be a finite number, got inf"),
    (["train", "dcgan", "--set", "log_every=1.5"], "log_every must be a whole number, got 1.5"),
    (["train", "dcgan", "--set", "betas=0.5"], "betas must be a list of 2 numbers (a,b), got 0.5"),
    (["train", "dcgan", "--seed", "-1"], "seed must be in [0, 9223372036854775807], got -1"),
    (["train", "dcgan", "--batch-size", "5000"], "batch size 5000 is larger than the dataset (1437 examples)"),
    (["sample", "{run}", "-n", "0"], "Invalid value for '-n' / '--num': 0 is not in the range x>=1."),
    # out-of-range --set values
    (["train", "dcgan", "--set", "latent_dim=5000"], "latent_dim must be in [1, 4096], got 5000"),
    (["train", "dcgan", "--set", "keep_checkpoints=0"], "keep_checkpoints must be in [1, inf], got 0"),
    (["train", "dcgan", "--set", "betas=0.5,1.5"], "betas[1] must be in [0.0, 0.999999], got 1.5"),
    # image sizes the architecture cannot produce
    (["train", "dcgan", "--image-size", "128"], "dcgan makes 32x32 or 64x64 images, not 128x128; set --image-size 32 or 64"),
    (["train", "dcgan", "--image-size", "2"], "image_size must be in [4, 1024], got 2"),
    # missing, empty or image-less data
    (["train", "dcgan", "--dataset", "folder"], "folder: pass --data-root DIR, a directory of images"),
    (["train", "dcgan", "--dataset", "folder", "--data-root", "{missing}"], "folder: {missing} does not exist"),
    (["train", "dcgan", "--dataset", "folder", "--data-root", "{afile}"], "folder: {afile} is not a directory"),
    (["train", "dcgan", "--dataset", "folder", "--data-root", "{empty-dir}"],
     "folder: no readable images in {empty-dir} (0 other files skipped)"),
    (["train", "dcgan", "--dataset", "folder", "--data-root", "{no-images}"],
     "folder: no readable images in {no-images} (2 other files skipped)"),
    (["train", "dcgan", "--dataset", "mnist", "--data-root", "{empty-dir}"], "mnist: no train files at {empty-dir}/MNIST/raw"),
    (["train", "dcgan", "--dataset", "cifar10", "--data-root", "{cifar-python}"],
     "only the pickled python version, cifar-10-batches-py, is there; ganzoo does not unpickle data files"),
    # truncated, corrupt or foreign files given to sample
    (["sample", "{truncated.safetensors}"], "not a complete checkpoint (truncated: "),
    (["sample", "{flipped.safetensors}"], "its checksum does not match its contents"),
    (["sample", "{empty.safetensors}"], "not a readable checkpoint (truncated or corrupt: only 0 bytes)"),
    (["sample", "{text.safetensors}"], "not a readable checkpoint (truncated or corrupt"),
    (["sample", "{pickled.safetensors}"], "not a readable checkpoint (truncated or corrupt"),
    (["sample", "{foreign.safetensors}"], "not a ganzoo checkpoint (a different kind of file, or another program's"),
    (["sample", "{missing}"], "no such run directory or checkpoint"),
    (["sample", "{run-no-checkpoint}"], "has no checkpoints yet"),
    (["sample", "{foreign-dir}"], "is not a ganzoo run directory (no config.json)"),
    # ... and to --resume
    (["train", "--resume", "{run-truncated}"], "not a complete checkpoint (truncated: "),
    (["train", "--resume", "{run-flipped}"], "its checksum does not match its contents"),
    (["train", "--resume", "{run-foreign}"], "not a ganzoo checkpoint"),
    (["train", "--resume", "{run}/" + CHECKPOINT], "--resume takes a run directory, not a file"),
    (["train", "--resume", "{foreign-dir}"], "is not a ganzoo run directory (no config.json)"),
    (["train", "--resume", "{missing}"], "no such run directory"),
    # a checkpoint of another model or shape
    (["sample", "{not-installed.safetensors}"], "is a checkpoint of model 'stylegan9', which is not installed here"),
    (["sample", "{misfit.safetensors}"], "its generator does not fit 'dcgan' as installed now"),
    (["sample", "{run}", "--label", "3"], "this model is not conditional; it takes no --label"),
    (["train", "--resume", "{run}", "--set", "g_width=16"], "its generator does not fit the model built from this configuration"),
    (["train", "vanilla", "--resume", "{run}"], "is a run of 'dcgan', not 'vanilla'"),
    (["train", "--resume", "{run-vanilla-checkpoint}"],
     "is a checkpoint of 'vanilla', but {run-vanilla-checkpoint} is a run of 'dcgan'"),
    # --out and --resume that would clobber something
    (["train", "dcgan", "--out", "{run}"], "--out {run} already holds a run; pass --resume {run} to continue it or --overwrite"),
    (["train", "dcgan", "--out", "{foreign-dir}", "--overwrite"],
     "is not empty and holds no ganzoo run; choose another directory"),
    (["train", "dcgan", "--out", "{afile}"], "--out {afile} is a file, not a directory"),
    (["train", "--resume", "{run}", "--overwrite"], "--overwrite replaces a run and --resume continues one; pass only one"),
    (["train", "--resume", "{run}", "--out", "{empty-dir}"], "--resume continues the run in its own directory; drop --out"),
]


def fill(text: str, place: Path) -> str:
    for name in ("missing", *sorted((p.name for p in place.iterdir()), key=len, reverse=True)):
        text = text.replace("{" + name + "}", str(place / name))
    return text


@pytest.mark.parametrize("args,message", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(cli, place, args, message):
    args = [fill(a, place) for a in args]
    if args[0] == "train" and "--out" not in args and "--resume" not in args:
        args += ["--out", str(place / "new-run"), "--steps", "2"]
    before = fingerprint(place)
    result = cli(*args)
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganzoo: error: "), result.err
    assert fill(message, place) in lines[0]
    assert fingerprint(place) == before


def test_debug_shows_the_traceback_of_a_bad_checkpoint(place):
    done = run_ganzoo("--debug", "sample", place / "flipped.safetensors")
    assert done.returncode != 0 and "Traceback" in done.stderr and "CheckpointError" in done.stderr
