"""`translate` and `eval`: using a trained model from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.fcn_score import add_fcn_score_args, cmd_fcn_score
from engine.flags import number_in
from engine.outputs import refuse_overwriting_inputs

MODEL_HELP = (
    "a run id, a checkpoint (.safetensors, or an official .pth generator), 'default', "
    "a folder from `export --format hub`, or a Hub model user/name (hf://user/name)"
)
RAW_HINTS_HELP = "the generator's colours as they come, without moving them toward the hints"
NO_COMPLETE_HELP = (
    "send bare outlines to the model as drawn, without the interior edges of the training shoe "
    "whose silhouette matches best (the bundled outline index)"
)
SKIP_HELP = "warn about unreadable images (or aligned ones that are not A|B pairs) and skip them"


def translate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m engine translate",
        description="Translate an image or a folder of images (label maps for pix2pixHD/SPADE models).",
    )
    parser.add_argument("input", type=Path, help="an image or a folder of images")
    parser.add_argument("output", type=Path, help="output image, or folder (one PNG per input)")
    parser.add_argument("--model", default="default", help=MODEL_HELP)
    parser.add_argument(
        "--direction",
        choices=("AtoB", "BtoA"),
        help="one-way models: inputs are aligned A|B pairs, use this direction's input side; "
        "two-way (CycleGAN) models: translate this way (AtoB: G_A, BtoA: G_B)",
    )
    parser.add_argument(
        "--pairs", action="store_true", help="two-way models: inputs are A|B pairs, take the input side"
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--sketch",
        action="store_const",
        const="drawing",
        dest="source",
        help="inputs are drawings: strokes fitted and thinned like edges2shoes, hints moved with "
        "them, coloured strokes taken as hints (as the studio's sketch tab does)",
    )
    source.add_argument(
        "--photo",
        action="store_const",
        const="photo",
        dest="source",
        help="inputs are photos: fitted to the square and their edges extracted first",
    )
    parser.add_argument(
        "--fit",
        choices=("resize", "pad"),
        default="resize",
        help="resize to the model's size, or pad to keep the input's size",
    )
    parser.add_argument(
        "--hints",
        type=Path,
        help="colour hints: an RGBA image (alpha > 0 marks a hint, RGB its colour), or a folder "
        "of them named like the inputs",
    )
    parser.add_argument("--raw-hints", action="store_true", help=RAW_HINTS_HELP)
    parser.add_argument("--no-complete", action="store_true", help=NO_COMPLETE_HELP)
    parser.add_argument(
        "--style", type=Path, help="label-map models with a style encoder: a photo whose style to use"
    )
    parser.add_argument(
        "--seed",
        type=int,
        help="models with latent codes (bicyclegan, SPADE): the look's seed, one look per seed",
    )
    parser.add_argument(
        "--variations", type=int, metavar="K", help="multimodal models: K looks of each input, STEM_0.png ..."
    )
    parser.add_argument(
        "--reference", type=Path, help="multimodal models: draw the shoe in the look of this photo"
    )
    parser.add_argument("--batch-size", type=number_in((1, 1024)), default=8)
    parser.add_argument("--skip-bad-images", action="store_true", help=SKIP_HELP)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--home", help="run store folder (default: $STUDIO_HOME)")
    return parser


def cmd_translate(argv: list[str]) -> int:
    from engine.inference.kinds import image_translating_kinds
    from engine.inference.label_maps import LabelMapModel, synthesize_paths
    from engine.inference.loader import load_model
    from engine.pipelines.sketch import SketchPipeline
    from engine.pipelines.translate import translate_paths

    args = translate_parser().parse_args(argv)
    refuse_overwriting_inputs(
        args.output,
        (args.input, args.hints, args.style, args.reference),
        folder=args.input.is_dir() or not args.output.suffix,
    )
    kinds = (*image_translating_kinds(), "label-map")
    predictor = load_model(args.model, kinds, args.home, args.device, direction=args.direction or "AtoB")
    if isinstance(predictor, LabelMapModel):
        written = synthesize_paths(predictor, args.input, args.output, args.style, args.seed)
        print(f"wrote {len(written)} image(s) to {written[0] if len(written) == 1 else args.output}")
        return 0
    two_way = "direction" in predictor.meta  # a CycleGAN run serves the generator asked for
    pipeline = SketchPipeline.serving(predictor, not args.raw_hints, not args.no_complete)
    written = translate_paths(
        pipeline,
        args.input,
        args.output,
        args.direction if args.pairs or not two_way else None,
        args.source,
        args.fit,
        args.batch_size,
        hints=args.hints,
        skip_bad=args.skip_bad_images,
        looks=looks_asked(args, pipeline),
    )
    print(f"wrote {len(written)} image(s) to {written[0] if len(written) == 1 else args.output}")
    return 0


def looks_asked(args: argparse.Namespace, pipeline) -> dict:
    """File-name suffix -> Look, from --seed, --variations and --reference."""
    from engine.data.images import load_image
    from engine.errors import UserError
    from engine.pipelines.sketch import Look

    if args.seed is None and args.variations is None and args.reference is None:
        return {"": Look()}
    if not pipeline.multimodal:
        name = Path(pipeline.predictor.source).name
        raise UserError(
            f"{name} draws one look per input; --seed, --variations and --reference need a multimodal "
            "model (python -m engine train bicyclegan ...)"
        )
    if args.reference is not None:
        if args.variations:
            raise UserError("--reference gives one look; leave out --variations")
        return {"": Look(reference=load_image(args.reference))}
    if args.variations is not None:
        if not 1 <= args.variations <= 64:
            raise UserError(f"--variations must be 1 to 64, got {args.variations}")
        first = args.seed or 0
        return {f"_{k}": Look(seed=first + k) for k in range(args.variations)}
    return {"": Look(seed=args.seed)}


def eval_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m engine eval",
        description="L1, PSNR, SSIM, FID and KID on a held-out split; with --fcn-score the FCN-score.",
    )
    parser.add_argument("model", nargs="?", help=MODEL_HELP)
    parser.add_argument("--data", required=True, help="dataset folder in a standard layout")
    parser.add_argument("--split", default="val", help="val (falls back to test) or test")
    parser.add_argument("--direction", choices=("AtoB", "BtoA"), help="default: the model's own")
    parser.add_argument("--batch-size", type=number_in((1, 1024)), default=5)
    parser.add_argument("--no-fid", action="store_true", help="skip FID/KID (faster)")
    parser.add_argument("--skip-bad-images", action="store_true", help=SKIP_HELP)
    parser.add_argument(
        "--drawing-style",
        action="store_true",
        help="also score inputs redrawn as people draw (the `data make-drawings` set)",
    )
    parser.add_argument(
        "--outlines",
        action="store_true",
        help="also score outlines of the photos drawn on a canvas, prepared as the studio prepares "
        "a drawing (the `data make-drawings --style outline` set; scored without hints)",
    )
    parser.add_argument(
        "--hints",
        type=number_in((0, 1000)),
        default=0,
        metavar="N",
        help="give N colour dabs taken from each target",
    )
    parser.add_argument("--raw-hints", action="store_true", help=RAW_HINTS_HELP)
    parser.add_argument("--no-complete", action="store_true", help=NO_COMPLETE_HELP)
    parser.add_argument(
        "--looks",
        type=int,
        default=3,
        metavar="K",
        help="multimodal models: score K looks of each input (seeds 0..K-1, all counted in FID/KID) "
        "and their diversity (VGG19 feature distance between looks); 1: the typical look only",
    )
    parser.add_argument(
        "--reference-looks",
        action="store_true",
        help="multimodal models: also score each input in the look of its own target photo",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--home", help="run store folder (default: $STUDIO_HOME)")
    add_fcn_score_args(parser)
    return parser


def cmd_eval(argv: list[str]) -> int:
    from PIL import Image

    from engine.inference.evaluate import Looks, evaluate_model
    from engine.inference.kinds import image_translating_kinds
    from engine.inference.loader import load_model
    from engine.inference.predictor import Predictor
    from engine.pipelines.sketch import SketchPipeline
    from engine.store.runs import RunStore

    parser = eval_parser()
    args = parser.parse_args(argv)
    if args.fcn_score or args.ground_truth:
        return cmd_fcn_score(args, parser)
    if args.model is None:
        parser.error("the following arguments are required: model")
    kinds = (*image_translating_kinds(), "label-map")
    predictor = load_model(args.model, kinds, args.home, args.device, direction=args.direction or "AtoB")
    translate, looks = None, None  # label-map models score their own translate_tensor
    if isinstance(predictor, Predictor):  # what the studio serves: the model and the colour pull
        pipeline = SketchPipeline.serving(predictor, not args.raw_hints, not args.no_complete)
        translate = pipeline.translate_tensor
        looks = looks_to_score(pipeline, args.looks)

        def prepare(canvas: Image.Image) -> Image.Image:  # a drawing's way to the model's input
            return pipeline.prepare(canvas).edges

    elif args.outlines:
        parser.error("--outlines needs an edge -> photo model")
    if args.outlines and args.hints:
        print("the outline set is scored without hints (a drawn outline carries none)")
    direction = args.direction or predictor.meta.get("config", {}).get("direction", "AtoB")
    scored = evaluate_model(
        predictor,
        args.data,
        args.split,
        direction,
        args.drawing_style,
        args.hints,
        args.batch_size,
        not args.no_fid,
        args.skip_bad_images,
        translate,
        prepare if args.outlines else None,
        looks,
    )
    if args.reference_looks:
        if translate is None or not pipeline.multimodal:
            parser.error("--reference-looks needs a model with several looks (a look encoder or table)")
        by_reference = evaluate_model(
            predictor, args.data, args.split, direction, False, args.hints, args.batch_size,
            not args.no_fid, args.skip_bad_images, translate, None, Looks([], encode=reference_looks),
        )  # fmt: skip
        scored.update({f"{split} reference look": results for split, results in by_reference.items()})
    store = RunStore(args.home)
    for split, results in scored.items():
        split += " raw" if args.raw_hints and split.endswith(" hints") else ""
        split += " as drawn" if args.no_complete and split.endswith(" outlines") else ""
        store.log_eval(args.model, str(Path(args.data).resolve()), split, results)
        how = "label map" if hasattr(predictor, "palette") else direction
        print(f"{args.model} on {args.data} ({split}, {how}):")
        for name, value in results.items():
            print(f"  {name:<8} {value:.4f}")
    return 0


def reference_looks(photos):
    """Each target photo (a batch in [-1, 1]) as the reference look of its own input."""
    from engine.data.images import tensor_to_image
    from engine.pipelines.sketch import Look

    return [Look(reference=tensor_to_image(photo)) for photo in photos]


def looks_to_score(pipeline, count: int):
    """The looks `eval` scores for a multimodal model: seeds 0..count-1 (the typical look alone
    for count 1 or a one-look model)."""
    from engine.errors import UserError
    from engine.inference.evaluate import Looks
    from engine.metrics import LookDistance
    from engine.pipelines.sketch import Look

    if not 1 <= count <= 16:
        raise UserError(f"--looks must be 1 to 16, got {count}")
    if not pipeline.multimodal or count == 1:
        return None
    return Looks([Look(seed=k) for k in range(count)], LookDistance())
