"""`data download NAME`, `data make-edges PHOTOS OUT`, `data make-drawings DATA OUT`, `data
make-looks DATA OUT` and `data make-outline-index DATA OUT`: getting datasets in standard
layouts, and what is made from them."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.outputs import refuse_overwriting_inputs


def cmd_data(argv: list[str]) -> int:
    from engine.data.edges import EDGE_METHODS, available_methods, make_edges_dataset
    from engine.data.sources import DATASETS, default_dataset_roots, download_dataset

    parser = argparse.ArgumentParser(prog="python -m engine data", description="Get datasets.")
    sub = parser.add_subparsers(dest="action", required=True)
    dl = sub.add_parser("download", help="download a named pix2pix or CycleGAN dataset")
    dl.add_argument("name", choices=sorted(DATASETS))
    dl.add_argument("--dest", type=Path, help="folder to put it in (default: $STUDIO_HOME/datasets)")
    dl.add_argument("--sha256", default="", help="refuse the archive unless it has this SHA-256")
    sub.add_parser("list", help="the named datasets")
    edges = sub.add_parser("make-edges", help="build an edges-to-photo dataset from photos")
    edges.add_argument("photos", type=Path, help="folder of photos")
    edges.add_argument("out", type=Path, help="new dataset folder (gets train/ and val/)")
    edges.add_argument(
        "--method", choices=EDGE_METHODS, default="hed" if "hed" in available_methods() else "xdog"
    )
    edges.add_argument("--size", type=int, default=256)
    edges.add_argument("--val-fraction", type=float, default=0.1)
    edges.add_argument("--seed", type=int, default=0)
    drawings = sub.add_parser(
        "make-drawings", help="a drawing-style copy of a split: edge maps redrawn as people draw"
    )
    drawings.add_argument("data", type=Path, help="dataset folder (aligned or paired folders)")
    drawings.add_argument("out", type=Path, help="new dataset folder (gets OUT/SPLIT/*.png, A|B)")
    drawings.add_argument("--split", default="val")
    drawings.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB")
    drawings.add_argument("--size", type=int, default=256)
    drawings.add_argument(
        "--style",
        choices=("drawing", "outline", "open-outline"),
        default="drawing",
        help="drawing: the edge maps redrawn (as --drawing-aug trains); outline: the photos' "
        "outlines drawn on a canvas at a random place and size (the `eval --outlines` set); "
        "open-outline: the same outlines with their contours left 4-12 px open, as quick strokes are",
    )
    drawings.add_argument("--seed", type=int, help="outline styles: the set's seed (default: eval's)")
    add_training_shoe_parsers(sub)
    args = parser.parse_args(argv)
    tables = ("make-looks", "make-outline-index")  # one file each
    if args.action in ("make-edges", "make-drawings", *tables):  # never into their source
        source = args.photos if args.action == "make-edges" else args.data
        refuse_overwriting_inputs(args.out, [source], nested=args.action not in tables)
    if args.action == "make-drawings":
        return make_drawings(args)
    if args.action == "make-looks":
        return make_looks(args)
    if args.action == "make-outline-index":
        return make_outline_index(args)

    if args.action == "list":
        for source in DATASETS.values():
            print(f"{source.name:<22} {source.task:<8} {source.direction}  {source.description}")
        return 0
    if args.action == "download":
        folder = download_dataset(args.name, args.dest or default_dataset_roots()[0], sha256=args.sha256)
        print(
            f"{args.name} is in {folder}; train with: python -m engine train {DATASETS[args.name].task} "
            f"--data {folder}"
            + (
                f" --direction {DATASETS[args.name].direction}"
                if DATASETS[args.name].task == "pix2pix"
                else ""
            )
        )
        return 0
    if args.method not in available_methods():
        parser.error(
            f"edge method {args.method!r} is not installed here; available: {', '.join(available_methods())}"
        )
    counts = make_edges_dataset(args.photos, args.out, args.method, args.size, args.val_fraction, args.seed)
    print(
        f"wrote {counts['train']} train and {counts['val']} val pairs to {args.out}"
        f" ({counts['skipped']} photos skipped: unreadable or too thin)"
    )
    return 0


def add_training_shoe_parsers(sub) -> None:
    """`make-looks` and `make-outline-index`: one file each, of what the studio keeps of a
    split's shoes."""
    looks = sub.add_parser("make-looks", help="a table of looks (colour dabs) of a split's photos")
    looks.add_argument("data", type=Path, help="dataset folder (aligned or paired folders)")
    looks.add_argument("out", type=Path, help="the .safetensors table to write")
    looks.add_argument("--split", default="train")
    looks.add_argument("--seed", type=int, default=0)
    index = sub.add_parser(
        "make-outline-index", help="an index of a split's shoes by silhouette, to complete outlines"
    )
    index.add_argument("data", type=Path, help="edge -> photo dataset folder (aligned or paired)")
    index.add_argument("out", type=Path, help="the .safetensors index to write")
    index.add_argument("--split", default="train", help="train: never the split that is scored")
    index.add_argument("--seed", type=int, default=0)


def make_looks(args: argparse.Namespace) -> int:
    """Where each photo's colours sit on its shoe, for models that take colour hints."""
    import numpy as np

    from engine.data.datasets import open_paired_dataset
    from engine.data.images import tensor_to_image
    from engine.data.looks import write_look_table
    from engine.errors import UserError

    if args.out.exists():
        raise UserError(f"{args.out} exists; choose a new file")
    pairs = open_paired_dataset(args.data, args.split, "AtoB", 256, 256, False)
    photos = [np.asarray(tensor_to_image(pairs[i]["B"])) for i in range(len(pairs))]
    kept = write_look_table(photos, args.out, args.seed)
    print(f"wrote {kept} looks (of {len(photos)} photos) to {args.out}")
    return 0


def make_outline_index(args: argparse.Namespace) -> int:
    """Each shoe's silhouette, edges and dabs, for completing outlines (`outline_completion`)."""
    import numpy as np

    from engine.data.datasets import open_paired_dataset
    from engine.data.images import tensor_to_image
    from engine.data.outline_index import write_outline_index
    from engine.errors import UserError

    if args.out.exists():
        raise UserError(f"{args.out} exists; choose a new file")
    pairs = open_paired_dataset(args.data, args.split, "AtoB", 256, 256, False)

    def items():  # one pair at a time: (edge map as ink, photo as uint8)
        for i in range(len(pairs)):
            item = pairs[i]
            yield item["A"][0].numpy() < 0, np.asarray(tensor_to_image(item["B"]))

    kept = write_outline_index(items(), args.out, args.seed)
    print(f"wrote {kept} shoes (of {len(pairs)} pairs; mirrors added when read) to {args.out}")
    return 0


def make_drawings(args: argparse.Namespace) -> int:
    """Each pair's drawing comes from a generator seeded by its index: the same set every time,
    and the same drawings `eval --drawing-style` (or `--outlines`) scores."""
    from engine.data.datasets import open_paired_dataset
    from engine.data.drawing import PairAugment, write_drawing_set
    from engine.data.outline_set import OUTLINE_SEED, write_outline_set
    from engine.errors import UserError

    out = args.out / args.split
    if args.style in ("outline", "open-outline"):
        dataset = open_paired_dataset(args.data, args.split, args.direction, args.size, args.size, False)
        seed = OUTLINE_SEED if args.seed is None else args.seed
        count, left_out = write_outline_set(dataset, out, seed, args.style == "open-outline")
        print(
            f"wrote {count} {args.style} pairs to {out}"
            + (f" ({left_out} photos had no object to outline)" if left_out else "")
        )
        return 0
    if args.seed is not None:
        raise UserError("--seed applies to the outline styles (drawings are seeded by the pair's index)")
    dataset = open_paired_dataset(
        args.data, args.split, args.direction, args.size, args.size, False, augment=PairAugment("replace")
    )
    count = write_drawing_set(dataset, out)
    print(f"wrote {count} drawing-style pairs to {out}")
    return 0
