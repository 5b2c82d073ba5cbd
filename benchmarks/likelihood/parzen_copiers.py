"""The Parzen estimate of models that copy the digits' training images, under the cpu-likelihood suite's protocol.

Two "models" that have learnt nothing but the training set: one draws copies of the training images that
lie outside the Parzen validation subset (the 80% a model would have fitted), one draws copies of every
training image. Both draw 10,000 samples (seed 1), as the suite's runs do; the bandwidth is chosen on the
validation subset and the estimate is the mean log-likelihood of the 360 held-out digits (nats), as
``ganzoo eval --metrics parzen`` computes it. Theis et al. 2016 predict the first ranks above real models.

Run:  python benchmarks/likelihood/parzen_copiers.py [--json-out FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ganzoo.data.base import DataRequest
from ganzoo.data.digits import load_digits
from ganzoo.metrics.likelihood import parzen_scores, validation_images

SAMPLES = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    train = load_digits(DataRequest(split="train")).x
    test = load_digits(DataRequest(split="test")).x
    held = {tuple(image.flatten().tolist()) for image in validation_images(train)}
    rest = torch.stack([image for image in train if tuple(image.flatten().tolist()) not in held])
    rows = []
    for name, pool in (("copy the 80% outside validation", rest), ("copy every training image", train)):
        draws = pool[torch.randint(len(pool), (SAMPLES,), generator=torch.Generator().manual_seed(1))]
        scores = parzen_scores(draws, train, test, None)
        rows.append({"model": name, "pool": len(pool), **{k: round(v, 4) for k, v in scores.items()}})
        print(f"{name:34} parzen {scores['parzen']:9.1f} +- {scores['parzen_se']:.1f} nats (sigma {scores['parzen_sigma']:.3f})")
    if args.json_out:
        args.json_out.write_text(json.dumps({"samples": SAMPLES, "heldout": len(test), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
