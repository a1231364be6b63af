"""`sample` and `interpolate`: a latent model's samples as a PNG grid, a walk as a GIF."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from engine.errors import UserError
from engine.flags import number_in
from engine.outputs import refuse_overwriting_inputs

MODEL_HELP = "a run id, a checkpoint (.safetensors), 'default-vae' or 'default-dcgan'"


def _common(parser: argparse.ArgumentParser, scale: int) -> None:
    parser.add_argument("--model", default="default-vae", help=MODEL_HELP)
    parser.add_argument("--label", type=int, help="class for a class-conditional model")
    parser.add_argument(
        "--scale", type=number_in((1, 64)), default=scale, help=f"enlarge the images (default: {scale}x)"
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--home", help="run store folder (default: $STUDIO_HOME)")


def cmd_sample(argv: list[str]) -> int:
    import torch

    from engine.inference.latent import enlarge, grid, latent_map
    from engine.inference.loader import load_latent_model

    parser = argparse.ArgumentParser(
        prog="python -m engine sample", description="Decode random latent codes into a grid of images."
    )
    parser.add_argument("output", type=Path, help="the PNG to write")
    parser.add_argument("--count", type=number_in((1, 4096)), default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--columns", type=number_in((1, 4096)), help="images per row (default: a square grid)"
    )
    parser.add_argument("--map", action="store_true", help="a VAE with latent_dim 2: decode [-3, 3]^2")
    _common(parser, scale=1)
    args = parser.parse_args(argv)
    refuse_overwriting_inputs(args.output, [args.model] if Path(args.model).is_file() else [])
    model = load_latent_model(args.model, args.home, args.device)
    if args.map:
        picture = latent_map(model)
    else:
        columns = args.columns or math.ceil(math.sqrt(args.count))
        labels = args.label
        if model.num_classes and labels is None:  # one class per row
            labels = (torch.arange(args.count) // columns) % model.num_classes
        picture = grid(model.sample(args.count, args.seed, labels), columns)
    picture = enlarge(picture, args.scale)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    picture.save(args.output)
    print(f"wrote {args.output} ({picture.width}x{picture.height}) from {model.source}")
    return 0


def endpoint(model, value: str):
    """An image file (encoded) or an integer seed (a prior sample) -> one latent code."""
    from engine.data.images import load_image

    if Path(value).is_file():
        return model.encode_images([load_image(value)])[0].cpu()
    try:
        seed = int(value)
    except ValueError:
        raise UserError(f"{value} is neither an image file nor an integer seed") from None
    return model.seed_latents([seed])[0]


def cmd_interpolate(argv: list[str]) -> int:
    from engine.inference.latent import interpolate, save_gif, to_images
    from engine.inference.loader import load_latent_model

    parser = argparse.ArgumentParser(
        prog="python -m engine interpolate",
        description="Walk the latent space from A to B and write the decoded frames as a GIF.",
    )
    parser.add_argument("a", help="an image file (VAE/autoencoder only) or an integer seed")
    parser.add_argument("b", help="an image file (VAE/autoencoder only) or an integer seed")
    parser.add_argument("output", type=Path, help="the GIF to write")
    parser.add_argument(
        "--frames", type=number_in((2, 1000)), default=16, help="frames from A to B, both included"
    )
    parser.add_argument("--slerp", action="store_true", help="spherical instead of linear interpolation")
    parser.add_argument("--duration", type=int, default=100, help="milliseconds per frame")
    parser.add_argument("--bounce", action="store_true", help="play forth and back")
    parser.add_argument(
        "--timeline",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="a progress bar under each frame",
    )
    _common(parser, scale=4)
    args = parser.parse_args(argv)
    files = [value for value in (args.model, args.a, args.b) if Path(value).is_file()]
    refuse_overwriting_inputs(args.output, files)
    model = load_latent_model(args.model, args.home, args.device)
    codes = interpolate(endpoint(model, args.a), endpoint(model, args.b), args.frames, args.slerp)
    frames = to_images(model.decode(codes, args.label), args.scale)
    save_gif(frames, args.output, args.duration, args.bounce, args.timeline)
    kind = "spherical" if args.slerp else "linear"
    print(f"wrote {args.output}: {args.frames} frames, {kind} interpolation, from {model.source}")
    return 0
