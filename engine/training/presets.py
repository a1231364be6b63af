"""Named starting points for training, so the Train page and scripts share the same recipes.

`PRESETS[task][name]` holds task-config overrides (fields of the task's `Config`);
`SETTINGS_DEFAULTS` holds loop settings (fields of `TrainSettings`) that suit an interactive
run better than the CLI's defaults: the problem set trains with batch 4 and looks at samples
often. `SIZES` shrink any preset to what a machine can finish: "quick" is minutes on a CPU,
"full" is the preset as written (the Train page shows each one's estimated time).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.errors import UserError
from engine.flags import settable_fields
from engine.tasks import get_task
from engine.training.loop import TrainSettings

# pix2pix's loss study (its Table 1) on facades: every objective at one small CPU budget, the
# same sizes and widths; LOSS_STUDY_SETTINGS holds the loop settings they share (the same
# batch, seed and steps for every row). Scored by `eval --fcn-score` (engine.fcn_score).
LOSS_STUDY_MODES = {"L1": "l1", "GAN": "gan", "cGAN": "cgan", "L1+GAN": "l1+gan", "L1+cGAN": "l1+cgan"}
LOSS_STUDY = {"lambda_l1": 100.0, "load_size": 143, "crop_size": 128, "ngf": 32, "ndf": 32}
LOSS_STUDY_SETTINGS = {"batch_size": 1, "seed": 0, "max_steps": 800}

PRESETS: dict[str, dict[str, dict]] = {
    "pix2pix": {
        "problem set: L1 only": {"mode": "l1", "lambda_l1": 100.0},
        "problem set: L1 + cGAN, lambda 100": {"mode": "l1+cgan", "lambda_l1": 100.0},
        "lite (ngf 32)": {"mode": "l1+cgan", "lambda_l1": 100.0, "ngf": 32, "ndf": 32},
        **{
            f"loss study: {label} ({way})": {**LOSS_STUDY, "mode": mode, "direction": direction}
            for way, direction in (("labels → photo", "BtoA"), ("photo → labels", "AtoB"))
            for label, mode in LOSS_STUDY_MODES.items()
        },
    },
    "segment": {
        "FCN-score net for facades (ngf 32, 128 px as the loss study)": {
            "load_size": 143,
            "crop_size": 128,
            "ngf": 32,
        },
    },
    "cyclegan": {
        "edges → shoes without pairs (an aligned dataset's halves, 128 px)": {
            "unpaired": True,
            "load_size": 143,
            "crop_size": 128,
            "ngf": 32,
            "n_blocks": 6,
        },
        "shoes ↔ handbags (photo halves of edges2shoes and edges2handbags, 128 px)": {
            "half_a": "B",
            "half_b": "B",
            "load_size": 143,
            "crop_size": 128,
            "ngf": 32,
            "n_blocks": 6,
        },
        "paper: 256 px, 9 blocks, LSGAN": {},
    },
    "bicyclegan": {
        "looks from the bundled default (as trained here: L1 100, KL 0.1, GAN 0.1)": {
            "init_from": "default",
            "lr": 5e-5,
            "new_lr_factor": 4.0,
            "lambda_l1": 100.0,
            "lambda_kl": 0.1,
            "lambda_z": 0.5,
            "lambda_gan": 0.1,
            "lambda_ms": 0.5,
        },
        "paper: from scratch, ngf 64, L1 10, KL 0.01": {"ngf": 64, "ndf": 64, "nef": 64, "lambda_l1": 10.0},
    },
    "pix2pixhd": {
        "facades, reduced (as default-pix2pixhd: ngf 16, batch 1)": {"ngf": 16, "ndf": 32},
        "paper: ngf 64, 2 scales, FM and VGG 10": {},
    },
    "spade": {
        "facades, reduced (as default-spade: ngf 16, hidden 32, style code 64)": {
            "ngf": 16,
            "ndf": 32,
            "spade_hidden": 32,
            "z_dim": 64,
        },  # fmt: skip
        "paper: ngf 64, hidden 128, style encoder z 256": {"z_dim": 256},
    },
    "vae": {"problem set: VAE, latent 64": {"latent_dim": 64}},
    "dcgan": {
        "problem set: DCGAN, z 100": {"latent_dim": 100},
        "LSGAN": {"gan_mode": "lsgan"},
        "WGAN-GP": {"gan_mode": "wgan-gp"},
        "hinge + spectral norm": {"gan_mode": "hinge"},
        "class-conditional DCGAN": {"conditional": True},
    },
}

SETTINGS_DEFAULTS: dict = {
    "batch_size": 4,
    "max_steps": 20000,
    "sample_size": 5,
    "sample_every": 200,
    "checkpoint_every": 1000,
    "precision": "auto",
}

DEFAULTS_NAME = "task defaults"


def preset_names(task: str) -> list[str]:
    """The task's presets, then its plain defaults (every task has those)."""
    return [*PRESETS.get(task, {}), DEFAULTS_NAME]


def preset_config(task: str, preset: str) -> dict:
    """Every field of the task's Config a person sets: its default, overridden by the preset."""
    config_type = get_task(task).Config
    fields = settable_fields(config_type)  # list fields (a palette) come from the data
    values = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
    if preset == DEFAULTS_NAME:
        return values
    if preset not in PRESETS.get(task, {}):
        raise UserError(f"no preset {preset!r} for {task}; available: {', '.join(preset_names(task))}")
    return {**values, **PRESETS[task][preset]}


def answers_preset(
    task: str, preset: str, dataset: str, run_task: str, config: dict, overrides: dict | None = None
) -> bool:
    """True when a run (its task and stored config) trained this preset (+ overrides), whatever
    its name: every field but the sizes (SMALL_CAPS) and those read from the data (a palette) is
    the preset's, the overrides' or the task's default, on a dataset folder of that name. So
    runs trained by hand count, and a run that changed the method (another start, extra losses)
    does not."""
    if run_task != task:
        return False
    wanted = {**preset_config(task, preset), **(overrides or {})}
    chosen = {**dataclasses.asdict(get_task(task).Config()), **config.get("task_config", {})}
    data = str(config.get("settings", {}).get("data", ""))
    method = [k for k in wanted if k not in SMALL_CAPS]
    return Path(data).name == dataset and all(chosen.get(k) == wanted[k] for k in method)


def default_settings() -> dict:
    """Every TrainSettings field: the loop's defaults with SETTINGS_DEFAULTS on top."""
    return {**dataclasses.asdict(TrainSettings()), **SETTINGS_DEFAULTS}


@dataclass(frozen=True)
class Size:
    """How big a run is: caps on the task's size fields (only those its Config has; a cap never
    enlarges a preset) and TrainSettings over SETTINGS_DEFAULTS (the step budget)."""

    caps: dict
    settings: dict


SMALL_CAPS = {"load_size": 143, "crop_size": 128, "ngf": 32, "ndf": 32, "nef": 32, "n_blocks": 6}
QUICK, COURSE, FULL = "quick (CPU minutes)", "course (128 px, 1,500 steps)", "full (as the preset)"
SIZES: dict[str, Size] = {
    QUICK: Size(SMALL_CAPS, {"max_steps": 300, "sample_every": 50, "checkpoint_every": 100}),
    COURSE: Size(SMALL_CAPS, {"max_steps": 1500, "sample_every": 100, "checkpoint_every": 250}),
    FULL: Size({}, {}),
}
# a preset that starts from a checkpoint keeps them (a U-Net's depth follows its crop size)
ARCHITECTURE = ("ngf", "ndf", "nef", "n_blocks", "crop_size", "load_size")


def size_names() -> list[str]:
    return list(SIZES)


def default_size() -> str:
    """Quick where training runs on a CPU, the preset's own size on a GPU."""
    return FULL if torch.cuda.is_available() else QUICK


def sized_config(task: str, preset: str, size: str) -> dict:
    """The preset's config with the size's caps applied to the fields the task has."""
    config = preset_config(task, preset)
    fixed = ARCHITECTURE if config.get("init_from") else ()
    for name, cap in SIZES[size].caps.items():
        if isinstance(config.get(name), int) and name not in fixed:
            config[name] = min(config[name], cap)
    return config


def sized_settings(size: str) -> dict:
    """Every TrainSettings field for a run of this size."""
    return {**default_settings(), **SIZES[size].settings}
