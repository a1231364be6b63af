"""`stylize`: neural style transfer from the command line (Gatys optimisation or instant)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from engine.outputs import refuse_overwriting_inputs

if TYPE_CHECKING:
    from PIL import Image

    from engine.style.gatys import StyleConfig

LIST_FIELDS = ("style_layers", "style_layer_weights", "style_blend")


def comma_list(kind: type) -> Callable[[str], tuple]:
    """argparse type for 'a,b,c' lists, so layer names and weights read naturally."""

    def parse(text: str) -> tuple:
        try:
            return tuple(kind(part.strip()) for part in text.split(",") if part.strip())
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list: {err}") from err

    return parse


def build_parser() -> argparse.ArgumentParser:
    from engine.flags import add_dataclass_args
    from engine.style.gatys import StyleConfig

    parser = argparse.ArgumentParser(
        prog="python -m engine stylize",
        description="Paint CONTENT in the style of one or more STYLE images and write OUT.",
        usage="python -m engine stylize CONTENT STYLE [STYLE ...] OUT [options]",
    )
    parser.add_argument("paths", nargs="+", metavar="CONTENT STYLE [STYLE ...] OUT", type=Path)
    parser.add_argument("--style-layers", type=comma_list(str), help="e.g. relu1_1,relu2_1,relu3_1")
    parser.add_argument("--style-layer-weights", type=comma_list(float), help="one per style layer")
    parser.add_argument("--style-blend", type=comma_list(float), help="one weight per style, e.g. 0.7,0.3")
    parser.add_argument("--instant", action="store_true", help="one network pass instead of optimising")
    parser.add_argument("--strength", type=float, default=1.0, help="instant mode: 0 = content, 1 = style")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_dataclass_args(parser, StyleConfig, skip=(*LIST_FIELDS, "preview_every"))
    return parser


def cmd_stylize(argv: list[str]) -> int:
    from engine.data.images import load_image
    from engine.flags import dataclass_overrides
    from engine.style.gatys import StyleConfig

    parser = build_parser()
    args = parser.parse_intermixed_args(argv)
    if len(args.paths) < 3:
        parser.error("give CONTENT, at least one STYLE, and OUT")
    refuse_overwriting_inputs(args.paths[-1], args.paths[:-1])
    content = load_image(args.paths[0])
    styles = [load_image(p) for p in args.paths[1:-1]]
    out: Path = args.paths[-1]
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.instant:
        from engine.style.instant import instant_stylize

        result = instant_stylize(
            content, styles, args.strength, bool(args.preserve_color), args.size, args.style_blend or ()
        )
    else:
        overrides = dataclass_overrides(StyleConfig, args)
        overrides.update({k: getattr(args, k) for k in LIST_FIELDS if getattr(args, k)})
        result = run_with_progress(content, styles, StyleConfig(**overrides, preview_every=0), args.quiet)
    result.save(out)
    print(f"wrote {out} ({result.width}x{result.height})")
    return 0


def run_with_progress(
    content: Image.Image, styles: list[Image.Image], config: StyleConfig, quiet: bool
) -> Image.Image:
    """Drive the step generator under a tqdm bar showing the losses."""
    from tqdm import tqdm

    from engine.style.gatys import stylize_steps

    image = None
    with tqdm(total=None, unit="step", disable=quiet, desc="stylize") as bar:
        for item in stylize_steps(content, styles, config):
            bar.total = item.total_steps
            bar.update(item.step - bar.n)
            bar.set_postfix(content=f"{item.content_loss:.3f}", style=f"{item.style_loss:.4f}", refresh=False)
            if item.image is not None:
                image = item.image
    return image
