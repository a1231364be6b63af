"""A drawing's whole way to a photo: preparation, the model, the colour pull, a note.

As a diffusers pipeline owns pre-processing, model and post-processing in one `__call__`, a
`SketchPipeline` owns everything between what a person gives (a drawing on any canvas or a photo,
with an optional RGBA hint layer; or a batch of edge maps as the training data frames them) and what they get back (what the model was shown, the
photo, a note). The live canvas, the editor and upload tabs, `translate --sketch/--photo`,
`eval`, the exported Space and the latency bench all call it, so none of them can frame a
drawing one way and its hints another.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from PIL import Image

from engine.data.edges import available_methods, extract_edges, fit_square
from engine.data.images import image_to_tensor
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
ONE_LOOK_NOTE = "This model draws one look per drawing: seeds and reference photos need a multimodal model."


@dataclass(frozen=True)
class Look:
    """Which of a multimodal model's shoes to draw: the code of a seed, or the look of a
    reference photo (read by the model's encoder). Neither: the typical look (the zero code)."""

    seed: int | None = None
    reference: Image.Image | None = None


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

    @property
    def multimodal(self) -> bool:
        """True when the model takes a latent code: one drawing, many looks."""
        return self.predictor.nz > 0

    def code(self, look: Look | None) -> torch.Tensor | None:
        """1 x nz: the look's code (None for the typical look or a one-look model)."""
        if look is None or not self.multimodal or (look.seed is None and look.reference is None):
            return None
        if look.reference is not None:
            photo = fit_square(look.reference.convert("RGB"), self.size, "the reference photo")
            return self.predictor.encode(image_to_tensor(photo)[None]).cpu()
        return torch.randn(1, self.predictor.nz, generator=torch.Generator().manual_seed(look.seed))

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
    def translate_tensor(
        self, x: torch.Tensor, hints: torch.Tensor | None = None, z: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The model and the colour pull on a prepared batch (NCHW in [-1, 1], hints N x 4 x H x W
        or None, codes N x nz or 1 x nz or None); what `eval` scores. Hints given to a model
        without hint inputs, and codes to a one-look model, are dropped."""
        if not self.takes_hints:
            hints = None
        out = self.predictor.translate_tensor(x, hints, z if self.multimodal else None)
        if hints is not None and self.colour_pull:
            out = pull_toward_hints(out, hints.to(out.device), drawing=x[:, :3].to(out.device))
        return out

    def translate(self, prepared: list[PreparedDrawing], look: Look | None = None) -> list[Image.Image]:
        """Photos for prepared drawings, in one batch, all in one look."""
        hints = [p.hints if self.takes_hints else None for p in prepared]
        return self.translate_images([p.edges for p in prepared], hints, look=look)

    def translate_images(
        self,
        images: list[Image.Image],
        hints: list[Image.Image | None],
        fit: str = "resize",
        look: Look | None = None,
    ) -> list[Image.Image]:
        """Model inputs as they are (resized, or padded with fit='pad') -> photos."""
        translate = functools.partial(self.translate_tensor, z=self.code(look))
        return self.predictor.translate_batch(images, fit, hints, translate=translate)

    def looks(self, prepared: PreparedDrawing, seeds: list[int]) -> list[Image.Image]:
        """One drawing in several looks (one per seed), in one batch."""
        codes = torch.cat([self.code(Look(seed)) for seed in seeds]) if self.multimodal else None
        translate = functools.partial(self.translate_tensor, z=codes)
        hints = [prepared.hints if self.takes_hints else None] * len(seeds)
        return self.predictor.translate_batch([prepared.edges] * len(seeds), hints=hints, translate=translate)

    def __call__(
        self,
        picture: Image.Image,
        hints: Image.Image | None = None,
        source: str = "drawing",
        look: Look | None = None,
    ) -> SketchAnswer:
        prepared = self.prepare(picture, hints, source)
        photo = self.translate([prepared], look)[0]
        notes = []
        if prepared.hints is not None and not self.takes_hints:
            notes.append(NO_HINTS_NOTE)
        if look is not None and (look.seed is not None or look.reference is not None) and not self.multimodal:
            notes.append(ONE_LOOK_NOTE)
        shown = paint_hints_over(prepared.edges, prepared.hints if self.takes_hints else None)
        return SketchAnswer(shown, photo, " ".join(notes))
