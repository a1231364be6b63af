"""`python -m engine loss-study`: pix2pix's loss study on facades (its Table 1), ours beside the
paper's with a reading of both, built from the run store (engine.loss_study); with
`--score DATA`, every finished run of the study that lacks its FCN-score is scored first."""

from __future__ import annotations

import argparse
import shlex
import sys


def cmd_loss_study(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m engine loss-study",
        description="pix2pix's loss study (Table 1) on facades: our FCN-scores beside the paper's, as "
        "markdown, with what they show. Train the runs with the loss-study presets first.",
    )
    parser.add_argument("--home", help="run store folder (default: $STUDIO_HOME)")
    parser.add_argument(
        "--fcn",
        help="the FCN whose scores fill the labels -> photo table (default: the newest finished run "
        "of the preset 'FCN-score net for facades', else default-fcn-facades)",
    )
    parser.add_argument(
        "--score",
        metavar="DATA",
        help="first run `eval --fcn-score` on this facades folder for every finished run of the study "
        "that has no figures yet, and for the real photos",
    )
    args = parser.parse_args(argv)

    from engine.cli.infer import cmd_eval
    from engine.errors import UserError
    from engine.loss_study import build_tables, markdown, unscored
    from engine.store.runs import RunStore

    store = RunStore(args.home)
    failed = 0
    if args.score:
        home = ["--home", args.home] if args.home else []
        for command in unscored(build_tables(store, args.fcn), args.score):
            print(f"$ python -m engine {shlex.join(command)}", flush=True)
            try:
                cmd_eval([*command[1:], *home])
            except UserError as err:  # one row that cannot be scored leaves the others to score
                print(f"error: {err}", file=sys.stderr)
                failed += 1
    print(markdown(build_tables(store, args.fcn)))
    return 1 if failed else 0
