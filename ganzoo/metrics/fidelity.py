"""FID, IS, KID and precision/recall of image generators, computed by torch-fidelity; density and coverage by prdc.

Generated images stream through torch-fidelity's generative-model path in batches (only their
features are kept). Real-image features are computed once per (dataset, split, image size,
extractor, extractor weights) and cached as safetensors, never pickled; torch-fidelity's own
cache is switched off. The scores then come from torch-fidelity's metric functions, the same
ones ``calculate_metrics`` uses. Density and coverage (Naeem et al. 2020) come from ``prdc.compute_prdc``
on the same features (the layer precision/recall use), in the same pass.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes
from torch import Tensor, nn
from tqdm.auto import tqdm

from ganzoo.data.base import epoch_permutation
from ganzoo.errors import ConfigError
from ganzoo.metrics.base import EvalContext, MetricResult, MetricSpec
from ganzoo.nets.base import Generator
from ganzoo.storage.checkpoint import atomic_write_bytes

if TYPE_CHECKING:
    from ganzoo.metrics.extractors import ResolvedExtractor

# torch-fidelity (which pulls in torchvision and torch._dynamo) and the extractors built on it are imported inside the
# functions that score: registering these metrics, as `ganzoo list` does, must not cost seconds.

FIDELITY_METRICS = ("fid", "isc", "kid", "prc", "dc")
KID_SUBSET_SIZE = 1000
DC_NEAREST_K = 5
"""k of density and coverage: the k-th nearest real neighbour sets each real feature's radius (the paper's 5)."""
FIDELITY_SEED = 2020


def to_uint8_rgb(images: Tensor) -> Tensor:
    """Images in [-1, 1], 1 or 3 channels -> uint8 (B, 3, H, W), as torch-fidelity expects."""
    images = images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return images.expand(-1, 3, -1, -1).contiguous() if images.shape[1] == 1 else images


class FidelityGenerator(nn.Module):
    """A ganzoo generator as torch-fidelity's generative model.

    It declares no classes (torch-fidelity's conditional path crashes on recent NumPy); a
    conditional generator draws its own uniform labels from a seeded generator instead, or
    makes every sample of class ``label`` when one is given. It becomes a (virtual) subclass of
    torch-fidelity's abstract ``GenerativeModelBase`` when first built, so that this module
    imports without torch-fidelity.
    """

    def __init__(self, generator: Generator, seed: int = FIDELITY_SEED, label: int | None = None) -> None:
        from torch_fidelity.generative_model_base import GenerativeModelBase

        GenerativeModelBase.register(FidelityGenerator)
        super().__init__()
        self.generator = generator
        self.labels_rng = torch.Generator().manual_seed(seed)
        self.label = label

    @property
    def z_size(self) -> int:
        return self.generator.latent_dim

    @property
    def z_type(self) -> str:
        return "normal"

    @property
    def num_classes(self) -> int:
        return 0

    def forward(self, z: Tensor) -> Tensor:
        G = self.generator
        if self.label is None:
            labels = G.sample_labels(len(z), self.labels_rng)
        else:
            labels = torch.full((len(z),), self.label, dtype=torch.long, device=G.device)
        return to_uint8_rgb(G(z.to(G.device), labels))


class ImageTensors(torch.utils.data.Dataset):
    """Images in [-1, 1] as torch-fidelity's dataset input (uint8, 3 channels), one at a time."""

    def __init__(self, images: Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> Tensor:
        return to_uint8_rgb(self.images[index : index + 1])[0]


def features_of_images(images: Tensor, extractor: Any, batch_size: int = 250, progress: bool | None = False) -> dict[str, Tensor]:
    """torch-fidelity features of a tensor of images in [-1, 1] (torch-fidelity's own bar when ``progress``)."""
    from torch_fidelity.utils import get_featuresdict_from_dataset

    verbose = sys.stderr.isatty() if progress is None else progress
    return get_featuresdict_from_dataset(ImageTensors(images.cpu()), extractor, batch_size, False, True, verbose)


def features_of_generator(generator: Generator, extractor: Any, num_samples: int, batch_size: int, seed: int,
                          cuda: bool, progress: bool | None = False, label: int | None = None) -> dict[str, Tensor]:
    """torch-fidelity features of ``num_samples`` generated images (all of class ``label`` when given), in batches."""
    from torch_fidelity.utils import get_featuresdict_from_generative_model

    model = FidelityGenerator(generator, seed, label)
    with tqdm(total=num_samples, desc="generated images", unit="img", disable=_disabled(progress), leave=False) as bar:
        model.register_forward_hook(lambda module, args, out: bar.update(len(out)))
        return get_featuresdict_from_generative_model(model, extractor, num_samples, batch_size, cuda, seed, False)


def _disabled(progress: bool | None) -> bool | None:
    """tqdm's ``disable``: None shows a bar only on a terminal."""
    return None if progress is None else not progress


def all_images(data) -> Tensor:
    """Every image of a loaded dataset as one float tensor in [-1, 1] (reference sets are small)."""
    return all_images_and_labels(data)[0]


def all_images_and_labels(data) -> tuple[Tensor, Tensor | None]:
    """Every image of a loaded dataset in [-1, 1], and its labels (None for unlabelled data)."""
    batches = list(data.iterate(1000))
    images = torch.cat([batch.x.float().cpu() for batch in batches])
    labelled = all(batch.labels is not None for batch in batches)
    return images, torch.cat([batch.labels.cpu() for batch in batches]) if labelled else None


# ---- reference features, cached without pickle ---------------------------------------------
LABELS_KEY = "__labels__"


@dataclass(frozen=True)
class Reference:
    """Features of the real reference images and, for labelled data, their class labels."""

    features: dict[str, Tensor]
    labels: Tensor | None

    @property
    def count(self) -> int:
        return len(next(iter(self.features.values())))


def reference_key(config: dict[str, Any], split: str, image_shape: tuple[int, ...], extractor: ResolvedExtractor,
                  num_real: int | None) -> str:
    """The cache key: dataset, data root, split, image shape, real-image cap, extractor and its weights hash."""
    root = str(Path(config["data_root"]).expanduser().resolve()) if config.get("data_root") else ""
    parts = [config["dataset"], root, split, "x".join(map(str, image_shape)), str(num_real or "all"), extractor.name,
             extractor.weights_sha256]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def reference_features(ctx: EvalContext, extractor: ResolvedExtractor, feature_model: Any) -> Reference:
    """Real-image features (and labels) of the reference split, from the cache when present."""
    from ganzoo.metrics.extractors import cache_dir

    split = reference_split(ctx)
    num_real = ctx.options.get("num_real")
    key = reference_key(ctx.config, split, ctx.data_info.shape, extractor, num_real)
    folder = Path(ctx.options.get("cache_dir") or cache_dir()) / "reference"
    path = folder / f"{ctx.config['dataset']}-{split}-{key}.safetensors"
    if path.is_file():
        try:
            with safe_open(str(path), framework="pt") as handle:
                stored = {k: handle.get_tensor(k) for k in handle.keys()}
            labels = stored.pop(LABELS_KEY, None)
            if set(feature_model.features_list) <= set(stored) and (labels is not None or ctx.data_info.num_classes <= 0):
                return Reference(stored, labels)
        except Exception:  # a damaged cache file is recomputed, never trusted
            pass
    images, labels = all_images_and_labels(ctx.real_data(split))
    if num_real and num_real < len(images):
        keep = epoch_permutation(len(images), 0, 0)[:num_real]
        images, labels = images[keep], (labels[keep] if labels is not None else None)
    features = features_of_images(images, feature_model, ctx.batch_size, ctx.options.get("progress", False))
    meta = {"dataset": ctx.config["dataset"], "split": split, "extractor": extractor.name,
            "extractor_weights_sha256": extractor.weights_sha256, "count": str(len(images))}
    tensors = {k: v.contiguous() for k, v in features.items()}
    if labels is not None:
        tensors[LABELS_KEY] = labels.contiguous()
    atomic_write_bytes(path, safetensors_bytes(tensors, metadata=meta))
    return Reference(features, labels)


def reference_split(ctx: EvalContext) -> str:
    """The real split scores compare against: the evaluation's choice, else the run's training split."""
    return ctx.options.get("reference_split") or ctx.config.get("split", "train")


# ---- the metrics ------------------------------------------------------------------------------
def score_features(fake: dict[str, Tensor], real: dict[str, Tensor] | None, metrics: list[str], extractor_cls: Any,
                   seed: int = FIDELITY_SEED, dc_k: int = DC_NEAREST_K) -> dict[str, float]:
    """torch-fidelity's scores (and prdc's density and coverage) from two feature dicts (real may be None when only IS
    is asked)."""
    import torch_fidelity
    from torch_fidelity.metric_fid import fid_featuresdict_to_statistics, fid_statistics_to_metric
    from torch_fidelity.metric_isc import isc_featuresdict_to_metric
    from torch_fidelity.metric_kid import kid_featuresdict_to_metric
    from torch_fidelity.metric_prc import prc_featuresdict_to_metric

    def layer(metric: str) -> str:
        return extractor_cls.get_default_feature_layer_for_metric(_layer_metric(metric))

    out: dict[str, float] = {}
    kwargs = {"verbose": False, "rng_seed": seed, "save_cpu_ram": True}
    if "isc" in metrics:
        isc = isc_featuresdict_to_metric(fake, layer("isc"), **kwargs)
        out["isc"], out["isc_std"] = isc[torch_fidelity.KEY_METRIC_ISC_MEAN], isc[torch_fidelity.KEY_METRIC_ISC_STD]
    if real is None:
        return out
    if "fid" in metrics:
        stats_fake = fid_featuresdict_to_statistics(fake, layer("fid"))
        stats_real = fid_featuresdict_to_statistics(real, layer("fid"))
        fid = fid_statistics_to_metric(stats_fake, stats_real, False)[torch_fidelity.KEY_METRIC_FID]
        out["fid"] = max(0.0, fid)  # identical sets can come out as -2e-17
    if "kid" in metrics:
        subset = min(KID_SUBSET_SIZE, len(fake[layer("kid")]), len(real[layer("kid")]))
        kid = kid_featuresdict_to_metric(fake, real, layer("kid"), kid_subset_size=subset, **kwargs)
        out["kid"], out["kid_std"] = kid[torch_fidelity.KEY_METRIC_KID_MEAN], kid[torch_fidelity.KEY_METRIC_KID_STD]
    if "prc" in metrics:
        prc = prc_featuresdict_to_metric(fake, real, layer("prc"), **kwargs)
        out["precision"] = prc[torch_fidelity.KEY_METRIC_PRECISION]
        out["recall"] = prc[torch_fidelity.KEY_METRIC_RECALL]
        out["f_score"] = prc[torch_fidelity.KEY_METRIC_F_SCORE]
    if "dc" in metrics:
        out.update(density_coverage(real[layer("dc")], fake[layer("dc")], dc_k))
    return out


def _layer_metric(metric: str) -> str:
    """The metric whose feature layer a metric uses: density and coverage use precision/recall's."""
    return "prc" if metric == "dc" else metric


def density_coverage(real: Tensor, fake: Tensor, k: int = DC_NEAREST_K) -> dict[str, float]:
    """prdc's density and coverage of generated features against real ones, with k-nearest-neighbour radii.

    ``compute_prdc`` also computes its own precision and recall (and so the generated-to-generated distances,
    the largest of its matrices, and k-NN radii of the generated set); only density and coverage are kept.
    """
    least = k + 2  # each point and its k neighbours, plus one: prdc partitions each distance row at index k + 1
    if len(real) < least or len(fake) < least:
        raise ConfigError(f"density/coverage (k={k}) need at least {least} real and {least} generated images; "
                          f"got {len(real)} real and {len(fake)} generated")
    import prdc
    from threadpoolctl import threadpool_limits

    # prdc computes distances in 8 sklearn threads: one BLAS thread each, not 8 x the cores (measured 1.5x faster on
    # 2 cores); and it prints the set sizes, which would break `--json`
    with threadpool_limits(1, user_api="blas"), contextlib.redirect_stdout(io.StringIO()):
        scores = prdc.compute_prdc(real.float().cpu().numpy(), fake.float().cpu().numpy(), nearest_k=k)
    return {"density": float(scores["density"]), "coverage": float(scores["coverage"])}


def data_identity(ctx: EvalContext) -> Mapping[str, Any] | None:
    """The identity the run's data records (a folder's path and content digest); None for a fixed dataset.

    A run on a dataset without a separate held-out split (a folder) that predates identities gets its
    data's identity as the data is now.
    """
    identity = ctx.data_info.extras.get("identity")
    if identity is None and ctx.registry is not None:
        datasets, name = ctx.registry.datasets, str(ctx.config["dataset"])
        if name in datasets and datasets.get(name).value.heldout_split is None:
            identity = ctx.real_data(ctx.config.get("split", "train")).info.extras.get("identity")
    return identity


def extractor_for(ctx: EvalContext) -> ResolvedExtractor:
    """The extractor named in the options, or the data's domain extractor, or Inception.

    A domain extractor fitted on other data than the run's is refused (ExtractorDataMismatch).
    """
    from ganzoo.metrics.extractors import DOMAIN_PREFIX, check_fitted_on, default_extractor, domain_weights, resolve_extractor

    name = ctx.options.get("feature_extractor") or "auto"
    dataset, identity = str(ctx.config["dataset"]), data_identity(ctx)
    if name == "auto":
        name = default_extractor(dataset, identity)
    if name.startswith(DOMAIN_PREFIX):
        check_fitted_on(domain_weights(name), dataset, identity)
    return resolve_extractor(name, ctx.options.get("inception_weights"))


def _fidelity_scores(ctx: EvalContext) -> tuple[dict[str, float], dict[str, Any]]:
    """All requested torch-fidelity scores, computed once per evaluation and shared."""
    import torch_fidelity

    if "fidelity" in ctx.cache:
        return ctx.cache["fidelity"]
    if ctx.generator.latent_dim <= 0:
        raise ConfigError("image scores need a generator with a latent input")
    wanted = [m for m in FIDELITY_METRICS if m in ctx.requested] or list(FIDELITY_METRICS)
    extractor = extractor_for(ctx)
    layers = sorted({metric_layer(extractor, m) for m in wanted})
    cuda = ctx.device.type == "cuda"
    model = extractor.create(layers, cuda)
    fake = features_of_generator(ctx.generator, model, ctx.num_samples, ctx.batch_size, ctx.seed, cuda,
                                 ctx.options.get("progress", False))
    real, n_real = (None, 0)
    if any(m != "isc" for m in wanted):
        reference = reference_features(ctx, extractor, model)
        real, n_real = reference.features, reference.count
    scores = score_features(fake, real, wanted, type(model))
    protocol = {
        **extractor.protocol(),
        "num_generated": ctx.num_samples,
        "num_real": n_real,
        "reference": f"{ctx.config['dataset']}:{reference_split(ctx)}",
        "image_size": list(ctx.data_info.shape),
        "torch_fidelity": torch_fidelity.__version__,
        "kid_subset_size": min(KID_SUBSET_SIZE, ctx.num_samples, n_real) if n_real else None,
    }
    ctx.cache["fidelity"] = (scores, protocol)
    return scores, protocol


def metric_layer(extractor: ResolvedExtractor, metric: str) -> str:
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    return FEATURE_EXTRACTORS_REGISTRY[extractor.name].get_default_feature_layer_for_metric(_layer_metric(metric))


def _metric(name: str, keys: tuple[str, ...], extra_protocol: Callable[[], dict[str, Any]] | None = None):
    def compute(ctx: EvalContext) -> MetricResult:
        scores, protocol = _fidelity_scores(ctx)
        return MetricResult({k: scores[k] for k in keys}, {**protocol, **(extra_protocol() if extra_protocol else {})})

    return compute


def _dc_protocol() -> dict[str, Any]:
    """What density and coverage add to the shared protocol: their k and prdc's version (the other metrics' is unchanged)."""
    from importlib.metadata import version

    return {"dc_k": DC_NEAREST_K, "prdc": version("prdc")}


FIDELITY_SPECS = [
    MetricSpec("fid", "Frechet distance between real and generated feature statistics", ("image",),
               _metric("fid", ("fid",)), {"fid": "lower"}),
    MetricSpec("isc", "Inception Score: confident and diverse class predictions on generated images", ("image",),
               _metric("isc", ("isc", "isc_std")), {"isc": "higher", "isc_std": "lower"}),
    MetricSpec("kid", "Kernel distance (unbiased MMD, polynomial kernel) between real and generated features",
               ("image",), _metric("kid", ("kid", "kid_std")), {"kid": "lower", "kid_std": "lower"}),
    MetricSpec("prc", "Precision (fidelity) and recall (coverage) of generated features, k=3 neighbourhoods",
               ("image",), _metric("prc", ("precision", "recall", "f_score")),
               {"precision": "higher", "recall": "higher", "f_score": "higher"}, default=False),
    MetricSpec("dc", f"Density (fidelity) and coverage (diversity) of generated features, prdc, k={DC_NEAREST_K} "
               "neighbourhoods", ("image",), _metric("dc", ("density", "coverage"), _dc_protocol),
               {"density": "higher", "coverage": "higher"}, default=False),
]

