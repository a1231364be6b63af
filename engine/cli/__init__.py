"""The `python -m engine` command line: one sub-command per library entry point."""

from __future__ import annotations

import argparse
import os
import sys

from engine.cli.data import cmd_data
from engine.cli.infer import cmd_eval, cmd_translate
from engine.cli.latent import cmd_interpolate, cmd_sample
from engine.cli.loss_study import cmd_loss_study
from engine.cli.prior import cmd_prior
from engine.cli.publish import cmd_export, cmd_push
from engine.cli.style import cmd_stylize
from engine.errors import UserError
from engine.flags import LAYERS, SIDE, add_dataclass_args, dataclass_overrides, number_in


def cmd_train(argv: list[str]) -> int:
    from engine.tasks import get_task, task_names
    from engine.training.loop import TrainSettings, train

    # the task, when named, comes first; its config decides which flags exist
    named = argv[0] if argv and not argv[0].startswith("-") and argv[0] in task_names() else None
    parser = argparse.ArgumentParser(
        prog="python -m engine train",
        description="Train a task on a dataset, or continue a run with --resume RUN.",
    )
    parser.add_argument("task", nargs="?", choices=task_names(), help="what to train")
    parser.add_argument("--resume", metavar="RUN", help="continue this run from its last checkpoint")
    parser.add_argument("--home", help="run store folder (default: $STUDIO_HOME)")
    add_dataclass_args(parser, TrainSettings)
    task_type = get_task(named) if named else None
    if task_type:
        add_dataclass_args(parser, task_type.Config)
    args = parser.parse_args(argv)
    if not args.task and not args.resume:
        parser.error("name a task (e.g. pix2pix) or --resume RUN")
    if args.resume:
        run_id = train(home=args.home, resume=args.resume, max_steps=args.max_steps)
    else:
        settings = TrainSettings(**dataclass_overrides(TrainSettings, args))
        run_id = train(args.task, settings, dataclass_overrides(task_type.Config, args), home=args.home)
    if os.environ.get("RANK", "0") == "0":
        print(f"run: {run_id}")
    return 0


def cmd_receptive_field(argv: list[str]) -> int:
    from engine.models.patchgan import patchgan_receptive_fields

    parser = argparse.ArgumentParser(
        prog="python -m engine receptive-field", description="PatchGAN receptive field after each layer."
    )
    parser.add_argument("--n-layers", type=number_in(LAYERS), default=3)
    parser.add_argument("--size", type=number_in(SIDE), default=256, help="input side in pixels")
    args = parser.parse_args(argv)
    print(f"{'layer':>5} {'kernel':>6} {'stride':>6} {'out size':>8} {'channels':>8} {'receptive field':>16}")
    for r in patchgan_receptive_fields(args.n_layers, args.size):
        print(
            f"{r.layer:>5} {r.kernel:>6} {r.stride:>6} {r.out_size:>8} {r.out_channels:>8} "
            f"{r.receptive_field:>9}x{r.receptive_field}"
        )
    return 0


def cmd_runs(argv: list[str]) -> int:
    from engine.store.runs import RunStore

    parser = argparse.ArgumentParser(prog="python -m engine runs", description="List or stop runs.")
    parser.add_argument("action", nargs="?", default="list", choices=("list", "show", "stop"))
    parser.add_argument("run", nargs="?")
    parser.add_argument("--home")
    args = parser.parse_args(argv)
    store = RunStore(args.home)
    if args.action == "list":
        for run in store.list():
            print(f"{run.id}  {run.status:<9} step {run.step}/{run.max_steps or '?'}  {run.name}")
        return 0
    if not args.run:
        parser.error(f"'{args.action}' needs a run id")
    if args.action == "stop":
        run = store.get(args.run)  # an unknown run is an error, not a silent no-op
        if run.status != "running":
            print(f"{args.run} is not running ({run.status}); nothing to stop")
            return 1
        store.request_stop(args.run)
        print(f"asked {args.run} to stop")
        return 0
    run = store.get(args.run)
    events = store.events(run.id)
    print(f"{run.id}: {run.task}, {run.status}, step {run.step}/{run.max_steps}, {run.message or ''}")
    starts = [msg for _, kind, msg in events if kind in ("started", "resumed")]
    if starts:  # the latest start's precision is the one the run trains in; older runs kept no reason
        latest = starts[-1]
        used = latest.partition("precision: ")[2] or f"{latest.rsplit(', ', 1)[-1]} (reason not recorded)"
        print(f"precision: {used}")
    for _, kind, msg in events:
        print(f"  {kind:<15} {msg}")
    return 0


COMMANDS = {
    "train": cmd_train,
    "translate": cmd_translate,
    "eval": cmd_eval,
    "export": cmd_export,
    "push": cmd_push,
    "data": cmd_data,
    "runs": cmd_runs,
    "receptive-field": cmd_receptive_field,
    "stylize": cmd_stylize,
    "sample": cmd_sample,
    "interpolate": cmd_interpolate,
    "prior": cmd_prior,
    "loss-study": cmd_loss_study,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        usage = "usage: python -m engine {" + ",".join(COMMANDS) + "} ..."
        if argv and argv[0] not in ("-h", "--help"):  # as argparse does: usage, then the error
            print(f"{usage}\nerror: unknown command {argv[0]!r}", file=sys.stderr)
            return 2
        print(f"{usage}\nRun a command with --help for its options.")
        return 0
    try:
        return COMMANDS[argv[0]](argv[1:])
    except (UserError, OSError) as err:  # fixable input or a file system problem; else a bug
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as err:  # Ctrl-C: one line (training says where it stopped), no traceback
        print(f"interrupted{': ' + str(err) if str(err) else ''}", file=sys.stderr)
        return 130  # 128 + SIGINT, as shells report it
