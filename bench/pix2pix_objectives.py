"""Which objective to train the sketch model with, compared at equal CPU time.

Every candidate fine-tunes the bundled `default` (ngf 32, instance-affine norm, drawing
augmentation, colour hints) on a paired edges dataset for the same CPU time. First each
candidate's step time is measured in this process on real batches (run nothing else
meanwhile); then each trains for budget / step time steps as an ordinary run
(`python -m engine train`, so the Runs and Compare pages show it; whatever else runs while it
trains changes its wall time, not its step count) and is scored on the val split, clean and
drawing-style. Prints the Markdown table the README carries and appends it to --out.

    python bench/pix2pix_objectives.py --data datasets/edges2shoes [--budget-minutes 5]
        [--only "+FM" "+FM +VGG"] [--out bench/pix2pix_objectives.md]
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import sys
import time
from pathlib import Path

import torch

from engine.flags import flag
from engine.inference.evaluate import evaluate_model
from engine.inference.loader import load_predictor
from engine.runtime.device import cpu_model
from engine.runtime.precision import Precision
from engine.tasks.pix2pix import Pix2Pix, Pix2PixConfig
from engine.training.loop import make_loader
from engine.training.settings import TrainSettings

BASE = {"ngf": 32, "norm": "instance-affine", "init_from": "default", "drawing_aug": True, "hints": True}
CANDIDATES: dict[str, dict] = {
    "L1+cGAN": {},
    "+FM": {"lambda_fm": 10.0},
    "+FM +VGG": {"lambda_fm": 10.0, "lambda_vgg": 10.0},
    "+FM, 2-scale D": {"lambda_fm": 10.0, "d_scales": 2},
    "+FM, LSGAN": {"lambda_fm": 10.0, "gan_mode": "lsgan"},
    "+FM, hinge": {"lambda_fm": 10.0, "gan_mode": "hinge"},
    "+FM, lr 1e-4": {"lambda_fm": 10.0, "lr": 1e-4},
    "+FM, batch 1": {"lambda_fm": 10.0, "batch_size": 1},
}
BATCH = 4


def split_settings(options: dict) -> tuple[dict, int]:
    """The task's config and the batch size (a loop setting) of a candidate."""
    options = {**BASE, **options}
    return {k: v for k, v in options.items() if k != "batch_size"}, options.get("batch_size", BATCH)


def seconds_per_step(options: dict, data: str, steps: int) -> float:
    """One training step's time on real batches after two warm-up steps: the fastest of
    `steps` steps, which is the step's own cost even if something else ran for a moment."""
    config, batch_size = split_settings(options)
    torch.manual_seed(0)
    device = torch.device("cpu")
    task = Pix2Pix(Pix2PixConfig(**config), device, Precision(device, "auto"))
    for net in task.nets.values():  # as the trainer runs them
        net.to(memory_format=torch.channels_last)
    settings = TrainSettings(batch_size=batch_size)
    loader = iter(make_loader(task.make_dataset(data, "train", True), settings, 0, 0, 1, device))
    batches = [next(loader) for _ in range(steps + 2)]
    for batch in batches[:2]:
        task.train_step(batch)
    times = []
    for batch in batches[2:]:
        start = time.perf_counter()
        task.train_step(batch)
        times.append(time.perf_counter() - start)
    return min(times)


def train(name: str, options: dict, data: str, steps: int) -> str:
    """Train a candidate as an ordinary run; returns the run id."""
    config, batch_size = split_settings(options)
    defaults = {f.name: f.default for f in dataclasses.fields(Pix2PixConfig)}
    task_flags = []
    for key, value in config.items():
        if isinstance(value, bool):
            task_flags.append(flag(key) if value else f"--no-{flag(key)[2:]}")
        elif value != defaults[key]:
            task_flags += [flag(key), str(value)]
    command = [sys.executable, "-m", "engine", "train", "pix2pix", "--data", data]
    command += ["--max-steps", str(steps), "--batch-size", str(batch_size), "--sample-every", str(steps)]
    command += ["--checkpoint-every", str(steps), "--keep-checkpoints", "1", "--name", f"objective: {name}"]
    done = subprocess.run(command + task_flags, capture_output=True, text=True)
    found = re.findall(r"^run: (\S+)", done.stdout, re.MULTILINE)
    if done.returncode or not found:
        raise SystemExit(f"{name}: training failed\n{done.stderr[-2000:]}")
    return found[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="paired edges dataset (train/ and val/)")
    parser.add_argument("--budget-minutes", type=float, default=5.0, help="CPU time per candidate")
    parser.add_argument("--timing-steps", type=int, default=4)
    parser.add_argument("--only", nargs="*", choices=list(CANDIDATES), help="a subset of candidates")
    parser.add_argument("--out", type=Path, default=Path("bench/pix2pix_objectives.md"))
    args = parser.parse_args()
    chosen = {name: CANDIDATES[name] for name in args.only or CANDIDATES}
    torch.set_num_threads(torch.get_num_threads())

    print(f"CPU: {cpu_model()}, {torch.get_num_threads()} threads")
    timed: dict[str, float] = {}  # the learning rate does not change a step's cost: time each setup once
    step_time = {}
    for name, options in chosen.items():
        key = repr(sorted((k, v) for k, v in options.items() if k != "lr"))
        if key not in timed:
            timed[key] = seconds_per_step(options, args.data, args.timing_steps)
        step_time[name] = timed[key]
    for name, seconds in step_time.items():
        print(f"  {name:<16} {seconds:.2f} s/step")
    rows = []
    for name, options in chosen.items():
        steps = max(1, round(args.budget_minutes * 60 / step_time[name]))
        run_id = train(name, options, args.data, steps)
        scored = evaluate_model(load_predictor(run_id), args.data, drawing_style=True)
        clean, drawn = scored["val"], scored["val drawing-style"]
        rows.append(
            f"| {name} | {step_time[name]:.2f} | {steps} | {clean['L1']:.3f} | {clean['FID']:.1f} "
            f"| {clean['KID']:.3f} | {drawn['FID']:.1f} | {drawn['KID']:.3f} | `{run_id}` |"
        )
        print(rows[-1], flush=True)
    table = [
        f"Fine-tuning `default` for {args.budget_minutes:g} CPU-minutes each on {cpu_model()} "
        f"({torch.get_num_threads()} threads), scored on {args.data} val:",
        "",
        "| objective | s/step | steps | L1 ↓ | FID ↓ | KID ↓ | drawn FID ↓ | drawn KID ↓ | run |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    print("\n".join(table))
    with args.out.open("a") as out:
        out.write("\n".join(table) + "\n\n")


if __name__ == "__main__":
    main()
