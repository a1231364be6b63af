"""What a visitor sends the demos, read once, so a crafted API call gets one line, never a bare
error event or an HTTP 500.

- Seeds and whole numbers reach the demo as sent (`RawNumber`) and are read by `read_seed` /
  `read_whole`: 2**70, 1e30 or 'x' become a message in the demo's status, beside the control.
- A value of the wrong type for any other input (`Slider`, `MaskEditor`, `checked_model` for an
  upload box's data) is refused with one line naming the control, as a gr.Error: what Gradio
  itself answers for a value out of a slider's range or a dropdown's choices.
- `MAX_FILE_SIZE`: Gradio's own upload limit, set at every launch (studio and exported Spaces).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import gradio as gr
from gradio.components.image_editor import EditorData
from pydantic import BaseModel, ValidationError

from engine.errors import UserError

MAX_SEED = 2**31 - 1  # what every seed in the studio fits (numpy, torch and the canvases' JS)
# the largest picture the demos decode (100 megapixels, studio/uploads.py) is a 30-50 MB camera JPEG
MAX_FILE_SIZE = "50mb"
LAUNCH_LIMITS: dict[str, Any] = {"max_file_size": MAX_FILE_SIZE}  # launch(**LAUNCH_LIMITS)


def shown(value: object, limit: int = 40) -> str:
    """A value as a message may quote it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_whole(value: object, what: str, low: int, high: int, default: int | None = None) -> int:
    """`value` as a whole number from `low` to `high` ("" or None: `default`); anything else
    (a string, 2.5, 1e30, infinity) is refused in one line that names `what` and the range."""
    if value is None or value == "":
        if default is not None:
            return default
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value) and float(value).is_integer() and low <= value <= high:
            return int(value)
    raise UserError(f"The {what} must be a whole number from {low:,} to {high:,}, not {shown(value)}.")


def read_seed(value: object, what: str = "seed") -> int:
    """A seed sent by the page or the API: a whole number from 0 to MAX_SEED ("" or None: 0)."""
    return read_whole(value, what, 0, MAX_SEED, default=0)


def wrong_value(label: str | None, value: object) -> gr.Error:
    """The one line for a value of the wrong type sent to an input."""
    return gr.Error(f"{label or 'An input'}: {shown(value)} is not a value this control takes.")


class RawNumber(gr.Number):
    """gr.Number that hands the function the value as sent: Gradio's own rounding fails on 'x'
    (a bare error event) and turns 1e30 into a 31-digit int; the function reads it with
    `read_seed`/`read_whole` and says what is wrong beside the control."""

    def get_block_name(self) -> str:
        return "number"  # the browser draws it with gr.Number's own front end

    def preprocess(self, payload: Any) -> Any:
        return payload


class Slider(gr.Slider):
    """gr.Slider whose wrong-type values ('x', a list) are refused in one line, as Gradio already
    refuses a value out of its range, instead of failing inside Gradio."""

    def get_block_name(self) -> str:
        return "slider"

    def preprocess(self, payload: Any) -> Any:
        if payload is not None and (isinstance(payload, bool) or not isinstance(payload, int | float)):
            raise wrong_value(self.label, payload)
        if payload is not None and not math.isfinite(payload):
            raise wrong_value(self.label, payload)
        return super().preprocess(payload)


@functools.cache
def checked_model(model: type[BaseModel]) -> type[BaseModel]:
    """`model` (a component's data model: ImageData, EditorData...) whose validation of a value
    of the wrong type (123, 'x', a list) is refused in one line instead of a pydantic error
    that Gradio answers with a bare error event."""

    class Checked(model):  # type: ignore[valid-type, misc]
        @classmethod
        def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> BaseModel:
            try:
                return model.model_validate(obj, *args, **kwargs)
            except ValidationError:
                raise gr.Error(f"{shown(obj)} is not an uploaded image.") from None

    Checked.__name__ = Checked.__qualname__ = model.__name__
    return Checked


class MaskEditor(gr.ImageEditor):
    """gr.ImageEditor refusing a value of the wrong type in one line (see `checked_model`).
    (No __init__ of its own: Gradio sends the browser the parameters of gr.ImageEditor's.)"""

    data_model = checked_model(EditorData)

    def get_block_name(self) -> str:
        return "imageeditor"


def server_args(args: object, defaults: tuple) -> list:
    """The arguments of a canvas's server function (the page sends them as one list), padded
    with `defaults`; a bare value stands for the first. A dict or a number is refused in one line."""
    if isinstance(args, str):
        args = [args]
    if args is None:
        args = []
    if not isinstance(args, list | tuple):
        raise UserError(f"expected the canvas's list of values, not {shown(args)}")
    return (list(args) + list(defaults[len(args) :]))[: len(defaults)]
