"""A drawing's whole way to a photo: preparation, the model, the colour pull, a note.

As a diffusers pipeline owns pre-processing, model and post-processing in one `__call__`, a
`SketchPipeline` owns everything between what a person gives (a drawing on any canvas or a photo,
with an optional RGBA hint layer; or a batch of edge maps as the training data frames them) and what they get back (what the model was shown, the
photo, a note). The live canvas, the editor and upload tabs, `translate --sketch/--photo`,
`eval`, the exported Space and the latency bench all call it, so none of them can frame a
drawing one way and its hints another.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from engine.data.edges import available_methods, extract_edges, fit_square
from engine.data.sketch import (
    PreparedDrawing,
    fit_hints_square,
    hint_layer,
    paint_hints_over,
    prepare_drawing,
)
from engine.inference.loader import load_predictor
from engine.inference.predictor import Predictor
from engine.pipelines.hint_pull import pull_toward_hints

# what a person may hand the pipeline, and how it becomes the model's input
SOURCES = {
    "drawing": "a drawing on any canvas: strokes fitted to the frame and thinned like edges2shoes",
    "photo": "a photo: its edges extracted (HED where installed, else XDoG), then placed as a drawing",
}
NO_HINTS_NOTE = "This model was not trained with colour hints: the colours are ignored."


@dataclass(frozen=True)
class SketchAnswer:
    """What a person gets back: what the model was shown (edges with the hint dabs on top),
    the photo, and a note ("" when there is nothing to say)."""

    shown: Image.Image
    photo: Image.Image
    note: str = ""


class SketchPipeline:
    """Drawing (+ hints) -> photo with one image-to-image model."""

    def __init__(self, predictor: Predictor, colour_pull: bool = True) -> None:
        self.predictor = predictor
        self.colour_pull = colour_pull  # move colours toward the hints after the generator

    @classmethod
    def load(
        cls, model: str = "default", home: str | None = None, device: str = "auto", colour_pull: bool = True
    ) -> SketchPipeline:
        """The pipeline around any image-to-image model (a bundled name, run id or file)."""
        return cls(load_predictor(model, home, device), colour_pull)

    @property
    def size(self) -> int:
        return self.predictor.size

    @property
    def takes_hints(self) -> bool:
        return self.predictor.takes_hints

    def prepare(
        self, picture: Image.Image, hints: Image.Image | None = None, source: str = "drawing"
    ) -> PreparedDrawing:
        """What the model is shown for `picture` read as `source` (see SOURCES)."""
        if source == "drawing":
            return prepare_drawing(picture, hints, self.size)
        if source == "photo":  # its edges, then placed in the square as a drawing is
            method = "hed" if "hed" in available_methods() else "xdog"
            edges = extract_edges(fit_square(picture, self.size), method)
            fitted = fit_hints_square(hint_layer(hints), self.size) if hints is not None else None
            return prepare_drawing(edges, fitted, self.size)
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")

    @torch.inference_mode()
    def translate_tensor(self, x: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """The model and the colour pull on a prepared batch (NCHW in [-1, 1], hints N x 4 x H x W
        or None); what `eval` scores. Hints given to a model without hint inputs are dropped."""
        if not self.takes_hints:
            hints = None
        out = self.predictor.translate_tensor(x, hints)
        if hints is not None and self.colour_pull:
            out = pull_toward_hints(out, hints.to(out.device), drawing=x[:, :3].to(out.device))
        return out

    def translate(self, prepared: list[PreparedDrawing]) -> list[Image.Image]:
        """Photos for prepared drawings, in one batch."""
        hints = [p.hints if self.takes_hints else None for p in prepared]
        return self.translate_images([p.edges for p in prepared], hints)

    def translate_images(
        self, images: list[Image.Image], hints: list[Image.Image | None], fit: str = "resize"
    ) -> list[Image.Image]:
        """Model inputs as they are (resized, or padded with fit='pad') -> photos."""
        return self.predictor.translate_batch(images, fit, hints, translate=self.translate_tensor)

    def __call__(
        self, picture: Image.Image, hints: Image.Image | None = None, source: str = "drawing"
    ) -> SketchAnswer:
        prepared = self.prepare(picture, hints, source)
        photo = self.translate([prepared])[0]
        if prepared.hints is not None and not self.takes_hints:
            return SketchAnswer(prepared.edges, photo, NO_HINTS_NOTE)
        return SketchAnswer(paint_hints_over(prepared.edges, prepared.hints), photo)
