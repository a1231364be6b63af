"""Paint a scene: draw a facade's label map and watch pix2pix, pix2pixHD and SPADE turn it into
a photo side by side (GauGAN-style).

Thin over the engine: `engine.data.label_maps` decodes and renders maps, `engine.inference`
runs the models (a pix2pix model reads the colour rendering, pix2pixHD and SPADE the classes).
"random map" takes a map from the facades test set when one is on the machine
(datasets/facades), else draws a random facade (`engine.data.facade_layouts`). Only the demo's
own models are loaded and only uploads are read; errors become messages, never tracebacks.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from engine.data.datasets import find_split, split_aligned
from engine.data.facade_layouts import random_facade
from engine.data.images import ImageLoadError, list_images, load_image
from engine.data.label_maps import FACADES, PHOTO_SHARE, Palette, off_palette_share, read_label_map
from engine.errors import UserError
from engine.inference.label_maps import LabelMapModel
from engine.inference.loader import load_model
from engine.inference.registry import available_models as models_of_kind
from engine.inference.registry import choose_model
from engine.runtime.inference_thread import inference
from engine.store.models import bundled_models
from studio.inputs import RawNumber, read_seed
from studio.scene_canvas import scene_canvas
from studio.uploads import CACHE_CLEANUP, MissingUpload, image_upload, limit_decoding, read_upload

KINDS = ("label-map", "image-to-image")
TEST_MAPS = Path("datasets") / "facades"
LIVE_MODELS = 3
EXAMPLES = Path(tempfile.gettempdir()) / "image-studio-scene-maps"
# measured by bench/spade_style.py on the bundled default-spade (README, "Paint a scene")
STYLE_NOTE = (
    "**About style:** the bundled `default-spade` barely uses its style code. Another style or a "
    "style photo changes the sky and fine texture (a mean 16-18 of 255 per pixel, where another map "
    "changes 23) but hardly the colours: style photos whose mean colours differ by 37 give renderings "
    "that differ by 0.5. A SPADE trained longer learns to use it."
)


def available_models() -> dict[str, str]:
    """Label -> model: the bundled pix2pix that reads facade label maps, the bundled label-map
    models (pix2pixHD, SPADE), then finished label-map runs."""
    readers = [n for n, m in bundled_models("image-to-image").items() if m.reads_label_maps]
    return {**{name: name for name in readers}, **models_of_kind("label-map")}


def example_maps(palette: Palette, folder: Path = EXAMPLES, count: int = 3) -> list[Path]:
    """A few drawn facades as colour renderings (written once), for the Upload tab's examples;
    none when the models use other classes."""
    if palette != FACADES:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"facade_map_{seed}.png" for seed in range(count)]
    for seed, path in enumerate(paths):
        if not path.is_file():
            palette.render(random_facade(np.random.default_rng(seed))).save(path)
    return paths


class SceneDemo:
    """The demo's functions, bound to its models and the test maps it may draw from. Models load
    and run on the server's inference thread (engine/runtime/inference_thread.py)."""

    def __init__(self, models: dict[str, str] | None = None, test_maps: Path | None = TEST_MAPS) -> None:
        self.models = models if models is not None else available_models()
        self.test_maps = test_maps
        self.live = list(self.models)[:LIVE_MODELS]  # labels, shown side by side on the canvas
        self.palette = self._palette()

    def _palette(self) -> Palette:
        for label in self.models:
            try:
                model = self._load(label)
            except (UserError, OSError):  # a broken model must not take the studio down
                continue
            if isinstance(model, LabelMapModel):
                return model.palette
        return FACADES  # pix2pix models on facades read its colours

    @inference
    def _load(self, label: str):
        return load_model(choose_model(self.models, label), KINDS)

    @inference
    def _run(self, label: str, labels: np.ndarray, style: Image.Image | None, seed: int) -> Image.Image:
        model = self._load(label)
        if isinstance(model, LabelMapModel):
            return model(Image.fromarray(labels, "L"), style if model.has_style else None, seed)
        return model(self.palette.render(labels))  # pix2pix: the colour rendering, as trained

    def paint(self, label_image: Image.Image, style: Image.Image | None, seed: int) -> tuple[list, str]:
        """(one photo per live model, message) for a painted map."""
        if not self.live:
            return [], "No scene models are installed: train one (pix2pixhd or spade) and reload."
        try:
            labels = read_label_map(label_image.convert("RGB"), self.palette)
            photos = [self._run(label, labels, style, seed) for label in self.live]
        except UserError as err:
            return [None] * len(self.live), f"Could not use that: {err}"
        how = "the style of your photo" if style is not None else f"random style #{seed}"
        return photos, f"SPADE models render {how}; pix2pix and pix2pixHD draw one photo per map."

    def random_map(self, seed: int) -> tuple[Image.Image | None, str]:
        """A facades test map (seeded pick) when the dataset is here, else a random facade."""
        files = self._test_files()
        if files:
            picked = random.Random(seed).choice(files)
            try:  # facades: B is the map
                half = split_aligned(load_image(picked), "BtoA", picked.name)[0]
            except ImageLoadError as err:
                return None, f"Could not read a test map: {err}"
            return self.palette.render(self.palette.decode(np.asarray(half))), f"test map {picked.name}"
        if self.palette != FACADES:
            return None, "Random maps are facades; these models use other classes."
        return self.palette.render(random_facade(np.random.default_rng(seed))), "a random facade"

    def _test_files(self) -> list[Path]:
        if self.test_maps is None or self.palette != FACADES:
            return []
        try:
            return list_images(find_split(self.test_maps, "test"))
        except UserError:
            return []

    def upload(self, path: str | None, model: str, style_path: str | None, seed: object) -> tuple:
        """An uploaded map (colour rendering or index PNG) -> (photo, message)."""
        try:
            number = read_seed(seed, "random style number")
            label_map = read_upload(
                path, "label map", (EXAMPLES,), mode=None
            )  # index PNGs keep their classes
            style = read_upload(style_path, "style", mode="RGB") if style_path else None
            far = off_palette_share(label_map, self.palette)
            if far > PHOTO_SHARE:
                return None, (
                    f"That looks like a photo, not a label map: {far:.0%} of its pixels are far from "
                    "every class colour. Upload a map painted in the palette (see the examples) or an index PNG."
                )
            labels = read_label_map(label_map, self.palette)
            return self._run(model, labels, style, number), ""
        except MissingUpload as hint:
            return None, str(hint)
        except UserError as err:
            return None, f"Could not use that: {err}"


def build_scene_demo(models: dict[str, str] | None = None, test_maps: Path | None = TEST_MAPS) -> gr.Blocks:
    demo_fns = SceneDemo(models, test_maps)
    choices = list(demo_fns.models)  # labels: the page never sees a server path
    limit_decoding()
    with gr.Blocks(title="Paint a scene", delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(
            "## Paint a scene\nPick a class, paint rectangles or strokes, fill regions: each model "
            "answers every stroke. pix2pix reads the colours; pix2pixHD and SPADE read the classes "
            "(SPADE re-injects them at every layer). A style photo or **another style** gives SPADE "
            "another style code."
        )
        if "default-spade" in demo_fns.models:
            gr.Markdown(STYLE_NOTE)
        with gr.Tabs():
            with gr.Tab("Paint (live)"):
                scene_canvas(demo_fns.palette, demo_fns.live, demo_fns.paint, demo_fns.random_map)
            with gr.Tab("Upload a map"):
                with gr.Row():
                    with gr.Column():
                        model = gr.Dropdown(choices, value=choices[0] if choices else None, label="Model")
                        upload = image_upload("Label map: colour rendering or index PNG")
                        maps = example_maps(demo_fns.palette)
                        if maps:
                            gr.Examples(
                                [str(p) for p in maps], inputs=upload, label="Example maps (drawn facades)"
                            )
                        style = image_upload("Style photo (SPADE with a style encoder)", sources=["upload"])
                        seed = RawNumber(0, precision=0, label="Random style number (SPADE)")
                    photo = gr.Image(label="Photo", type="pil", interactive=False, buttons=["download"])
                status = gr.Markdown()
        inputs = [upload, model, style, seed]
        gr.on(
            [upload.change, model.change, style.change, seed.change],
            demo_fns.upload,
            inputs,
            [photo, status],
            api_name="label_map_to_photo",
        )
    return demo
