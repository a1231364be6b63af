"""`export` and `push`: a model leaves the studio as a file, a Hub folder, ONNX, or on the Hub."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.infer import MODEL_HELP

FORMATS = ("safetensors", "hub", "onnx")
LICENCE_HELP = "the model card's licence id (mit, apache-2.0, cc-by-4.0, ...; default: other)"


def cmd_export(argv: list[str]) -> int:
    from engine.inference.loader import export_model

    parser = argparse.ArgumentParser(
        prog="python -m engine export",
        description="Write a small inference-only model: a .safetensors file (fp16 generator + its "
        "config), a Hugging Face Hub folder (what `push` uploads) or an ONNX graph.",
    )
    parser.add_argument("model", help=MODEL_HELP)
    parser.add_argument("out", type=Path, help="the .safetensors file, hub folder or .onnx file to write")
    parser.add_argument("--format", choices=FORMATS, default="safetensors", help="default: safetensors")
    parser.add_argument("--fp32", action="store_true", help="keep full precision (safetensors, hub)")
    parser.add_argument("--best", action="store_true", help="the run's checkpoint with the best val KID")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    parser.add_argument("--license", default="other", help=f"hub: {LICENCE_HELP}")
    parser.add_argument("--direction", choices=("AtoB", "BtoA"), help="onnx: a two-way model's generator")
    parser.add_argument("--opset", type=int, default=17, help="onnx: the ONNX opset (default 17)")
    parser.add_argument("--home", help="run store folder (default: $STUDIO_HOME)")
    args = parser.parse_args(argv)
    if args.format == "hub":
        from engine.hub_publish import write_hub_folder

        folder = write_hub_folder(
            args.model, args.out, not args.fp32, args.home, args.best, args.overwrite, args.license
        )
        size = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
        print(f"wrote {folder}/ ({', '.join(sorted(p.name for p in folder.iterdir()))}; {size:.1f} MiB)")
        return 0
    if args.format == "onnx":
        return export_onnx_file(args)
    path = export_model(args.model, args.out, not args.fp32, args.home, args.best, args.overwrite)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    return 0


def export_onnx_file(args: argparse.Namespace) -> int:
    """ONNX through engine.onnx_export, under the same rules as every export (never over its
    source or into a run's checkpoints; an existing file only with --overwrite)."""
    from engine.inference.loader import find_model, refuse_export_target
    from engine.onnx_export import export_onnx
    from engine.store.models import best_checkpoint

    source = best_checkpoint(args.model, args.home) if args.best else find_model(args.model, args.home)
    refuse_export_target(args.out, source, args.home, args.overwrite)
    model = str(source) if args.best else args.model
    path = export_onnx(model, args.out, args.home, args.direction, args.opset)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB, opset {args.opset})")
    return 0


def cmd_push(argv: list[str]) -> int:
    from engine.hub_publish import push

    parser = argparse.ArgumentParser(
        prog="python -m engine push",
        description="Publish a run or model on the Hugging Face Hub: its inference networks "
        "(safetensors), config.json and a model card with its held-out metrics. Needs a token "
        "(`hf auth login` or HF_TOKEN).",
    )
    parser.add_argument("model", help=MODEL_HELP)
    parser.add_argument("repo", help="the Hub model repo, user/name (created if missing)")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument("--fp32", action="store_true", help="keep full precision (default fp16)")
    parser.add_argument("--best", action="store_true", help="the run's checkpoint with the best val KID")
    parser.add_argument("--license", default="other", help=LICENCE_HELP)
    parser.add_argument("--home", help="run store folder (default: $STUDIO_HOME)")
    args = parser.parse_args(argv)
    url = push(args.model, args.repo, None, args.private, not args.fp32, args.home, args.best, args.license)
    print(f"published {args.model} to {url}")
    return 0
