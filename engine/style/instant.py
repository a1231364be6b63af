"""Instant arbitrary style transfer: Magenta's style predictor + transformer through onnxruntime.

One forward pass instead of an optimisation, so sliders can update live. The style image is
encoded once into a 100-number bottleneck (cached by a hash of its pixels); `strength` mixes it
with the content's own embedding, which stays closer to the photo than fading the pixels would.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from engine.errors import UserError
from engine.pretrained import magenta_style_dir
from engine.style.gatys import mix_weights

TRANSFORM_SIZE = 384  # the exported transformer's fixed input side
STYLE_SIZE = 256  # the style predictor's fixed input side
CACHE_SIZE = 64


def pixel_key(img: Image.Image) -> str:
    """Identity of a picture by content, so a re-uploaded copy hits the cache."""
    digest = hashlib.blake2b(img.tobytes(), digest_size=16)
    digest.update(f"{img.mode}{img.size}".encode())
    return digest.hexdigest()


class InstantStyle:
    """The two ONNX sessions plus a small LRU of style embeddings; safe to share across threads."""

    def __init__(self, model_dir: str | Path | None = None, threads: int = 0) -> None:
        import onnxruntime as ort

        folder = magenta_style_dir(model_dir)
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        # no busy-waiting: the studio shares its cores with torch, and spinning threads slow
        # the transformer down under load
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            opts.intra_op_num_threads = threads
        providers = ["CPUExecutionProvider"]
        self.predict = ort.InferenceSession(str(folder / "arbitrary_predict.onnx"), opts, providers=providers)
        self.transform = ort.InferenceSession(
            str(folder / "arbitrary_transform.onnx"), opts, providers=providers
        )
        self._inputs = [i.name for i in self.transform.get_inputs()]
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embedding(self, img: Image.Image) -> np.ndarray:
        """The (1, 1, 1, 100) style bottleneck of a picture (centre square at 256 px), cached."""
        key = pixel_key(img)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        rgb = img.convert("RGB")
        side = min(rgb.size)
        left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
        square = rgb.crop((left, top, left + side, top + side)).resize(
            (STYLE_SIZE, STYLE_SIZE), Image.LANCZOS
        )
        x = (np.asarray(square, dtype=np.float32) / 255.0)[None]
        vec = self.predict.run(None, {self.predict.get_inputs()[0].name: x})[0]
        with self._lock:
            self._cache[key] = vec
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return vec

    def stylize(
        self,
        content: Image.Image,
        style: Image.Image | Sequence[Image.Image],
        strength: float = 1.0,
        preserve_color: bool = False,
        size: int | None = None,
        blend: Sequence[float] = (),
    ) -> Image.Image:
        """Content in the style; `size` is the output's long side (default: the content's).

        strength 0 gives the content rendered with its own embedding, 1 the full style. Several
        styles mix their embeddings by `blend` (equal when empty).
        """
        if not 0.0 <= strength <= 1.0:
            raise UserError(f"strength must be between 0 and 1, got {strength}")
        content = content.convert("RGB")
        styles = [style] if isinstance(style, Image.Image) else list(style)
        weights = mix_weights(blend, len(styles), "blend")
        vec = sum(w * self.embedding(s) for w, s in zip(weights, styles))
        if strength < 1.0:
            vec = strength * vec + (1.0 - strength) * self.embedding(content)
        width, height = content.size
        if size:
            scale = size / max(width, height)
            width, height = max(1, round(width * scale)), max(1, round(height * scale))
        scale = TRANSFORM_SIZE / max(content.size)
        sw, sh = max(1, round(content.width * scale)), max(1, round(content.height * scale))
        small = np.asarray(content.resize((sw, sh), Image.BILINEAR, reducing_gap=2.0), dtype=np.float32)
        small = np.pad(
            small / 255.0, ((0, TRANSFORM_SIZE - sh), (0, TRANSFORM_SIZE - sw), (0, 0)), mode="reflect"
        )
        out = self.transform.run(
            None, {self._inputs[0]: small[None], self._inputs[1]: vec.astype(np.float32)}
        )
        pixels = np.clip(out[0][0, :sh, :sw] * 255.0 + 0.5, 0, 255).astype(np.uint8)
        result = Image.fromarray(pixels).resize((width, height), Image.BICUBIC)
        return keep_chroma_pil(result, content) if preserve_color else result


def keep_chroma_pil(styled: Image.Image, content: Image.Image) -> Image.Image:
    """engine.style.losses.keep_chroma done by PIL (same BT.601 YCbCr): the torch version wakes
    OpenMP threads that then compete with onnxruntime's, slowing every frame."""
    luma = styled.convert("YCbCr").getchannel(0)
    _, cb, cr = content.resize(styled.size, Image.BILINEAR).convert("YCbCr").split()
    return Image.merge("YCbCr", (luma, cb, cr)).convert("RGB")


@functools.lru_cache(maxsize=2)
def instant_model(model_dir: str | None = None) -> InstantStyle:
    """One shared InstantStyle per model folder: sessions load once per process."""
    return InstantStyle(model_dir)


def instant_stylize(
    content: Image.Image,
    style: Image.Image | Sequence[Image.Image],
    strength: float = 1.0,
    preserve_color: bool = False,
    size: int | None = None,
    blend: Sequence[float] = (),
) -> Image.Image:
    """`InstantStyle.stylize` with the shared sessions and embedding cache."""
    return instant_model().stylize(content, style, strength, preserve_color, size, blend)
