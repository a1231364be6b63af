"""Latent space: walk between two images or seeds, sample, and do a - b + c arithmetic.

Thin over `engine.inference.latent`: codes come from `LatentModel.encode_images` (VAE / autoencoder) or
`seed_latents` (any model), and `lerp`/`slerp`/`interpolate`/`arithmetic` do the math. The slider
decodes one code per move (debounced), so nothing heavy is precomputed. Only models from the
demo's own list are loaded (a shared Space must not let a visitor name a file on the server),
and bad input becomes a message, never a traceback.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import gradio as gr
import torch
from PIL import Image, ImageOps

from engine.data.image_folders import FASHION_MNIST_CLASSES, fashion_mnist, find_fashion_mnist
from engine.errors import UserError
from engine.inference import latent
from engine.inference.loader import load_latent_model
from engine.inference.registry import available_models as models_of_kind
from engine.inference.registry import choose_model
from studio.inputs import RawNumber, Slider, read_seed, read_whole
from studio.uploads import CACHE_CLEANUP, ScratchFolder, image_upload, limit_decoding, read_upload

MAX_SIDE = 2048  # px a side: a latent model sees 32 px
SCALE = 8  # 32 px decodes shown 8x, nearest neighbour
SOURCES = ("seed", "dataset sample", "upload")


def available_models() -> dict[str, str]:
    """Label -> model: the installed bundled latent models, then finished runs of latent tasks."""
    return models_of_kind("latent")


@functools.lru_cache(maxsize=1)
def _test_set() -> tuple:
    """Fashion-MNIST test images and labels, read once (only from installed files)."""
    return fashion_mnist("test")


def read_index(index: object) -> int:
    """A dataset index sent by the page or the API ("" or None: 0)."""
    return read_whole(index, "dataset index", 0, 2**31 - 1, default=0)


def dataset_sample(index: int) -> tuple[Image.Image, str]:
    """Fashion-MNIST test image `index`, padded 28 -> 32 px as the training data was."""
    if find_fashion_mnist() is None:
        raise UserError("Fashion-MNIST is not installed here: upload an image or use a seed.")
    images, labels = _test_set()
    if not 0 <= int(index) < len(images):
        raise UserError(f"Dataset samples are numbered 0 to {len(images) - 1}.")
    img = ImageOps.expand(Image.fromarray(images[int(index)]), border=2, fill=0)
    return img, FASHION_MNIST_CLASSES[int(labels[int(index)])]


class LatentDemo:
    """The demo's functions, bound to the models it may load."""

    def __init__(self, models: dict[str, str] | None = None, roots: tuple[Path, ...] = ()) -> None:
        self.models = models if models is not None else available_models()
        self.roots = roots  # folders besides Gradio's uploads that uploads may come from
        self.gifs = ScratchFolder(keep=8, suffix=".gif")

    def _model(self, model: str) -> latent.LatentModel:
        if not self.models:
            raise UserError("No latent model is installed yet: train a VAE or DCGAN run first.")
        return load_latent_model(choose_model(self.models, model))

    def _code(self, m: latent.LatentModel, source: str, seed, index, upload) -> torch.Tensor:
        """One end -> its latent code (latent_dim,)."""
        if source == "seed":
            return m.seed_latents([read_seed(seed)])[0]
        if not m.can_encode:
            raise UserError(f"A {m.task} model has no encoder: pick the ends by seed.")
        if source == "upload":
            if not upload:
                raise UserError("Upload an image for each end set to 'upload'.")
            img = read_upload(upload, "uploaded", self.roots, max_side=MAX_SIDE)
        else:
            img = dataset_sample(read_index(index))[0]
        return m.encode_images([img])[0]

    def _guard(self, fn, *args, failed: tuple):
        """Run fn; a fixable problem becomes (*failed, message)."""
        try:
            return (*fn(*args), "")
        except UserError as err:
            return (*failed, str(err))

    def slide(self, model: str, t: float, spherical: bool, *ends) -> tuple[Image.Image | None, str]:
        """The decode of the single code at position t (0: end A, 1: end B), enlarged."""

        def run():
            m = self._model(model)
            a, b = self._code(m, *ends[:4]), self._code(m, *ends[4:8])
            z = (latent.slerp if spherical else latent.lerp)(a, b, torch.tensor([float(t)]))
            return (latent.to_images(m.decode(z), SCALE)[0],)

        return self._guard(run, failed=(None,))

    def strip(self, model: str, frames: int, spherical: bool, *ends) -> tuple:
        """(strip of `frames` decodes from A to B, path of an animated GIF of them, message)."""

        def run():
            m = self._model(model)
            a, b = self._code(m, *ends[:4]), self._code(m, *ends[4:8])
            n = read_whole(frames, "number of frames", 2, 64)
            images = m.decode(latent.interpolate(a, b, n, spherical))
            gif = self.gifs.new_path()
            latent.save_gif(latent.to_images(images, 4), gif, bounce=True)
            return latent.enlarge(latent.grid(images, n), 4), str(gif)

        return self._guard(run, failed=(None, None))

    def samples(self, model: str, seed, count) -> tuple[Image.Image | None, str]:
        """A grid of `count` random decodes, reproducible from `seed`."""

        def run():
            n, number = read_whole(count, "number of samples", 1, 64), read_seed(seed)
            m = self._model(model)
            batch = m.sample(n, number)
            return (latent.enlarge(latent.grid(batch, math.ceil(math.sqrt(n))), 4),)

        return self._guard(run, failed=(None,))

    def arithmetic(self, model: str, *ends) -> tuple[Image.Image | None, str]:
        """A strip a | b | c | (a - b + c): the three ends and the decoded result."""

        def run():
            m = self._model(model)
            a, b, c = (self._code(m, *ends[i : i + 4]) for i in (0, 4, 8))
            codes = torch.stack([a, b, c, latent.arithmetic(a, b, c)])
            return (latent.enlarge(latent.grid(m.decode(codes), 4), 6),)

        return self._guard(run, failed=(None,))

    def preview(self, model: str, source: str, index, upload) -> dict:
        """What an end gives the model: the dataset sample (and its class), or the upload as the
        model sees it (its size and channels), so a grey blob of a decode is no surprise."""
        try:
            if source == "dataset sample":
                img, name = dataset_sample(read_index(index))
                return gr.update(value=latent.enlarge(img.convert("RGB"), 3), label=name, visible=True)
            if source != "upload" or not upload:
                return gr.update(value=None, visible=False)
            m = self._model(model)
            img = read_upload(upload, "uploaded", self.roots, max_side=MAX_SIDE)
            seen = latent.to_images(m.model_input([img]), 96 // m.image_size or 1)[0]
            return gr.update(value=seen, label=seen_label(m), visible=True)
        except UserError as err:
            return gr.update(value=None, label=str(err), visible=True)

    def model_changed(self) -> tuple:
        """A new model makes the strip, GIF, samples and arithmetic shown stale: clear them."""
        note = "Model changed: make them again for this model."
        return None, None, note, None, "", None, ""


def seen_label(m: latent.LatentModel) -> str:
    """'As the model sees it: 32 px grey, like fashion-mnist' (its size, channels and data)."""
    colours = "grey" if m.channels == 1 else "colour"
    data = Path(str(m.meta.get("settings", {}).get("data", ""))).name
    return f"As the model sees it: {m.image_size} px {colours}" + (f", like {data}" if data else "")


def show_fields(source: str) -> tuple:
    """Only the field the chosen source reads: seed, dataset index or upload."""
    return tuple(gr.update(visible=source == kind) for kind in SOURCES)


def end_picker(
    label: str, seed: int, index: int, demo_fns: LatentDemo, model: gr.Dropdown
) -> list[gr.components.Component]:
    """Source + seed + dataset index + upload for one end (only the chosen source's field shows;
    no dataset index without the dataset); returns the four inputs."""
    sources = [s for s in SOURCES if s != "dataset sample" or find_fashion_mnist() is not None]
    with gr.Column(min_width=200):
        gr.Markdown(f"**{label}**")
        source = gr.Radio(sources, value="seed", label="From", show_label=False)
        seed_in = RawNumber(seed, precision=0, label="Seed")
        index_in = RawNumber(index, precision=0, label="Dataset index (test set)", visible=False)
        upload = image_upload("Upload", height=160, visible=False)
        shown = gr.Image(label="Sample", interactive=False, height=130, visible=False)
        source.change(show_fields, source, [seed_in, index_in, upload], api_visibility="private")
        gr.on(
            [source.change, index_in.change, upload.change, model.change],
            demo_fns.preview,
            [model, source, index_in, upload],
            shown,
            api_visibility="private",
        )
    return [source, seed_in, index_in, upload]


def build_latent_demo(models: dict[str, str] | None = None) -> gr.Blocks:
    demo_fns = LatentDemo(models)
    choices = list(demo_fns.models)  # labels: the page never sees a server path
    limit_decoding()
    with gr.Blocks(title="Latent space", delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(
            "## Latent space\nPick two ends — a seed (any model) or, for a VAE/autoencoder, an "
            "uploaded image or a Fashion-MNIST sample — and slide between them. The bundled models "
            "learnt Fashion-MNIST: 32 px grey garments, light on a black background. An upload is "
            "shrunk to that (shown under it, as the model sees it); a photo unlike those decodes "
            "to a grey blob."
        )
        with gr.Row():
            model = gr.Dropdown(choices, value=choices[0] if choices else None, label="Model")
            spherical = gr.Checkbox(True, label="Spherical interpolation (slerp)")
        with gr.Tab("Interpolate"):
            with gr.Row():
                ends = end_picker("End A", 0, 0, demo_fns, model) + end_picker("End B", 1, 1, demo_fns, model)
                with gr.Column(scale=2):
                    t = Slider(0, 1, value=0, step=0.01, label="A → B")
                    live = gr.Image(label="Decoded", type="pil", interactive=False, height=300)
                    status = gr.Markdown()
            with gr.Row():
                frames = Slider(2, 32, value=10, step=1, label="Frames")
                go = gr.Button("Make strip and GIF", variant="primary")
                strip_status = gr.Markdown()
            with gr.Row():
                strip = gr.Image(label="Strip", type="pil", interactive=False, scale=3)
                gif = gr.Image(label="Animated GIF", type="filepath", interactive=False, buttons=["download"])
        with gr.Tab("Random samples"):
            with gr.Row():
                seed = RawNumber(0, precision=0, label="Seed")
                count = Slider(1, 64, value=16, step=1, label="Samples")
                sample_go = gr.Button("Random samples", variant="primary")
                sample_status = gr.Markdown()
            grid = gr.Image(label="Samples", type="pil", interactive=False)
        with gr.Tab("Arithmetic a − b + c"):
            with gr.Row():
                abc = sum(
                    (end_picker(k, s, s, demo_fns, model) for k, s in (("a", 0), ("b", 1), ("c", 2))), []
                )
            with gr.Row():
                calc = gr.Button("Compute a − b + c", variant="primary")
                calc_status = gr.Markdown()
            result = gr.Image(label="a | b | c | a − b + c", type="pil", interactive=False)
        slide_in = [model, t, spherical, *ends]
        t.change(
            demo_fns.slide,
            slide_in,
            [live, status],
            trigger_mode="always_last",
            show_progress="hidden",
            api_name="slide",
        )
        gr.on(
            [model.change, spherical.change, *(c.change for c in ends)],
            demo_fns.slide,
            slide_in,
            [live, status],
            trigger_mode="always_last",
            show_progress="hidden",
            api_visibility="private",
        )
        strip_out = [strip, gif, strip_status]
        stale = [*strip_out, grid, sample_status, result, calc_status]
        model.change(demo_fns.model_changed, None, stale, api_visibility="private", show_progress="hidden")
        go.click(demo_fns.strip, [model, frames, spherical, *ends], strip_out, api_name="strip")
        sample_go.click(demo_fns.samples, [model, seed, count], [grid, sample_status], api_name="samples")
        calc.click(demo_fns.arithmetic, [model, *abc], [result, calc_status], api_name="arithmetic")
        demo.load(demo_fns.slide, slide_in, [live, status], api_visibility="private")
    return demo
