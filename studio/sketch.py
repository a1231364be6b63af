"""Sketch -> shoe: draw on a white canvas and watch the pix2pix generator answer.

Thin over the engine: `engine.pipelines.sketch.SketchPipeline` takes every input mode of this tab
(live canvas + its hint layer, a Sketchpad drawing with coloured strokes sent to the API, an
uploaded sketch or photo + an optional hint image) the same way `translate --sketch/--photo`
does. Drawing happens on the live canvas only (Gradio's ImageEditor took 3-6 s a stroke); its
model picker and the Upload tab offer only models trained on drawings. Only models from the demo's
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
from engine.pipelines.drawing_models import drawing_models, fast_companion
from engine.pipelines.sketch import Look, SketchAnswer, SketchPipeline
from engine.runtime.inference_thread import inference
from studio.live_canvas import DAB_ONLY, live_canvas
from studio.uploads import (
    CACHE_CLEANUP,
    MAX_SIDE,
    DrawingPad,
    ScratchFolder,
    image_upload,
    limit_decoding,
    read_upload,
)

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("sketch_*.png"))
UPLOAD_KINDS = {"edge map or sketch": "drawing", "photo (edges are extracted)": "photo"}
# a Sketchpad drawing sent to the API: black draws lines; these colours paint colour hints
BRUSH_COLOURS = ["#000000", "#b03a2e", "#e67e22", "#f1c40f", "#27ae60", "#1f618d", "#8e44ad", "#6e4b2a"]
DOWNLOAD_NAME = "shoe.png"  # the live canvas's link and the Upload tab's button save the same file
Shown = tuple[Image.Image | None, Image.Image | None, str]  # what the model saw, the photo, a note


def available_models() -> dict[str, str]:
    """Label -> model: installed bundled image-to-image models, then finished runs of that kind,
    those trained on drawings only (a facades model answers a shoe outline with a wall)."""
    return drawing_models(models_of_kind("image-to-image"))


def bundled_drafts(models: dict[str, str]) -> dict[str, str]:
    """Model -> the installed student that drafts its strokes (engine/pipelines/drawing_models.py)."""
    return {model: draft for model in models.values() if (draft := fast_companion(model))}


def editor_image(value: dict | Image.Image | ImageLoadError | None) -> Image.Image | None:
    """The drawing from a Sketchpad value ({background, layers, composite}), size-checked."""
    if isinstance(value, ImageLoadError):  # what DrawingPad could not read, and why
        raise value
    img = value.get("composite") if isinstance(value, dict) else value
    if img is not None and max(img.size) > MAX_SIDE:
        raise ImageLoadError(
            f"the image is too large ({img.width}x{img.height}); the limit is {MAX_SIDE} px a side"
        )
    return img


def shown(answer: SketchAnswer) -> Shown:
    return answer.shown, answer.photo, answer.note


def has_colour(hints: Image.Image | None) -> bool:
    """Whether a hint layer holds any paint (an opaque pixel)."""
    return hints is not None and hints.mode == "RGBA" and hints.getchannel("A").getbbox() is not None


class SketchDemo:
    """The demo's functions, bound to the models it may load and the folders besides Gradio's
    uploads it may read (its examples). Those that run a model run on the server's inference
    thread (engine/runtime/inference_thread.py), loading included."""

    def __init__(
        self,
        models: dict[str, str] | None = None,
        roots: tuple[Path, ...] = (EXAMPLES_DIR,),
        drafts: dict[str, str] | None = None,
    ) -> None:
        self.models = models if models is not None else available_models()
        self.drafts = drafts if drafts is not None else bundled_drafts(self.models)
        self.roots = roots
        self.shoes = ScratchFolder(keep=32)

    def pipeline(self, model: str, draft: bool = False) -> SketchPipeline:
        """The pipeline of `model` (a label or model of the demo's list); with `draft`, of the
        student that drafts its strokes where it has one (`drafts`: model -> student)."""
        chosen = choose_model(self.models, model)
        return SketchPipeline.load(self.drafts.get(chosen, chosen) if draft else chosen)

    @inference
    def from_sketch(
        self,
        value,
        model: str,
        hints: Image.Image | None = None,
        look: Look | None = None,
        draft: bool = False,
    ) -> Shown:
        """(what the model sees, generated photo, status message) for a canvas drawing. Colour
        comes as a separate RGBA layer (`hints`, the live canvas) or as coloured strokes in the
        drawing itself (a Sketchpad's palette); `look` picks one of a multimodal model's shoes;
        `draft`: the model's drafting student answers, where it has one (the live canvas's strokes)."""
        try:
            drawing = editor_image(value)
            if drawing is None:
                return None, None, "Draw a shoe outline to begin."
            return shown(self.pipeline(model, draft)(drawing, hints, look=look))
        except EmptySketchError:
            return None, None, DAB_ONLY if has_colour(hints) else "The canvas is empty: draw a shoe outline."
        except UserError as err:
            return None, None, f"Could not use that: {err}"

    @inference
    def is_multimodal(self, model: str) -> bool:
        """Whether `model` answers with several looks (False for none or one it cannot load)."""
        try:
            return bool(model) and self.pipeline(model).multimodal
        except UserError:
            return False

    @inference
    def looks_of(self, drawing: Image.Image, hints: Image.Image | None, seeds: list[int], model: str) -> list:
        """The drawing in one look per seed (the live canvas's row); [] for an empty canvas or
        a model with one look."""
        try:
            pipeline = self.pipeline(model)
            return pipeline.looks(pipeline.prepare(drawing, hints), seeds) if pipeline.multimodal else []
        except UserError:
            return []

    @inference
    def from_upload(self, path: str | None, kind: str, model: str, hints_path: str | None = None) -> Shown:
        """An uploaded edge map, sketch or photo (+ an optional RGBA hint image) ->
        (what the model sees, photo, message)."""
        try:
            if not path:
                return None, None, "Upload an image or pick an example."
            if kind not in UPLOAD_KINDS:
                raise UserError(f"choose one of {', '.join(UPLOAD_KINDS)}")
            img = read_upload(path, "uploaded", self.roots, max_side=1024)
            hints = read_upload(hints_path, "hint", self.roots, None, max_side=1024) if hints_path else None
            return shown(self.pipeline(model)(img, hints, UPLOAD_KINDS[kind]))
        except EmptySketchError:
            return None, None, "No lines found in that image."
        except UserError as err:
            return None, None, f"Could not use that: {err}"

    def saved(self, answer: Shown) -> tuple[Image.Image | None, str | None, str]:
        """The answer with its photo saved as shoe.png, so the download is named like the
        live canvas's."""
        edges, photo, note = answer
        if photo is None:
            return edges, None, note
        path = self.shoes.named_path(DOWNLOAD_NAME)
        photo.save(path)
        return edges, str(path), note

    def upload_file(self, path: str | None, kind: str, model: str, hints_path: str | None = None):
        """`from_upload` for the Upload tab: the photo as shoe.png."""
        return self.saved(self.from_upload(path, kind, model, hints_path))

    def from_sketch_file(self, value, model: str):
        """`from_sketch` for the API's Sketchpad value: the photo as shoe.png."""
        return self.saved(self.from_sketch(value, model))


def build_sketch_demo(
    models: dict[str, str] | None = None, drafts: dict[str, str] | None = None
) -> gr.Blocks:
    """The demo over `models` (label -> model; default: the installed drawing models), each
    stroke drafted by `drafts[model]` where given (default: the bundled drafting students)."""
    demo_fns = SketchDemo(models, drafts=drafts)
    choices = list(demo_fns.models)  # labels: the page never sees a server path
    limit_decoding()
    with gr.Blocks(title="Sketch to shoe", delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(
            "## Sketch → shoe\nDraw a shoe from the side with the pen (toe to the right); the shoe "
            "answers each stroke. Pick **colour** and paint a few dabs to say what colour it is."
        )
        with gr.Tabs():
            with gr.Tab("Draw"):
                live_canvas(
                    lambda img, hints, look, label: demo_fns.from_sketch(img, label, hints, look),
                    demo_fns.looks_of,
                    choices or ["none"],
                    demo_fns.is_multimodal,
                    lambda img, hints, look, label: demo_fns.from_sketch(img, label, hints, look, draft=True),
                    [label for label, model in demo_fns.models.items() if model in demo_fns.drafts],
                )
            with gr.Tab("Upload"):
                with gr.Row():
                    with gr.Column():
                        model = gr.Dropdown(choices, value=choices[0] if choices else None, label="Model")
                        upload = image_upload("Edge map, sketch or photo", height=300)
                        if EXAMPLES:  # picking one changes `upload`, which runs the model
                            gr.Examples([str(p) for p in EXAMPLES], inputs=upload, label="Example sketches")
                        kind = gr.Radio(
                            list(UPLOAD_KINDS), value=next(iter(UPLOAD_KINDS)), label="The upload is"
                        )
                        hint_upload = image_upload(
                            "Colour hints (optional): RGBA, transparent = no hint",
                            sources=["upload"],
                            height=160,
                        )
                        go = gr.Button("Make the shoe", variant="primary")
                    with gr.Column():
                        photo = gr.Image(
                            label="Shoe", type="filepath", format="png", interactive=False,
                            buttons=["download"], elem_id="shoe", height=320,
                        )  # fmt: skip
                        status = gr.Markdown(elem_id="sketch-status")
                        edges = gr.Image(
                            label="What the model sees",
                            type="pil",
                            interactive=False,
                            elem_id="edges",
                            height=200,
                        )
        pad = DrawingPad(type="pil", image_mode="RGBA", visible=False)  # the API's drawing
        api_model = gr.Dropdown(choices, value=choices[0] if choices else None, visible=False)
        outputs = [edges, photo, status]
        gr.Button(visible=False).click(
            demo_fns.from_sketch_file, [pad, api_model], outputs, api_name="sketch_to_photo"
        )
        upload_inputs = [upload, kind, model, hint_upload]
        go.click(demo_fns.upload_file, upload_inputs, outputs, api_name="upload_to_photo")
        for change in (upload.change, hint_upload.change, kind.change, model.change):  # examples too
            change(demo_fns.upload_file, upload_inputs, outputs, api_visibility="private")
    return demo
