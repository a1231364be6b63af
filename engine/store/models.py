"""Where models are: the bundled ones by name (with the kind each serves), checkpoint files,
and runs' latest or best checkpoints. Knows files, not tasks.

Bundled files live in the repository's `assets/models/` (a checkout or an editable install) or,
after `pip install .`, in `<prefix>/share/image-studio/models` where the wheel puts them.
"""

from __future__ import annotations

import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UserError
from engine.store.checkpoints import BEST_CHECKPOINT
from engine.store.runs import RunStore


def assets_models_dir() -> Path:
    """Where the bundled model files are: the checkout's assets/, else the installed data dir."""
    checkout = Path(__file__).resolve().parents[2] / "assets" / "models"
    if checkout.is_dir():
        return checkout
    for prefix in (sysconfig.get_path("data"), sys.prefix):
        installed = Path(prefix) / "share" / "image-studio" / "models"
        if installed.is_dir():
            return installed
    return checkout


@dataclass(frozen=True)
class BundledModel:
    name: str
    file: str
    kind: str
    description: str
    reads_label_maps: bool = False  # a pix2pix model whose input is a rendered label map

    @property
    def path(self) -> Path:
        return assets_models_dir() / self.file


BUNDLED = {
    m.name: m
    for m in (
        BundledModel(
            "default",
            "pix2pix-edges2shoes.safetensors",
            "image-to-image",
            "sketch -> shoe with colour hints (pix2pix, edges2shoes)",
        ),
        BundledModel(
            "default-live",
            "pix2pix-edges2shoes-live.safetensors",
            "image-to-image",
            "sketch -> shoe, fast: a student cut out of default (each live stroke's draft; the static Space's model)",
        ),
        BundledModel(
            "default-l1", "pix2pix-edges2shoes-l1.safetensors", "image-to-image", "L1-only pix2pix baseline"
        ),
        BundledModel("default-vae", "vae-fashion-mnist.safetensors", "latent", "VAE on Fashion-MNIST"),
        BundledModel("default-dcgan", "dcgan-fashion-mnist.safetensors", "latent", "DCGAN on Fashion-MNIST"),
        BundledModel(
            "default-facades-pix2pix",
            "pix2pix-facades.safetensors",
            "image-to-image",
            "facade label map -> photo (pix2pix, the comparison for pix2pixHD and SPADE)",
            reads_label_maps=True,
        ),
        BundledModel(
            "default-pix2pixhd",
            "pix2pixhd-facades.safetensors",
            "label-map",
            "facade label map -> photo (pix2pixHD)",
        ),
        BundledModel(
            "default-spade",
            "spade-facades.safetensors",
            "label-map",
            "facade label map + style -> photo (SPADE)",
        ),
        BundledModel(
            "default-cyclegan",
            "cyclegan-shoes2handbags.safetensors",
            "unpaired",
            "shoes <-> handbags without pairs (CycleGAN, 128 px)",
        ),
    )
}

# The FCN of the FCN-score (engine.fcn_score), trained on facades photos -> labels by the
# `segment` task. Listed once its file is bundled: until then `--fcn` names a run instead.
FCN_FACADES = BundledModel(
    "default-fcn-facades",
    "fcn-facades.safetensors",
    "segmentation",
    "facade photo -> label map (the FCN that scores generated facades)",
)
if FCN_FACADES.path.is_file():
    BUNDLED[FCN_FACADES.name] = FCN_FACADES


def bundled_models(kind: str | None = None) -> dict[str, BundledModel]:
    """The bundled models of a kind (all when None) whose files are installed."""
    return {n: m for n, m in BUNDLED.items() if (kind is None or m.kind == kind) and m.path.is_file()}


def resolve_model(model: str, home: str | None = None) -> Path:
    """A bundled name ('default', 'default-vae', ...), a checkpoint path, or a run id -> a file."""
    if model in BUNDLED:
        path = BUNDLED[model].path
        if not path.is_file():
            raise UserError(f"the bundled model {model!r} is missing at {path}")
        return path
    path = Path(model)
    if path.suffix in (".safetensors", ".pth") or path.is_file():
        if not path.is_file():
            raise UserError(f"no checkpoint at {path}")
        return path
    store = RunStore(home)
    store.get(model)  # a clear error for unknown runs
    found = store.latest_checkpoint(model)
    if found is None:
        raise UserError(f"run {model} has no checkpoint yet")
    return found


def best_checkpoint(run: str, home: str | None = None) -> Path:
    """The checkpoint of a run that scored best on held-out data (`train --eval-every`)."""
    store = RunStore(home)
    store.get(run)
    path = store.runs_dir / run / "checkpoints" / BEST_CHECKPOINT
    if not path.is_file():
        raise UserError(f"run {run} has no best checkpoint: train it with --eval-every N")
    return path
