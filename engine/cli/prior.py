"""`prior`: restore one picture with the deep image prior (denoise, inpaint, upscale)."""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

from engine.outputs import refuse_overwriting_inputs


def build_parser() -> argparse.ArgumentParser:
    from engine.flags import add_dataclass_args
    from engine.prior.corruption import KINDS
    from engine.prior.fit import PriorConfig

    parser = argparse.ArgumentParser(
        prog="python -m engine prior",
        description="Fit an untrained network to one corrupted picture INPUT and write the restored OUTPUT.",
    )
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("input", type=Path, metavar="INPUT")
    parser.add_argument("output", type=Path, metavar="OUTPUT")
    parser.add_argument("--mask", type=Path, help="inpaint: holes to fill (white, or opaque on transparent)")
    parser.add_argument("--scale", type=int, default=4, help="upscale: the output is this many times larger")
    parser.add_argument("--clean", type=Path, metavar="REF", help="clean picture: log PSNR against it")
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="INPUT is clean: corrupt it first (noise of --sigma, the mask's holes, or shrinking) and "
        "measure PSNR against it",
    )
    parser.add_argument("--sigma", type=float, default=25.0, help="--simulate denoise: noise std on 0-255")
    parser.add_argument("--save-corrupted", type=Path, metavar="PATH", help="also write the corrupted input")
    parser.add_argument("--log", type=Path, metavar="CSV", help="write step, loss and PSNRs to this file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_dataclass_args(parser, PriorConfig, skip=("preview_every",))
    return parser


def cmd_prior(argv: list[str]) -> int:
    from engine.data.images import load_image
    from engine.flags import dataclass_overrides
    from engine.prior.corruption import corruption_of, simulate, to_picture, to_unit_tensor
    from engine.prior.fit import PriorConfig, psnr_db

    parser = build_parser()
    args = parser.parse_args(argv)
    for output in (args.output, args.save_corrupted, args.log):
        if output is not None:
            refuse_overwriting_inputs(output, (args.input, args.mask, args.clean))
    config = PriorConfig(**dataclass_overrides(PriorConfig, args), preview_every=0)
    picture = load_image(args.input)
    mask = load_image(args.mask, mode=None) if args.mask else None
    if args.simulate:
        corruption = simulate(args.kind, picture, args.sigma, mask, args.scale, config.seed)
        reference = to_unit_tensor(picture)
    else:
        corruption = corruption_of(args.kind, picture, mask, args.scale)
        reference = to_unit_tensor(load_image(args.clean)) if args.clean else None
    if args.save_corrupted:
        args.save_corrupted.parent.mkdir(parents=True, exist_ok=True)
        to_picture(corruption.naive()).save(args.save_corrupted)
    result, log = run_with_progress(corruption, config, reference, args.quiet)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    image = to_picture(result)
    image.save(args.output)
    print(f"wrote {args.output} ({image.width}x{image.height})")
    if reference is not None:
        height, width = corruption.output_size
        target = reference[..., :height, :width]
        best = max(log, key=lambda row: max(row.psnr, row.psnr_average))
        print(
            f"PSNR: input {psnr_db(corruption.naive(), target):.2f} dB, output {psnr_db(result, target):.2f} dB "
            f"(best {max(best.psnr, best.psnr_average):.2f} dB at step {best.step})"
        )
    if args.log:
        write_log(args.log, log)
        print(f"wrote {args.log}")
    return 0


def run_with_progress(corruption, config, reference, quiet: bool):
    """Drive the fit under a tqdm bar showing the loss (and PSNR with a reference)."""
    from tqdm import tqdm

    from engine.prior.fit import PriorProgress, prior_steps

    log: list[PriorProgress] = []
    item = None
    with tqdm(total=None, unit="step", disable=quiet, desc=corruption.kind) as bar:
        for item in prior_steps(corruption, config, reference):
            bar.total = item.total_steps
            bar.update(item.step - bar.n)
            if item.step % config.log_every == 0 or item.done:
                log.append(item)
            postfix = {"loss": f"{item.loss:.5f}"}
            if not math.isnan(log[-1].psnr if log else math.nan):
                postfix["PSNR"] = f"{log[-1].psnr_average:.2f}"
            bar.set_postfix(postfix, refresh=False)
    return item.result, log


def write_log(path: Path, log) -> None:
    """The logged steps as CSV (PSNR columns empty without a reference)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["step", "loss", "psnr", "psnr_average"])
        for row in log:
            psnrs = ["" if math.isnan(v) else f"{v:.4f}" for v in (row.psnr, row.psnr_average)]
            writer.writerow([row.step, f"{row.loss:.6f}", *psnrs])
