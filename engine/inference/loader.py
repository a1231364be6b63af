"""One loader for every checkpoint: a name, file or run -> what its task's kind serves.

`resolve_model` finds the file (a bundled name, a path, or a run's latest checkpoint); the
checkpoint's own metadata names its task; the task builds the networks inference needs
(`Task.build_served`); the weights go in; the server of the task's kind wraps them, as
`engine.inference.kinds.KINDS` declares (a `Predictor` for image-to-image, ...). `resolve_model` (engine.store.models)
is re-exported here for callers that only want the file. Asking for one kind and getting
another is a clear error naming the file and both kinds. Official pix2pix `.pth` generators
load as image-to-image models. `find_model` adds hub folders and Hub ids (engine.hub).
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from engine.errors import UserError
from engine.inference.kinds import Loaded, image_translating_kinds, kind_of
from engine.inference.model_files import load_networks, task_and_config
from engine.inference.predictor import Predictor
from engine.runtime.device import pick_device
from engine.store.checkpoints import BEST_CHECKPOINT, list_checkpoints, read_weights, save_weights
from engine.store.models import best_checkpoint, resolve_model
from engine.store.runs import default_home
from engine.tasks import get_task
from engine.training.held_out import norm_as_trained


def load_model(
    model: str = "default",
    kind: str | tuple[str, ...] | None = None,
    home: str | None = None,
    device: str = "auto",
    precision: str = "auto",
    direction: str = "AtoB",
):
    """What the model's task serves, in eval mode; `kind` refuses models of other kinds.
    `direction` picks the generator of a two-way (unpaired) model."""
    path = find_model(model, home)
    kinds = (kind,) if isinstance(kind, str) else kind
    return _load_cached(str(path), path.stat().st_mtime, kinds, device, precision, direction)


def find_model(model: str, home: str | None = None) -> Path:
    """The file behind every `--model`: a hub-layout folder or a Hub id (`user/name`,
    `hf://user/name`, through the Hub's cache: engine.hub), else a bundled name, a checkpoint
    file or a run (`resolve_model`)."""
    from engine.hub import hub_model_file

    return hub_model_file(model) or resolve_model(model, home)


def load_predictor(
    model: str = "default",
    home: str | None = None,
    device: str = "auto",
    precision: str = "auto",
    direction: str = "AtoB",
):
    """A model that translates images one way: pix2pix, an official pix2pix or CycleGAN
    generator, or one direction (`AtoB`: G_A, `BtoA`: G_B) of a CycleGAN run."""
    return load_model(model, image_translating_kinds(), home, device, precision, direction)


def load_label_model(model: str, home: str | None = None, device: str = "auto"):
    """A label-map model (pix2pixHD, SPADE): label map (+ style) -> photo."""
    return load_model(model, "label-map", home, device)


def load_latent_model(model: str = "default-vae", home: str | None = None, device: str = "auto"):
    """A latent model (autoencoder, VAE, DCGAN)."""
    return load_model(model, "latent", home, device)


@functools.lru_cache(maxsize=6)
def _load_cached(path: str, mtime: float, kinds: tuple | None, device: str, precision: str, direction: str):
    dev = pick_device(device)
    if path.endswith(".pth"):
        if kinds is not None and "image-to-image" not in kinds:
            raise UserError(
                f"{path} is an official generator (image-to-image), not a {' or '.join(kinds)} model"
            )
        from engine.models.official import load_official_generator

        net, size = load_official_generator(path)
        norm_as_trained("image-to-image", [net], None)  # official runs train at batch size 1
        return Predictor(net, {"task": "pix2pix", "config": {"crop_size": size}}, path, dev, precision)
    nets, meta = read_weights(path)
    task, config = task_and_config(path, meta)
    if kinds is not None and task.kind not in kinds:
        raise UserError(
            f"{path} holds a {task.name} model ({task.kind}); this takes {', '.join(kinds)} models"
        )
    served = networks_with_weights(task, config, nets, path)
    norm_as_trained(task.kind, served.values(), meta.get("settings", {}).get("batch_size", 0))
    return kind_of(task.kind).serve(Loaded(task, served, meta, path, dev, precision, direction))


def networks_with_weights(task, config, nets: dict, path: str) -> dict[str, torch.nn.Module]:
    """The networks the task serves, holding the file's tensors: built once, on the meta device
    (sized there first), and given the tensors as they are, without a CPU build whose random
    init the weights would overwrite. Rebuilt on the CPU where a tensor the file does not hold
    (a constant buffer) would stay on meta."""
    served = check_model_size(config, task, path)
    load_networks(served, nets, path)
    if any(t.is_meta for net in served.values() for t in (*net.parameters(), *net.buffers())):
        served = task.build_served(config)
        load_networks(served, nets, path)
    return served


MAX_SIDE = 4096  # image sizes a checkpoint's config may ask for
MAX_PARAMETERS = 2_000_000_000


def check_model_size(config, task, path: str) -> dict[str, torch.nn.Module]:
    """A checkpoint's config must not make the loader allocate absurd memory: sizes are capped
    and the networks are first built on the meta device (no memory) to count parameters.
    -> those networks, on meta, for `load_networks` to take the file's tensors as their own."""
    for key in ("crop_size", "load_size", "image_size"):
        value = getattr(config, key, None)
        if isinstance(value, int) and not 0 < value <= MAX_SIDE:
            raise UserError(f"{path}: {key} {value} is outside 1..{MAX_SIDE}; not loading it")
    with torch.device("meta"), _NoRandomFill():
        served = task.build_served(config)
    count = sum(p.numel() for net in served.values() for p in net.parameters())
    if count > MAX_PARAMETERS:
        raise UserError(f"{path}: its config asks for {count:,} parameters; not loading it")
    return served


class _NoRandomFill(torch.overrides.TorchFunctionMode):
    """Weight init skipped on the meta device, where it fills nothing: meta `normal_` (and the
    vector norm of spectral norm's start) run Python decompositions that import torch._dynamo,
    about 1.7 s of a one-shot command. Covers `torch.nn.init.*normal_/*uniform_/orthogonal_`,
    the tensor methods and `F.normalize`: each returns a tensor of its input's shape."""

    RANDOM_FILLS = ("normal_", "uniform_", "orthogonal_", "normalize")

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        target = args[0] if args else kwargs.get("tensor")  # torch.nn.init passes it by name
        if getattr(func, "__name__", "").endswith(self.RANDOM_FILLS) and getattr(target, "is_meta", False):
            return target
        return func(*args, **kwargs)


def export_model(
    model: str,
    out: str | Path,
    half: bool = True,
    home: str | None = None,
    best: bool = False,
    overwrite: bool = False,
) -> Path:
    """A small deployable file: the inference networks only (fp16 by default) with the config.
    `best`: the run's checkpoint with the lowest held-out KID instead of its latest. Never
    written over its source or a run's checkpoints; over another existing file only with
    `overwrite`. Written beside its place and renamed: an interrupted export leaves no half file."""
    source = best_checkpoint(model, home) if best else find_model(model, home)
    out = Path(out)
    refuse_export_target(out, source, home, overwrite)
    nets, meta = read_weights(source)
    keep = {name: nets[name] for name in get_task(meta["task"]).inference_networks if name in nets}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    save_weights(tmp, keep, {**meta, "exported_from": str(model)}, torch.float16 if half else None)
    tmp.replace(out)
    return out


def refuse_export_target(out: Path, source: Path, home: str | None, overwrite: bool) -> None:
    """An inference-only export in a run's checkpoints folder could become the run's latest
    checkpoint, which `train --resume` then cannot continue from: refused, as is its source."""
    from engine.outputs import refuse_overwriting_inputs

    refuse_overwriting_inputs(out, [source])
    folder = out.resolve().parent
    runs = ((Path(home) if home else default_home()) / "runs").resolve()
    in_a_run = folder.name == "checkpoints" and folder.parent.parent == runs
    if in_a_run or list_checkpoints(folder) or (folder / BEST_CHECKPOINT).exists():
        raise UserError(f"refusing to write {out}: {folder} holds a run's checkpoints; export elsewhere")
    if out.exists() and not overwrite:
        raise UserError(f"{out} exists; choose a new file, or give --overwrite to replace it")
