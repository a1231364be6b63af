"""Sketch -> shoe: draw on a white canvas and watch the pix2pix generator answer.

Thin over the engine: `engine.pipelines.sketch.SketchPipeline` takes every input mode of this tab
(live canvas + its hint layer, the editor's coloured strokes, an uploaded sketch or photo + an
optional hint image) the same way `translate --sketch/--photo` does. Only models from the demo's
own list are ever loaded (a shared Space must not let a visitor name a file on the server), and
errors become messages, never tracebacks.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
from PIL import Image

from engine.data.images import ImageLoadError
from engine.data.sketch import EmptySketchError
from engine.errors import UserError
from engine.inference.registry import available_models as models_of_kind
from engine.inference.registry import choose_model
from engine.pipelines.sketch import Look, SketchAnswer, SketchPipeline
from studio.live_canvas import live_canvas
from studio.uploads import CACHE_CLEANUP, MAX_SIDE, image_upload, limit_decoding, read_upload

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("sketch_*.png"))
UPLOAD_KINDS = {"edge map or sketch": "drawing", "photo (edges are extracted)": "photo"}
# black draws lines; any of the colours paints a colour hint (models trained with hints)
BRUSH_COLOURS = ["#000000", "#b03a2e", "#e67e22", "#f1c40f", "#27ae60", "#1f618d", "#8e44ad", "#6e4b2a"]
# the editor opens with no tool selected; a sketchpad should be ready to draw
SELECT_BRUSH = "() => setTimeout(() => document.querySelector('button[aria-label=\"Brush\"]')?.click(), 500)"
Shown = tuple[Image.Image | None, Image.Image | None, str]  # what the model saw, the photo, a note


def available_models() -> dict[str, str]:
    """Label -> model: installed bundled image-to-image models, then finished runs of that kind."""
    return models_of_kind("image-to-image")


def editor_image(value: dict | Image.Image | None) -> Image.Image | None:
    """The drawing from a Sketchpad value ({background, layers, composite}), size-checked."""
    img = value.get("composite") if isinstance(value, dict) else value
    if img is not None and max(img.size) > MAX_SIDE:
        raise ImageLoadError(
            f"the image is too large ({img.width}x{img.height}); the limit is {MAX_SIDE} px a side"
        )
    return img


def shown(answer: SketchAnswer) -> Shown:
    return answer.shown, answer.photo, answer.note


class SketchDemo:
    """The demo's functions, bound to the models it may load and the folders besides Gradio's
    uploads it may read (its examples)."""

    def __init__(
        self, models: dict[str, str] | None = None, roots: tuple[Path, ...] = (EXAMPLES_DIR,)
    ) -> None:
        self.models = models if models is not None else available_models()
        self.roots = roots

    def pipeline(self, model: str) -> SketchPipeline:
        return SketchPipeline.load(choose_model(self.models, model))

    def from_sketch(
        self, value, model: str, hints: Image.Image | None = None, look: Look | None = None
    ) -> Shown:
        """(what the model sees, generated photo, status message) for a canvas drawing. Colour
        comes as a separate RGBA layer (`hints`, the live canvas) or as coloured strokes in the
        drawing itself (the editor's palette); `look` picks one of a multimodal model's shoes."""
        try:
            drawing = editor_image(value)
            if drawing is None:
                return None, None, "Draw a shoe outline to begin."
            return shown(self.pipeline(model)(drawing, hints, look=look))
        except EmptySketchError:
            return None, None, "The canvas is empty: draw a shoe outline."
        except UserError as err:
            return None, None, f"Could not use that: {err}"

    def is_multimodal(self, model: str) -> bool:
        """Whether `model` answers with several looks (False for none or one it cannot load)."""
        try:
            return bool(model) and self.pipeline(model).multimodal
        except UserError:
            return False

    def looks_of(self, drawing: Image.Image, model: str, hints: Image.Image | None, seeds: list[int]) -> list:
        """The drawing in one look per seed (the live canvas's row); [] for an empty canvas."""
        try:
            pipeline = self.pipeline(model)
            return pipeline.looks(pipeline.prepare(drawing, hints), seeds)
        except UserError:
            return []

    def from_upload(self, path: str | None, kind: str, model: str, hints_path: str | None = None) -> Shown:
        """An uploaded edge map, sketch or photo (+ an optional RGBA hint image) ->
        (what the model sees, photo, message)."""
        try:
            if not path:
                return None, None, "Upload an image or pick an example."
            if kind not in UPLOAD_KINDS:
                raise UserError(f"choose one of {', '.join(UPLOAD_KINDS)}")
            img = read_upload(path, "uploaded", self.roots)
            hints = read_upload(hints_path, "hint", self.roots, None) if hints_path else None
            return shown(self.pipeline(model)(img, hints, UPLOAD_KINDS[kind]))
        except EmptySketchError:
            return None, None, "No lines found in that image."
        except UserError as err:
            return None, None, f"Could not use that: {err}"


def build_sketch_demo(models: dict[str, str] | None = None) -> gr.Blocks:
    demo_fns = SketchDemo(models)
    choices = list(demo_fns.models)  # labels: the page never sees a server path
    limit_decoding()
    with gr.Blocks(title="Sketch to shoe", delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(
            "## Sketch → shoe\nDraw a shoe from the side with black lines (toe to the right); "
            "coloured strokes are colour hints."
        )
        with gr.Tabs():
            with gr.Tab("Draw (live)"):
                live_model = next(iter(demo_fns.models.items()), ("none", ""))
                multimodal = demo_fns.is_multimodal(live_model[1])
                gr.Markdown(
                    f"The shoe answers each stroke at once. Model: **{live_model[0]}**. "
                    "Pick **colour** and paint a few dabs to say what colour the shoe is."
                    + (
                        " Click a look under the shoe to keep it, or give a photo whose look to take."
                        if multimodal
                        else ""
                    )
                )
                live_canvas(
                    lambda img, hints, look: demo_fns.from_sketch(img, live_model[1], hints, look),
                    (lambda img, hints, seeds: demo_fns.looks_of(img, live_model[1], hints, seeds))
                    if multimodal
                    else None,
                )
            with gr.Tab("Editor, upload, other models") as editor_tab:
                model = gr.Dropdown(choices, value=choices[0] if choices else None, label="Model")
                with gr.Row():
                    with gr.Tabs():
                        with gr.Tab("Draw") as draw_tab:
                            pad = gr.Sketchpad(
                                label="Your sketch",
                                type="pil",
                                image_mode="RGBA",
                                canvas_size=(512, 512),
                                brush=gr.Brush(default_size=4, colors=BRUSH_COLOURS, color_mode="defaults"),
                                eraser=gr.Eraser(default_size=16),
                                layers=False,
                                transforms=(),
                                height=560,
                            )
                        with gr.Tab("Upload"):
                            upload = image_upload("Edge map, sketch or photo")
                            kind = gr.Radio(
                                list(UPLOAD_KINDS), value=next(iter(UPLOAD_KINDS)), label="The upload is"
                            )
                            hint_upload = image_upload(
                                "Colour hints (optional): RGBA, transparent = no hint", sources=["upload"]
                            )
                            go = gr.Button("Make the shoe", variant="primary")
                            if EXAMPLES:  # picking one changes `upload`, which runs the model
                                gr.Examples(
                                    [str(p) for p in EXAMPLES], inputs=upload, label="Example sketches"
                                )
                    with gr.Column():
                        edges = gr.Image(
                            label="What the model sees", type="pil", interactive=False, elem_id="edges"
                        )
                        photo = gr.Image(
                            label="Shoe", type="pil", interactive=False, buttons=["download"], elem_id="shoe"
                        )
                        status = gr.Markdown(elem_id="sketch-status")
        outputs = [edges, photo, status]
        pad.change(
            demo_fns.from_sketch,
            [pad, model],
            outputs,
            trigger_mode="always_last",
            api_name="sketch_to_photo",
            show_progress="hidden",
        )
        model.change(demo_fns.from_sketch, [pad, model], outputs, api_visibility="private")
        upload_inputs = [upload, kind, model, hint_upload]
        go.click(demo_fns.from_upload, upload_inputs, outputs, api_name="upload_to_photo")
        for change in (upload.change, hint_upload.change, kind.change):  # examples and clearing too
            change(demo_fns.from_upload, upload_inputs, outputs, api_visibility="private")
        demo.load(None, js=SELECT_BRUSH)
        for tab in (editor_tab, draw_tab):  # tab contents may only exist once shown
            tab.select(None, js=SELECT_BRUSH)
    return demo
