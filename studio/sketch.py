"""Sketch -> shoe: draw on a white canvas and watch the pix2pix generator answer.

Thin over the engine: `engine.data.sketch.prepare_sketch` makes the edge map the model sees,
`engine.infer.load_predictor` runs it. Errors become friendly messages, never tracebacks.
"""

from __future__ import annotations

import gradio as gr
from PIL import Image

from engine.data.images import ImageLoadError, flatten_alpha
from engine.data.sketch import EmptySketchError, prepare_sketch
from engine.infer import DEFAULT_MODELS, load_predictor

MAX_UPLOAD_PIXELS = 4096 * 4096


def editor_image(value: dict | Image.Image | None) -> Image.Image | None:
    """The drawing from a Sketchpad value ({background, layers, composite}) on white paper."""
    if value is None:
        return None
    img = value.get("composite") if isinstance(value, dict) else value
    if img is None:
        return None
    if img.width * img.height > MAX_UPLOAD_PIXELS:
        raise ImageLoadError(f"the image is too large ({img.width}x{img.height}); the limit is 4096x4096")
    return flatten_alpha(img)


def sketch_to_photo(value, model: str = "default") -> tuple[Image.Image | None, Image.Image | None, str]:
    """(edge map the model sees, generated photo, status message)."""
    try:
        drawing = editor_image(value)
        if drawing is None:
            return None, None, "Draw a shoe outline to begin."
        predictor = load_predictor(model)
        edges = prepare_sketch(drawing, predictor.size)
        return edges, predictor(edges), ""
    except EmptySketchError:
        return None, None, "The canvas is empty: draw a shoe outline."
    except (ImageLoadError, FileNotFoundError, KeyError, ValueError) as err:
        return None, None, f"Could not use that: {err}"


def available_models() -> list[str]:
    return [name for name, path in DEFAULT_MODELS.items() if path.is_file()]


def build_sketch_demo() -> gr.Blocks:
    with gr.Blocks(title="Sketch to shoe") as demo:
        gr.Markdown(
            "## Sketch → shoe\nDraw a shoe outline with thin black lines; the photo updates as you draw."
        )
        with gr.Row():
            pad = gr.Sketchpad(
                label="Your sketch",
                type="pil",
                image_mode="RGBA",
                canvas_size=(512, 512),
                brush=gr.Brush(default_size=4, colors=["#000000"], color_mode="fixed"),
            )
            edges = gr.Image(label="What the model sees", type="pil", interactive=False)
            photo = gr.Image(label="Shoe", type="pil", interactive=False)
        models = available_models()
        model = gr.Dropdown(models, value=models[0] if models else None, label="Model")
        status = gr.Markdown()
        pad.change(
            sketch_to_photo,
            [pad, model],
            [edges, photo, status],
            trigger_mode="always_last",
            api_name="sketch_to_photo",
        )
        model.change(sketch_to_photo, [pad, model], [edges, photo, status], api_visibility="private")
    return demo
