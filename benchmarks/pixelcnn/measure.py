"""PixelCNN measurements for docs/pixelcnn.md: held-out bits/dim of a run, and sampling time, fast vs naive.

    .venv/bin/python benchmarks/pixelcnn/measure.py bpd RUN           # digits (native) test and train splits
    .venv/bin/python benchmarks/pixelcnn/measure.py sample RUN -n 1000 [--naive]

``bpd`` scores the run's generator on the split it did not train on (and on its training split, to see
any over-fitting); ``sample`` times the row-by-row sampler of the plugin (and with ``--naive`` the full
network per pixel on the same latents, checking both give the same images).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from ganzoo.data.base import DataRequest
from ganzoo.data.digits import load_digits
from ganzoo.sampling import load_run


def heldout_bits(run: str) -> dict[str, float]:
    """Mean exact bits/dim of the run's PixelCNN on the native digits' test and train splits."""
    generator = load_run(run).generator
    out: dict[str, float] = {}
    for split in ("test", "train"):
        data = load_digits(DataRequest(split=split, options={"native": True}))
        with torch.no_grad():
            bits = torch.cat([generator.bits_per_dim(batch.x) for batch in data.iterate(500)])
        out[f"{split}_bits_per_dim"] = round(float(bits.mean()), 4)
        out[f"{split}_images"] = len(bits)
    return out


def sampling_time(run: str, n: int, naive: bool, seed: int = 0) -> dict[str, float]:
    """Seconds per image to sample n images in one batch (fast, and naive if asked), same latents."""
    generator = load_run(run).generator
    z = generator.sample_latent(n, torch.Generator().manual_seed(seed))
    out: dict[str, float] = {"images": n, "threads": torch.get_num_threads()}
    with torch.no_grad():
        generator.sample_levels(z[:8])  # warm-up
        started = time.perf_counter()
        fast = generator.sample_levels(z)
        out["fast_s_per_image"] = (time.perf_counter() - started) / n
        if naive:
            started = time.perf_counter()
            slow = generator.sample_levels_naive(z)
            out["naive_s_per_image"] = (time.perf_counter() - started) / n
            out["speedup"] = out["naive_s_per_image"] / out["fast_s_per_image"]
            out["same_images"] = bool(torch.equal(fast, slow))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("bpd", "sample"))
    parser.add_argument("run")
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--naive", action="store_true")
    args = parser.parse_args()
    result = heldout_bits(args.run) if args.what == "bpd" else sampling_time(args.run, args.n, args.naive)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
