"""The course's problems as data: what each asks, the preset runs that answer it, and which
views show the answer. The Problems page draws every card from this list alone, so a new card
is an entry here, not code. Course content, not training code: it names Streamlit pages, so it
lives beside them (a helper module, not a page: app.py lists the pages).

Runs are small enough for a 2-core CPU (128 px, ngf 32, a few thousand steps at most) and are
found again in the run store by their name, `problem <key>: <label>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.errors import UserError
from engine.loss_study import FCN_PRESET, WAYS, preset_name
from engine.store.findings import Budget, planned_budget
from engine.training.presets import (
    DEFAULTS_NAME,
    LOSS_STUDY_MODES,
    LOSS_STUDY_SETTINGS,
    answers_preset,
    default_settings,
    preset_config,
)

VIEWS = ("losses", "evals", "samples", "interpolations", "receptive_field", "prior_curve", "loss_study")
SMALL_PIX2PIX = {"load_size": 143, "crop_size": 128, "ngf": 32, "ndf": 32}
LATENT_SETTINGS = {
    "max_steps": 2000,
    "batch_size": 64,
    "sample_every": 250,
    "checkpoint_every": 500,
}  # as the bundled
SMALL_SETTINGS = {
    "batch_size": 4,
    "sample_every": 100,
    "checkpoint_every": 250,
    "eval_every": 250,
    "eval_size": 50,
}


@dataclass(frozen=True)
class PresetRun:
    """One run of a problem: a task preset plus overrides, on a named dataset."""

    label: str
    task: str
    preset: str = DEFAULTS_NAME
    dataset: str = ""  # a folder name under the dataset roots, or a named dataset (fashion-mnist)
    overrides: dict = field(default_factory=dict)  # task-config fields over the preset: what the run tests
    reduced: dict = field(default_factory=dict)  # task-config fields that only shrink it for a CPU
    settings: dict = field(default_factory=dict)  # TrainSettings fields over the page defaults


@dataclass(frozen=True)
class Link:
    page: str  # a Streamlit page file, e.g. "pages/learn.py"
    label: str


@dataclass(frozen=True)
class Problem:
    key: str
    title: str
    asks: str  # the question, as the problem set puts it
    answer: str  # what to look for; with runs: what the paper expects (the page adds what they show)
    runs: tuple[PresetRun, ...] = ()
    views: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    commands: tuple[str, ...] = ()  # the same from the command line (besides the runs' own)
    trends: tuple[str, ...] = ()  # losses whose start and end the answer reports


def pix2pix_run(label: str, preset: str, dataset: str, steps: int, **overrides) -> PresetRun:
    settings = {**SMALL_SETTINGS, "max_steps": steps}
    return PresetRun(label, "pix2pix", preset, dataset, overrides, SMALL_PIX2PIX, settings)


L1, CGAN = "problem set: L1 only", "problem set: L1 + cGAN, lambda 100"
STUDY_SAMPLES = {"sample_every": 100, "checkpoint_every": 250}
# the FCN first: the labels -> photo rows are scored by it
LOSS_STUDY_RUNS = (
    PresetRun(
        "FCN (segments the photos)",
        "segment",
        FCN_PRESET,
        "facades",
        settings={**STUDY_SAMPLES, "max_steps": 1500, "batch_size": 4, "seed": 0},
    ),
    *(
        PresetRun(f"{label} ({way})", "pix2pix", preset_name(label, way), "facades",
                  settings={**STUDY_SAMPLES, **LOSS_STUDY_SETTINGS})
        for way in WAYS
        for label in LOSS_STUDY_MODES
    ),
)  # fmt: skip
LEARN, STYLE_LAB, COMPARE = "pages/learn.py", "pages/style_lab.py", "pages/compare.py"

PROBLEMS: tuple[Problem, ...] = (
    Problem(
        "pix2pix-objective",
        "pix2pix: L1 alone against L1 + cGAN",
        "Train the generator with the L1 loss alone, then with L1 + the conditional GAN loss "
        "(lambda = 100). How do the losses behave, and how do the pictures differ?",
        "The pix2pix paper (Isola et al., 2017) expects L1 alone to reach the lower L1 with blurry, "
        "brownish mean shoes, and the cGAN term to trade a little L1 for sharp edges and real "
        "colours, which makes the pictures more realistic (a lower FID/KID). It expects D's loss to "
        "stay roughly level rather than fall towards 0, as the two players balance; a D that falls "
        "is winning and G's adversarial signal fades. Runs this short may not show that yet.",
        (
            pix2pix_run("L1 only", L1, "edges2shoes", 1500),
            pix2pix_run("L1 + cGAN", CGAN, "edges2shoes", 1500),
        ),
        ("losses", "evals", "samples"),
        (
            Link(COMPARE, "Compare the bundled L1 and L1 + cGAN models"),
            Link(LEARN, "Learn › pix2pix objective"),
        ),
        trends=("G_L1", "D"),
    ),
    Problem(
        "pix2pix-loss-study",
        "pix2pix's loss study (Table 1) on facades, with an FCN-score",
        "Train the generator with each objective of the pix2pix paper's Table 1 (L1, GAN, cGAN, "
        "L1 + GAN, L1 + cGAN), labels → photo and photo → labels, and score each by how well a "
        "segmentation net (the FCN) recovers the labels from the generated photo (per-pixel "
        "accuracy, per-class accuracy, class IoU). Do the objectives rank as in the paper?",
        "The paper (Isola et al., 2017, Cityscapes at 256 px, an FCN-8s) ranks labels → photo "
        "L1 + cGAN (0.66 per-pixel) ≥ L1 + GAN (0.64) > cGAN (0.57) > L1 (0.42) > GAN (0.22), with the "
        "real photos at 0.80. The unconditional GAN collapses: it ignores its input and paints "
        "look-alike photos, so the labels cannot be recovered. L1 alone is blurry: the FCN finds "
        "few edges of small classes. Photo → labels it finds L1 best (0.86) and the cGAN's "
        "labels more hallucinated (0.74). Here the figures may differ: facades has 400 training "
        "photos and 12 classes (Cityscapes 2,975 and 19), the runs are 128 px and 800 steps of "
        "batch 1 (2 epochs; the paper trained 200), and the FCN is a small U-Net trained on the "
        "same 400 photos, so absolute figures are not comparable; the ordering is what to compare.",
        LOSS_STUDY_RUNS,
        ("loss_study",),
        (Link(LEARN, "Learn › pix2pix objective"),),
        commands=(
            "# score: each labels → photo run and the real photos through the FCN run, photo → labels by colour",
            "python -m engine eval RUN --data FACADES --split test --direction BtoA --fcn-score --fcn FCN_RUN",
            "python -m engine eval --data FACADES --split test --fcn-score --ground-truth --fcn FCN_RUN",
            "python -m engine eval RUN --data FACADES --split test --direction AtoB --fcn-score",
            "# or all finished runs lacking figures at once, then the table and its reading:",
            "python -m engine loss-study --score FACADES",
        ),
    ),
    Problem(
        "patchgan-rf",
        "PatchGAN: the receptive field of each layer",
        "What patch of the input does one output of the 70x70 PatchGAN see after each layer?",
        "Each 4x4 convolution widens the patch by 3 times the current stride product: 4, 10, 22, "
        "46, 70. The output map of a 256 px input is 30x30 patches.",
        views=("receptive_field",),
        links=(Link(LEARN, "Learn › PatchGAN receptive field (any depth and size)"),),
        commands=("python -m engine receptive-field --n-layers 3",),
    ),
    Problem(
        "cufs-skips",
        "Faces ↔ sketches (CUFS): L1 only, full pix2pix, and no skips",
        "On CUHK's face photos and sketches (88 training pairs, 100 test pairs), compare a "
        "generator trained with L1 alone, the full pix2pix (L1 + cGAN), and the same U-Net without "
        "its skip connections, by L1, SSIM and FID on the test split.",
        "The paper expects the U-Net without skips to do worst: everything must pass the 1x1 "
        "bottleneck, giving one blocky, generic face for everyone. L1 alone keeps each face's layout "
        "with smooth, pale strokes; the cGAN adds pencil texture and hair strands, though after a "
        "short run on 88 pairs also noise, which may cost it L1, SSIM and FID (resume the runs to "
        "watch whether it catches up).",
        (
            pix2pix_run("L1 only", L1, "cufs", 1500),
            pix2pix_run("pix2pix (L1 + cGAN)", CGAN, "cufs", 1500),
            pix2pix_run("U-Net without skips", CGAN, "cufs", 1500, skips=False),
        ),
        ("evals", "samples", "losses"),
    ),
    Problem(
        "fashion-latent",
        "Autoencoder → VAE → DCGAN → a GAN variant (Fashion-MNIST)",
        "Train an autoencoder, a VAE, a DCGAN and a GAN variant on Fashion-MNIST. Which can sample "
        "new clothes, and what do their latent spaces look like between two points?",
        "The textbook expects the autoencoder to reconstruct while its random codes decode to "
        "smudges; the VAE to sample blurry but plausible clothes and interpolate smoothly; the "
        "DCGAN's samples to be sharper and its losses to oscillate; WGAN-GP's critic loss to track "
        "sample quality.",
        (
            PresetRun("autoencoder", "autoencoder", dataset="fashion-mnist", settings=LATENT_SETTINGS),
            PresetRun("VAE", "vae", "problem set: VAE, latent 64", "fashion-mnist", settings=LATENT_SETTINGS),
            PresetRun(
                "DCGAN", "dcgan", "problem set: DCGAN, z 100", "fashion-mnist", settings=LATENT_SETTINGS
            ),
            PresetRun("WGAN-GP", "dcgan", "WGAN-GP", "fashion-mnist", settings=LATENT_SETTINGS),
        ),
        ("samples", "interpolations", "losses"),
        commands=("python -m engine interpolate --model default-vae 1 2 walk.gif --frames 8",),
        trends=("D",),
    ),
    Problem(
        "gatys-sweeps",
        "Gatys style transfer: content layer, style weight, smoothness",
        "How does the picture change with the content layer, the style weight and the "
        "total-variation weight?",
        "Shallow content layers keep the photo's pixels, deep ones only its layout; a larger style "
        "weight paints over more of the content; the TV weight flattens brush texture into blur.",
        links=(Link(STYLE_LAB, "Style lab: run the three sweeps side by side"),),
        commands=("python -m engine stylize CONTENT STYLE OUT --content-layer relu2_2 --tv-weight 100",),
    ),
    Problem(
        "cyclegan",
        "CycleGAN: translation without pairs",
        "Train edges → shoes from unpaired halves. What keeps the translation tied to its input "
        "when no pairs say what the output should be?",
        "The CycleGAN paper expects the cycle loss to do it: A → B → A must give A back. Without it "
        "the generator may draw any shoe; with it the shoe keeps the outline it came from.",
        (
            PresetRun(
                "edges → shoes, unpaired",
                "cyclegan",
                "edges → shoes without pairs (an aligned dataset's halves, 128 px)",
                "edges2shoes",
                settings={"max_steps": 3000, "batch_size": 1, "sample_every": 100, "checkpoint_every": 250},
            ),
        ),
        ("losses", "samples"),
        (Link(LEARN, "Learn › Cycle consistency"),),
    ),  # fmt: skip
    Problem(
        "label-maps",
        "pix2pixHD and SPADE: pictures from label maps",
        "Train pix2pixHD and SPADE on facades' label maps. Why does SPADE keep the layout better "
        "than a generator that normalises its input away?",
        "The SPADE paper (Park et al., 2019) expects it: normalisation washes out a flat label map, "
        "and SPADE re-injects the map at every layer as a learned scale and shift, so windows stay "
        "where they were painted (a lower FID than pix2pixHD in the paper).",
        (
            PresetRun(
                "pix2pixHD",
                "pix2pixhd",
                "facades, reduced (as default-pix2pixhd: ngf 16, batch 1)",
                "facades",
                settings={"max_steps": 2000, "batch_size": 1, "eval_every": 500, "eval_size": 50},
            ),
            PresetRun(
                "SPADE",
                "spade",
                "facades, reduced (as default-spade: ngf 16, hidden 32, style code 64)",
                "facades",
                settings={"max_steps": 2000, "batch_size": 1, "eval_every": 500, "eval_size": 50},
            ),
        ),
        ("evals", "samples", "losses"),
        (Link(LEARN, "Learn › SPADE normalisation"),),
    ),  # fmt: skip
    Problem(
        "deep-image-prior",
        "Deep image prior: the picture before the noise",
        "Fit a randomly initialised network to one noisy photo from a fixed random code. Why does "
        "stopping early denoise it?",
        "The PSNR against the clean photo rises well above the noisy input's, peaks, then falls as "
        "the network starts to draw the noise too: its structure fits natural images first.",
        views=("prior_curve",),
        commands=("python -m engine prior denoise PHOTO OUT --simulate --steps 1500 --log curve.csv",),
    ),
)


def problem(key: str) -> Problem:
    for item in PROBLEMS:
        if item.key == key:
            return item
    raise UserError(f"no problem {key!r}; there are {', '.join(p.key for p in PROBLEMS)}")


def run_name(item: Problem, run: PresetRun) -> str:
    """The run-store name a problem's run is launched under and found again by."""
    return f"problem {item.key}: {run.label}"


def answers(run: PresetRun, task: str, config: dict) -> bool:
    """True when a run (its task and stored config) is this preset run, whatever its name
    (engine.training.presets.answers_preset: runs trained by hand count too)."""
    return answers_preset(run.task, run.preset, run.dataset, task, config, run.overrides)


def planned(item: Problem, run: PresetRun) -> Budget:
    """The budget the card gives this run (what its Launch button asks for)."""
    return planned_budget(*launch_arguments(item, run, ""))


def launch_arguments(item: Problem, run: PresetRun, data: str) -> tuple[dict, dict]:
    """(TrainSettings values, task-config values) for `start_training`."""
    settings = {**default_settings(), **run.settings, "data": data, "name": run_name(item, run)}
    return settings, {**preset_config(run.task, run.preset), **run.reduced, **run.overrides}
