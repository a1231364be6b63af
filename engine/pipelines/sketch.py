"""A drawing's whole way to a photo: preparation, the model, the colour pull, a note.

As a diffusers pipeline owns pre-processing, model and post-processing in one `__call__`, a
`SketchPipeline` owns everything between what a person gives (a drawing on any canvas or a
photo, with an optional RGBA hint layer and a look; or a batch of edge maps as the training data
frames them) and what they get back (what the model was shown, the photo, a note). The live canvas, the editor and upload tabs, `translate --sketch/--photo`,
`eval`, the exported Space and the latency bench all call it, so none of them can frame a
drawing one way and its hints another.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from engine.data.drawing import hints_to_rgba
from engine.data.edges import available_methods, extract_edges, fit_square
from engine.data.images import image_to_tensor, tensor_to_image
from engine.data.looks import REFERENCE_DABS, paint_look, photo_look, read_look_table
from engine.data.outline_completion import NEIGHBOURS, Completed, complete_image, complete_tensor
from engine.data.outline_index import OutlineIndex, read_outline_index
from engine.data.sketch import (
    PreparedDrawing,
    fit_hints_square,
    hint_layer,
    paint_hints_over,
    prepare_drawing,
)
from engine.errors import UserError
from engine.inference.loader import load_predictor
from engine.inference.predictor import Predictor, hint_batch
from engine.pipelines.hint_pull import pull_toward_hints
from engine.pipelines.paper import paper_outside
from engine.store.models import assets_models_dir

# what a person may hand the pipeline, and how it becomes the model's input
SOURCES = {
    "drawing": "a drawing on any canvas: strokes fitted to the frame and thinned like edges2shoes",
    "photo": "a photo: its edges extracted (HED where installed, else XDoG), then placed as a drawing",
}
LOOK_TABLE = "looks-edges2shoes.safetensors"  # the bundled table, beside the bundled models
OUTLINE_INDEX = "outlines-edges2shoes.safetensors"  # training shoes by silhouette (`data make-outline-index`)
NO_HINTS_NOTE = "This model was not trained with colour hints: the colours are ignored."
ONE_LOOK_NOTE = "This model draws one look per drawing: seeds and reference photos need a multimodal model."


@dataclass(frozen=True)
class Look:
    """Which of a multimodal model's shoes to draw: the code of a seed, or the look of a
    reference photo (read by the model's encoder). Neither: the typical look (the zero code)."""

    seed: int | None = None
    reference: Image.Image | None = None

    @property
    def typical(self) -> bool:
        return self.seed is None and self.reference is None

    @property
    def neighbour(self) -> int:
        """Which of an outline's nearest training shoes completes it: the seed's, else the nearest."""
        return self.seed % NEIGHBOURS if self.seed is not None else 0


@dataclass(frozen=True)
class SketchAnswer:
    """What a person gets back: what the model was shown (edges with the hint dabs on top),
    the photo, and a note ("" when there is nothing to say)."""

    shown: Image.Image
    photo: Image.Image
    note: str = ""


class SketchPipeline:
    """Drawing (+ hints) -> photo with one image-to-image model. Looks come from the model's
    latent code (BicycleGAN) or, for a model that takes colour hints, from a table of training
    shoes' looks painted as hints (engine/data/looks.py). With an outline index, a bare outline
    is completed with a training shoe's interior edges before the model sees it, the look's
    neighbour (engine/data/outline_completion.py)."""

    def __init__(
        self,
        predictor: Predictor,
        colour_pull: bool = True,
        look_table: np.ndarray | None = None,
        outline_index: OutlineIndex | None = None,
        paper: bool = False,
    ) -> None:
        self.predictor = predictor
        self.colour_pull = colour_pull  # move colours toward the hints after the generator
        self.paper = paper  # white outside a closed outline (engine/pipelines/paper.py)
        self.look_table = look_table if predictor.takes_hints and not predictor.nz else None
        self.outline_index = outline_index if predictor.takes_hints else None  # the sketch models

    @classmethod
    def serving(
        cls, predictor: Predictor, colour_pull: bool = True, complete_outlines: bool = True
    ) -> SketchPipeline:
        """What the studio serves around `predictor`: a hint model (the shoe sketch models) gets
        the bundled table of looks, (unless `complete_outlines` is False) the bundled outline
        index, and white paper outside a closed outline."""
        index = bundled_outline_index() if complete_outlines else None
        return cls(predictor, colour_pull, bundled_look_table(), index, paper=predictor.takes_hints)

    @classmethod
    def load(
        cls,
        model: str = "default",
        home: str | None = None,
        device: str = "auto",
        colour_pull: bool = True,
        table_looks: bool = True,
        complete_outlines: bool = True,
    ) -> SketchPipeline:
        """The pipeline around any image-to-image model (a bundled name, run id or file); a hint
        model gets what is kept of the training shoes (the table of looks, and the outline index
        unless `complete_outlines` is False) unless `table_looks` is False: then the bare model."""
        predictor = load_predictor(model, home, device)
        if not table_looks:
            return cls(predictor, colour_pull)
        return cls.serving(predictor, colour_pull, complete_outlines)

    @property
    def size(self) -> int:
        return self.predictor.size

    @property
    def takes_hints(self) -> bool:
        return self.predictor.takes_hints

    @property
    def multimodal(self) -> bool:
        """True when one drawing can have many looks (a latent code, or a table of looks)."""
        return self.predictor.nz > 0 or self.look_table is not None

    def code(self, look: Look | None) -> torch.Tensor | None:
        """1 x nz: the look's code (None for the typical look or a model without codes)."""
        if look is None or look.typical or not self.predictor.nz:
            return None
        if look.reference is not None:
            return self.predictor.encode(image_to_tensor(self.reference_photo(look))[None]).cpu()
        return torch.randn(1, self.predictor.nz, generator=torch.Generator().manual_seed(look.seed))

    def codes(self, looks: list[Look]) -> torch.Tensor | None:
        """len(looks) x nz: one code per look (zeros, the typical look, where a look has none)."""
        if not self.predictor.nz:
            return None
        blank = torch.zeros(1, self.predictor.nz)
        made = {id(look): self.code(look) for look in looks}  # one Look for a whole batch: encoded once
        return torch.cat([made[id(look)] if made[id(look)] is not None else blank for look in looks])

    def reference_photo(self, look: Look) -> Image.Image:
        """A look's reference photo fitted to the model's square, as a drawing's photo is."""
        return fit_square(look.reference.convert("RGB"), self.size, "the reference photo")

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
        self,
        x: torch.Tensor,
        hints: torch.Tensor | None = None,
        z: torch.Tensor | Look | list[Look] | None = None,
        complete: bool = True,
    ) -> torch.Tensor:
        """Outline completion, the model and the colour pull on a prepared batch (NCHW in [-1, 1],
        hints N x 4 x H x W or None, codes N x nz or 1 x nz, a Look for all, one Look per item, or
        None); what `eval` scores. Hints given to a model without hint inputs, and codes to a
        model without them, are dropped. `complete` False: the inputs are already completed."""
        looks = z if isinstance(z, list) else [z] * len(x) if isinstance(z, Look) else None
        if complete:
            ranks = [look.neighbour if look is not None else 0 for look in looks or [None] * len(x)]
            x = complete_tensor(x, self.outline_index, ranks)[0]
        if looks is not None:
            hints = self.look_hint_tensor(looks, x, hints)
            z = self.codes(looks)
        if not self.takes_hints:
            hints = None
        out = self.predictor.translate_tensor(x, hints, z if self.predictor.nz else None)
        if hints is not None and self.colour_pull:
            out = pull_toward_hints(out, hints.to(out.device), drawing=x[:, :3].to(out.device))
        return paper_outside(out, x[:, :3].to(out.device)) if self.paper else out

    def table_hints(
        self, look: Look | None, edges: Image.Image, hints: Image.Image | None
    ) -> Image.Image | None:
        """The hint layer of a table look (a seed's row, or a reference photo's own dabs) under
        the user's hints; the user's alone for the typical look or a model without a table. A
        completed outline keeps the seed's row too: its neighbour's own dabs scored worse (README)."""
        if self.look_table is None or look is None or look.typical:
            return hints
        if look.reference is not None:
            dabs = photo_look(
                np.asarray(self.reference_photo(look)), np.random.default_rng(0), REFERENCE_DABS
            )
            if dabs is None:
                raise UserError("the reference photo shows no shoe on a light background")
        else:
            dabs = self.look_table[look.seed % len(self.look_table)]
        layer = paint_look(dabs, edges.resize((self.size, self.size), Image.NEAREST))
        return (
            Image.alpha_composite(layer, hints.convert("RGBA").resize(layer.size, Image.NEAREST))
            if hints
            else layer
        )

    def look_hint_tensor(
        self, looks: list[Look], x: torch.Tensor, hints: torch.Tensor | None
    ) -> torch.Tensor | None:
        """A batch's hint tensor with each item's table look painted under the hints it had."""
        if self.look_table is None:
            return hints
        given = (
            [hints_to_rgba(h.permute(1, 2, 0).cpu().numpy()) for h in hints] if hints is not None else None
        )
        layers = [
            self.table_hints(looks[i], tensor_to_image(edges[:3]), given[i] if given else None)
            for i, edges in enumerate(x)
        ]
        return hint_batch(layers, (x.shape[-1], x.shape[-2]))

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
        """Model inputs as they are (resized, or padded with fit='pad'), outlines completed -> photos."""
        done = [self.complete(image, look) for image in images]
        hints = [self.table_hints(look, d.edges, hint) for d, hint in zip(done, hints)]
        return self.run([d.edges for d in done], hints, self.code(look), fit)

    def run(
        self, images: list[Image.Image], hints: list, codes: torch.Tensor | None, fit: str = "resize"
    ) -> list[Image.Image]:
        """The model (and the colour pull) on completed inputs whose hints carry any table look."""
        translate = functools.partial(self.translate_tensor, z=codes, complete=False)
        return self.predictor.translate_batch(images, fit, hints, translate=translate)

    def looks(self, prepared: PreparedDrawing, seeds: list[int]) -> list[Image.Image]:
        """One drawing in several looks (one per seed), in one batch."""
        codes = torch.cat([self.code(Look(seed)) for seed in seeds]) if self.predictor.nz else None
        own = prepared.hints if self.takes_hints else None
        done = [self.complete(prepared.edges, Look(seed), thin=True) for seed in seeds]
        hints = [self.table_hints(Look(seed), d.edges, own) for seed, d in zip(seeds, done)]
        return self.run([d.edges for d in done], hints, codes)

    def complete(self, edges: Image.Image, look: Look | None = None, thin: bool = False) -> Completed:
        """The model's input for an edge map in `look`: a bare outline completed with the
        interior edges of the look's neighbour in the outline index; anything else as it is.
        `thin`: its lines are one pixel wide (a prepared drawing's)."""
        rank = look.neighbour if look is not None else 0
        return complete_image(edges, self.outline_index, rank, thin)

    def __call__(
        self,
        picture: Image.Image,
        hints: Image.Image | None = None,
        source: str = "drawing",
        look: Look | None = None,
    ) -> SketchAnswer:
        prepared = self.prepare(picture, hints, source)
        done = self.complete(prepared.edges, look, thin=True)  # what the model is given and shown: the
        own = prepared.hints if self.takes_hints else None  # completed edges, the user's dabs
        given = self.table_hints(look, done.edges, own)  # over a table look's
        photo = self.run([done.edges], [given], self.code(look))[0]
        notes = []
        if prepared.hints is not None and not self.takes_hints:
            notes.append(NO_HINTS_NOTE)
        if look is not None and not look.typical and not self.multimodal:
            notes.append(ONE_LOOK_NOTE)
        return SketchAnswer(paint_hints_over(done.edges, given), photo, " ".join(notes))


@functools.cache
def bundled_look_table() -> np.ndarray | None:
    """The looks of edges2shoes' training shoes (`data make-looks`), or None where not installed."""
    path = assets_models_dir() / LOOK_TABLE
    return read_look_table(path) if path.is_file() else None


@functools.cache
def bundled_outline_index() -> OutlineIndex | None:
    """edges2shoes' training shoes by silhouette (`data make-outline-index`), or None where not
    installed (then outlines go to the model as drawn)."""
    path = assets_models_dir() / OUTLINE_INDEX
    return read_outline_index(path) if path.is_file() else None
