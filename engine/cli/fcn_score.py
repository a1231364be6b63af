"""`eval --fcn-score`: pix2pix's Table 1 figures for a model (or the real photos) on a label-map
dataset, printed and stored as evals (engine.fcn_score does the work)."""

from __future__ import annotations

import argparse


def add_fcn_score_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("FCN-score (pix2pix's Table 1, label-map datasets such as facades)")
    group.add_argument(
        "--fcn-score",
        action="store_true",
        help="per-pixel accuracy, per-class accuracy and class IoU of the labels a segmentation net "
        "recovers from the generated photos (a photo -> labels model: of its label colours)",
    )
    group.add_argument(
        "--fcn",
        default="default-fcn-facades",
        help="the segmentation model that scores photos: a `segment` run, a file, or the bundled name",
    )
    group.add_argument(
        "--ground-truth",
        action="store_true",
        help="with --fcn-score, instead of a model: score the real photos (the table's ground-truth row)",
    )


def cmd_fcn_score(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from engine.fcn_score import (
        GROUND_TRUTH,
        PHOTO_TO_LABELS,
        REAL_PHOTOS,
        evaluate_fcn_score,
        load_translator,
        record_fcn_score,
        scoring_way,
        translation_direction,
    )

    if not args.fcn_score:
        parser.error("--ground-truth goes with --fcn-score")
    if args.ground_truth == (args.model is not None):
        parser.error("--fcn-score scores a model, or the real photos with --ground-truth (not both)")
    ignored = [
        flag for flag, on in (("--drawing-style", args.drawing_style), ("--outlines", args.outlines)) if on
    ]
    if ignored or args.hints or args.reference_looks:
        parser.error("--fcn-score scores plain inputs: leave out drawing styles, outlines, hints and looks")
    way, fcn = REAL_PHOTOS, args.fcn
    if args.model is not None:
        translator = load_translator(args.model, args.home, args.device, args.direction)
        way = scoring_way(translator, translation_direction(translator, args.direction), "B")
        fcn = None if way == PHOTO_TO_LABELS else args.fcn
    scores = evaluate_fcn_score(
        args.model, args.data, args.split, args.fcn, args.direction, args.home, args.device,
        args.batch_size, args.skip_bad_images,
    )  # fmt: skip
    split = record_fcn_score(args.model, args.data, args.split, fcn, scores, args.home)
    print(f"{args.model or GROUND_TRUTH} on {args.data} ({split}, {way}):")
    for name, value in scores.items():
        print(f"  {name:<14} {value:.4f}")
    return 0
