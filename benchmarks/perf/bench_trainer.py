"""Time ganzoo's trainer against the hand-written PyTorch DCGAN loop, side by side in one process.

Both train the same networks (the PyTorch DCGAN example: nz 100, ngf = ndf = 64, batch 64,
Adam 2e-4 / (0.5, 0.999), non-saturating BCE, the D step's fake batch reused for the G step) on
the same in-memory images: random 64x64x3 (the example's shape) and the 32x32 digits that
`ganzoo train dcgan` uses by default. ganzoo is driven through ``Trainer.advance``, the exact hot
path of ``Trainer.fit`` (step function, step counter, log window), with the run directory left
untouched; each timed block ends with the window's flush, the host read-back of a log line.

Arms (each timed in every round, in rotating order, after a warm-up):
  plain-fp32        the hand-written loop, fp32, contiguous tensors
  ganzoo-fp32       ganzoo, fp32, contiguous tensors: its overhead (target <= 3%)
  ganzoo-fast       ganzoo with --precision / --channels-last / --compile (target >= 1.8x faster)
  plain-fast        (--with-plain-fast) the hand-written loop with the same precision / memory format

Run:  python benchmarks/perf/bench_trainer.py [--sizes 64,32] [--steps 8] [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plain_dcgan import PlainLoop  # noqa: E402

from ganzoo.configure import resolve_run  # noqa: E402
from ganzoo.data.base import TensorData  # noqa: E402
from ganzoo.data.loading import load_data  # noqa: E402
from ganzoo.plugins import get_registry  # noqa: E402
from ganzoo.spec import DataInfo  # noqa: E402
from ganzoo.storage.rundir import RunDir  # noqa: E402
from ganzoo.trainer.loop import Trainer, _Window  # noqa: E402
from ganzoo.trainer.setup import prepare_state  # noqa: E402

BATCH = 64
RANDOM_IMAGES = 512  # 8 batches of random 64x64x3 images, cycled


@dataclass
class Arm:
    """One contender: a step function and the sync that ends a timed block."""

    name: str
    step: Callable[[], None]
    finish: Callable[[], None] = lambda: None
    times: list[float] = field(default_factory=list)


def images(size: int, seed: int) -> TensorData:
    """The training images: random uint8 64x64x3, or the digits train split at 32x32."""
    if size == 32:
        _, config = resolve_run(get_registry(), "dcgan", {"dataset": "digits", "image_size": 32, "seed": seed})
        return load_data(get_registry(), config)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (RANDOM_IMAGES, 3, size, size), dtype=torch.uint8, generator=gen)
    return TensorData(x, None, DataInfo("image", (3, size, size)))


def as_float(data: TensorData) -> torch.Tensor:
    """The same images as the plain loop reads them: floats in [-1, 1]."""
    return data._convert(data.x.clone()) if data.x.dtype == torch.uint8 else data.x


def synchronize(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def plain_arm(name: str, data: TensorData, precision: str, channels_last: bool, seed: int, device: str) -> Arm:
    torch.manual_seed(seed)
    loop = PlainLoop(as_float(data), batch_size=BATCH, precision=precision, channels_last=channels_last,
                     device=device)
    return Arm(name, loop.step, lambda: synchronize(device))


def ganzoo_arm(name: str, data: TensorData, size: int, seed: int, **options: Any) -> Arm:
    registry = get_registry()
    spec, config = resolve_run(registry, "dcgan", {
        "dataset": "digits", "image_size": size, "batch_size": BATCH, "seed": seed,
        "latent_dim": 100, "g_width": 64, "d_width": 64, "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999),
        "loss": "nonsaturating", "sample_every": 0, "checkpoint_every": 0, **options,
    })
    state = prepare_state(registry, spec, config, data=data)
    trainer = Trainer(spec, state, RunDir(Path(tempfile.gettempdir()) / "ganzoo-bench-unused"), progress=False)
    phase, window = trainer.phases[0], _Window()
    return Arm(name, lambda: trainer.advance(phase, window), lambda: window.flush())


def time_block(arm: Arm, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        arm.step()
    arm.finish()
    return (time.perf_counter() - start) / steps


def bench_size(size: int, args: argparse.Namespace) -> dict[str, Any]:
    data = images(size, args.seed)
    fast = {"precision": args.precision, "channels_last": args.channels_last, "compile": args.compile,
            "fused": args.fused, "device": args.device}
    arms = [
        plain_arm("plain-fp32", data, "fp32", False, args.seed, args.device),
        ganzoo_arm("ganzoo-fp32", data, size, args.seed, precision="fp32", channels_last=False, fused=args.fused,
                   device=args.device),
        ganzoo_arm("ganzoo-fast", data, size, args.seed, **fast),
    ]
    if args.with_plain_fast:
        arms.append(plain_arm("plain-fast", data, args.precision, args.channels_last, args.seed, args.device))
    for arm in arms:
        for _ in range(args.warmup):
            arm.step()
        arm.finish()
    for r in range(args.rounds):
        shift = r % len(arms)
        for arm in arms[shift:] + arms[:shift]:
            arm.times.append(time_block(arm, args.steps))
    result: dict[str, Any] = {"image_shape": list(data.info.shape), "batch_size": BATCH, "arms": {}}
    for arm in arms:
        median = statistics.median(arm.times)
        result["arms"][arm.name] = {"s_per_step": median, "images_per_s": BATCH / median,
                                    "s_per_step_rounds": arm.times}
    base = result["arms"]["plain-fp32"]["s_per_step"]
    result["ganzoo_fp32_overhead"] = result["arms"]["ganzoo-fp32"]["s_per_step"] / base - 1
    result["ganzoo_fast_speedup"] = base / result["arms"]["ganzoo-fast"]["s_per_step"]
    if args.with_plain_fast:
        result["plain_fast_speedup"] = base / result["arms"]["plain-fast"]["s_per_step"]
    return result


def machine() -> dict[str, Any]:
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "torch": torch.__version__,
            "python": platform.python_version()}


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


def report(results: dict[str, Any]) -> str:
    fast = results["fast"]
    lines = [f"machine: {results['machine']['cpu']}, {results['machine']['torch_threads']} threads, "
             f"torch {results['machine']['torch']}",
             f"ganzoo-fast = {fast}; {results['rounds']} rounds x {results['steps']} steps after "
             f"{results['warmup']} warm-up steps; medians over rounds", ""]
    for size, res in results["sizes"].items():
        lines.append(f"{size}x{size} (images {'x'.join(map(str, res['image_shape']))}, batch {res['batch_size']})")
        for name, arm in res["arms"].items():
            lines.append(f"  {name:<12} {arm['s_per_step']:8.4f} s/step  {arm['images_per_s']:8.1f} images/s")
        lines.append(f"  ganzoo fp32 overhead vs plain fp32: {100 * res['ganzoo_fp32_overhead']:+.1f}%")
        lines.append(f"  ganzoo-fast speed-up vs plain fp32: {res['ganzoo_fast_speedup']:.2f}x")
        if "plain_fast_speedup" in res:
            lines.append(f"  plain-fast speed-up vs plain fp32:  {res['plain_fast_speedup']:.2f}x")
    lines.append(f"peak RSS of the process (all arms): {results['peak_rss_mb']:.0f} MB")
    if "peak_cuda_mb" in results:
        lines.append(f"peak CUDA memory (all arms): {results['peak_cuda_mb']:.0f} MB on {results['machine']['gpu']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="64,32", help="image sizes to run, from 64 and 32 (default: 64,32)")
    parser.add_argument("--steps", type=int, default=8, help="timed steps per arm per round (default 8)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per arm first (default 3)")
    parser.add_argument("--precision", default="bf16", choices=["fp32", "bf16", "fp16"],
                        help="precision of the fast arm (default bf16)")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                        help="channels_last in the fast arm (default on)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=False,
                        help="torch.compile in the fast arm (default off)")
    parser.add_argument("--fused", action=argparse.BooleanOptionalAction, default=True,
                        help="fused Adam in the ganzoo arms (default on, ganzoo's default)")
    parser.add_argument("--with-plain-fast", action="store_true",
                        help="also time the plain loop at the fast arm's precision and memory format")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--json-out", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not sizes or any(s not in (32, 64) for s in sizes) or min(args.steps, args.rounds) < 1 or args.warmup < 0:
        parser.error("--sizes takes 64 and/or 32; --steps and --rounds must be >= 1, --warmup >= 0")
    if args.with_plain_fast and args.precision == "fp16":
        parser.error("--with-plain-fast runs the plain loop in fp32 or bf16 only")
    results: dict[str, Any] = {
        "machine": machine(), "device": args.device, "steps": args.steps, "rounds": args.rounds, "warmup": args.warmup,
        "fast": {"precision": args.precision, "channels_last": args.channels_last, "compile": args.compile,
                 "fused": args.fused},
        "sizes": {size: bench_size(size, args) for size in sizes},
    }
    results["peak_rss_mb"] = peak_rss_mb()
    if torch.device(args.device).type == "cuda":
        results["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
        results["machine"]["gpu"] = torch.cuda.get_device_name()
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2) if args.json else report(results))


if __name__ == "__main__":
    main()
