"""Export a demo as a self-contained Hugging Face Space folder, and push it when online.

The folder holds README.md (the Space's YAML front matter), app.py, requirements.txt, the
model as fp16 safetensors, the example sketches and a copy of the `engine` and `studio`
packages it runs on, so it starts anywhere with `python app.py`. The app only loads its own
model file: the visitor picks no paths.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import gradio as gr

from engine.errors import UserError
from engine.inference.loader import export_model

ROOT = Path(__file__).resolve().parent.parent
DEMOS = {"sketch": ("Sketch to shoe", "Draw a shoe outline and get a photo (pix2pix, edges2shoes).")}
SPACE_REQUIREMENTS = ["torch>=2.4", "numpy", "pillow", "safetensors", "scikit-image", "scipy", "tqdm", "h5py"]
APP_TEMPLATE = '''"""{title}: a Hugging Face Space exported by Image Synthesis Studio."""

import os
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from studio.sketch import build_sketch_demo  # noqa: E402

MODEL = Path(__file__).resolve().parent / "model.safetensors"
demo = build_sketch_demo({{{label!r}: str(MODEL)}})

if __name__ == "__main__":
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
'''


def space_readme(title: str, description: str) -> str:
    return (
        "---\n"
        f"title: {title}\n"
        "emoji: 👟\n"
        "colorFrom: gray\n"
        "colorTo: indigo\n"
        "sdk: gradio\n"
        f"sdk_version: {gr.__version__}\n"
        "python_version: '3.11'\n"
        "app_file: app.py\n"
        f"short_description: {description[:60]}\n"
        "suggested_hardware: cpu-basic\n"
        "tags: [pix2pix, image-to-image, sketch]\n"
        "pinned: false\n"
        "---\n\n"
        f"# {title}\n\n{description}\n\nExported by Image Synthesis Studio.\n"
    )


def export_space(
    out_dir: str | Path, demo: str = "sketch", model: str = "default", home: str | None = None
) -> Path:
    """Write the Space folder; returns it. An existing non-empty folder is refused."""
    if demo not in DEMOS:
        raise UserError(f"unknown demo {demo!r}; choose one of {', '.join(DEMOS)}")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} is not empty; choose a new folder")
    title, description = DEMOS[demo]
    out.mkdir(parents=True, exist_ok=True)
    export_model(model, out / "model.safetensors", half=True, home=home)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "engine", out / "engine", ignore=ignore)
    (out / "studio").mkdir()
    for name in ("__init__.py", "sketch.py", "live_canvas.py"):
        shutil.copy2(ROOT / "studio" / name, out / "studio" / name)
    shutil.copytree(
        ROOT / "assets" / "examples",
        out / "assets" / "examples",
        ignore=shutil.ignore_patterns("*.py", "__pycache__"),
    )
    label = "default" if model.startswith("default") else Path(model).stem
    (out / "app.py").write_text(APP_TEMPLATE.format(title=title, label=label))
    (out / "requirements.txt").write_text(
        "\n".join([f"gradio=={gr.__version__}", *SPACE_REQUIREMENTS]) + "\n"
    )
    (out / "README.md").write_text(space_readme(title, description))
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
