"""THE training loop for every task.

    task = build(...); restore checkpoint if resuming
    for step in range(start, max_steps):
        losses = task.train_step(next(batches))        # the task's own math
        log losses; every N steps save samples / a checkpoint
        stop cleanly on SIGINT/SIGTERM or a stop request from the run store

Under torchrun each process trains on its own shard of the data (DistributedDataParallel);
rank 0 writes the run store, samples and checkpoints.
"""

from __future__ import annotations

import dataclasses
import math
import os
import signal
import time
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Subset
from tqdm import tqdm

from engine.checkpoint import (
    BEST_CHECKPOINT,
    config_dict,
    load_resume_state,
    prune_checkpoints,
    read_weights,
    rng_state,
    save_checkpoint,
    save_weights,
    set_rng_state,
)
from engine.data.images import image_grid
from engine.data.sampling import ResumableSampler
from engine.periodic_eval import SELECT_BY, PeriodicEval
from engine.precision import Precision, keep_large_buffers_mapped, pick_device
from engine.runs import RunStore
from engine.tasks import get_task


@dataclass
class TrainSettings:
    """Settings of the loop itself, the same for every task."""

    data: str = field(default="", metadata={"help": "dataset folder (standard pix2pix layouts)"})
    max_steps: int = field(default=0, metadata={"help": "iterations to train (0: use --epochs)"})
    epochs: float = field(default=200.0, metadata={"help": "passes over the data when max_steps is 0"})
    batch_size: int = field(default=4, metadata={"help": "per process"})
    sample_size: int = field(default=5, metadata={"help": "held-out images in each sample grid"})
    sample_every: int = 500
    eval_every: int = field(default=0, metadata={"help": "held-out L1/FID/KID every N steps (0: never)"})
    eval_size: int = field(default=50, metadata={"help": "held-out images each evaluation scores"})
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    lr_policy: str = field(default="linear", metadata={"choices": ("linear", "constant")})
    lr_decay_start: float = field(default=0.5, metadata={"help": "fraction of steps before lr decays to 0"})
    precision: str = field(default="auto", metadata={"choices": ("auto", "fp32", "bf16", "fp16")})
    device: str = "auto"
    num_workers: int = 0
    seed: int = 0
    skip_bad_images: bool = False
    name: str = ""


class StopFlag:
    """First SIGINT/SIGTERM asks for a clean stop; a second SIGINT interrupts at once."""

    def __init__(self) -> None:
        self.raised = False
        self._old = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}

    def _handle(self, signum, frame) -> None:
        if self.raised and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.raised = True

    def restore(self) -> None:
        for s, handler in self._old.items():
            signal.signal(s, handler)


def setup_distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank); starts a process group when torchrun launched us."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0"))


def ddp_wrapper(device: torch.device, world: int):
    if world == 1:
        return lambda net: net

    def wrap(net: torch.nn.Module) -> torch.nn.Module:
        if device.type == "cuda":  # SyncBatchNorm needs GPUs; CPU ranks keep per-rank stats
            net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
            return torch.nn.parallel.DistributedDataParallel(net, device_ids=[device])
        return torch.nn.parallel.DistributedDataParallel(net)

    return wrap


def lr_lambda(policy: str, decay_start: float, max_steps: int):
    """Constant, then (for 'linear') straight down to 0, as the official schedule."""
    start = int(max_steps * decay_start)

    def factor(step: int) -> float:
        if policy == "constant" or step < start:
            return 1.0
        return max(0.0, 1.0 - (step - start) / max(1, max_steps - start))

    return factor


def train(
    task_name: str | None = None,
    settings: TrainSettings | None = None,
    task_config: dict | None = None,
    home: str | None = None,
    resume: str | None = None,
    max_steps: int | None = None,
) -> str:
    """Train a new run (task_name + settings) or continue one (resume=RUN). Returns the run id."""
    rank, world, local_rank = setup_distributed()
    keep_large_buffers_mapped()
    store = RunStore(home) if rank == 0 else None
    checkpoint = None
    if resume:
        saved = (store or RunStore(home)).get(resume)
        task_name, settings = saved.task, TrainSettings(**saved.config["settings"])
        task_config = saved.config["task_config"]
        checkpoint = (store or RunStore(home)).latest_checkpoint(resume)
        if checkpoint is None:
            raise ValueError(f"run {resume} has no checkpoint to resume from")
    settings = settings or TrainSettings()
    if max_steps:
        settings = dataclasses.replace(settings, max_steps=max_steps)
    if not settings.data:
        raise ValueError("no dataset given (--data DIR)")

    device = pick_device(settings.device)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    torch.manual_seed(settings.seed + rank)
    TaskType = get_task(task_name)
    config = TaskType.Config(**(task_config or {}))
    precision = Precision(device, settings.precision)
    task = TaskType(config, device, precision)
    for net in task.nets.values():  # faster convolutions on CPU and GPU alike
        net.to(memory_format=torch.channels_last)
    dataset = task.make_dataset(settings.data, "train", train=True, skip_bad=settings.skip_bad_images)
    steps = settings.max_steps or math.ceil(settings.epochs * len(dataset) / (settings.batch_size * world))
    settings = dataclasses.replace(settings, max_steps=steps)
    schedulers = {
        k: torch.optim.lr_scheduler.LambdaLR(
            opt, lr_lambda(settings.lr_policy, settings.lr_decay_start, steps)
        )
        for k, opt in task.optimizers.items()
    }

    step = 0
    if checkpoint is not None:
        nets, meta = read_weights(checkpoint)
        for name, net in task.nets.items():
            net.load_state_dict(nets[name])
        state = load_resume_state(checkpoint)
        for name, opt in task.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        for name, sched in schedulers.items():
            sched.load_state_dict(state["schedulers"][name])
        set_rng_state(state["rng"][min(rank, len(state["rng"]) - 1)])
        step = meta["step"]
    task.distribute(ddp_wrapper(device, world))

    run_config = {
        "settings": config_dict(settings),
        "task_config": config_dict(config),
        "loss_names": task.loss_names,
        "visual_names": task.visual_names,
    }
    run_id = resume
    if rank == 0:
        if run_id is None:
            run_id = store.create_run(task_name, run_config, settings.name, steps).id
        store.claim(run_id, steps)
        store.log_event(
            run_id,
            "resumed" if resume else "started",
            f"step {step} of {steps}, {world} process(es), {precision.mode}",
        )
    if world > 1:
        box = [run_id]
        dist.broadcast_object_list(box, src=0)
        run_id = box[0]
    run_folder = (store or RunStore(home)).runs_dir / run_id

    loader = DataLoader(
        dataset,
        batch_size=settings.batch_size,
        num_workers=settings.num_workers,
        sampler=ResumableSampler(len(dataset), settings.seed, step * settings.batch_size, rank, world),
        pin_memory=device.type == "cuda",
        persistent_workers=settings.num_workers > 0,
        generator=torch.Generator(),
    )  # own generator: leaves the global RNG alone
    batches = iter(loader)
    held_out = held_out_dataset(task, settings) if rank == 0 else None
    sample_batch = fixed_sample_batch(held_out, settings.sample_size) if rank == 0 else None
    evaluator = (
        PeriodicEval(task, held_out, settings.eval_size) if rank == 0 and settings.eval_every else None
    )
    best_score = best_selection_score(run_folder / "checkpoints")
    meta = {
        "task": task_name,
        "config": config_dict(config),
        "settings": config_dict(settings),
        "run": run_id,
    }

    def save(at_step: int) -> None:
        states = [rng_state()]
        if world > 1:  # every rank's RNG, so each continues its own stream
            states = [None] * world
            dist.all_gather_object(states, rng_state())
        if rank != 0:
            return
        resume_state = {
            "optimizers": {k: o.state_dict() for k, o in task.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in schedulers.items()},
            "rng": states,
        }
        path = save_checkpoint(run_folder / "checkpoints", at_step, task.nets, meta, resume_state)
        prune_checkpoints(run_folder / "checkpoints", settings.keep_checkpoints)
        store.log_event(run_id, "checkpoint", path.name)

    stop = StopFlag()
    pending: list[tuple[int, str, float]] = []
    last_flush = last_poll = time.time()
    status, message = "finished", None
    bar = tqdm(total=steps, initial=step, disable=rank != 0, unit="it", dynamic_ncols=True)
    try:
        while step < steps:
            losses = task.train_step(next(batches))
            for sched in schedulers.values():
                sched.step()
            step += 1
            if rank == 0:
                pending += [(step, k, v) for k, v in losses.items()]
                bar.update()
                bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
                if time.time() - last_flush > 1.0:
                    store.log_metric_rows(run_id, pending)
                    pending, last_flush = [], time.time()
                if step % settings.sample_every == 0 or step == steps:
                    save_samples(task, sample_batch, run_folder / "samples" / f"step_{step:08d}.png")
                if evaluator and (step % settings.eval_every == 0 or step == steps):
                    scores = evaluate_now(task, evaluator)
                    pending += [(step, k, v) for k, v in scores.items()]
                    if scores.get(SELECT_BY, math.inf) < best_score:
                        best_score = scores[SELECT_BY]
                        save_best(
                            run_folder / "checkpoints", task.nets, {**meta, "step": step, "scores": scores}
                        )
                        store.log_event(run_id, "best", f"step {step}: {SELECT_BY} {best_score:.4f}")
            if step % settings.checkpoint_every == 0 and step < steps:
                save(step)
            want_stop = stop.raised
            if rank == 0 and time.time() - last_poll > 2.0:
                want_stop = want_stop or store.stop_requested(run_id)
                last_poll = time.time()
            if world > 1 and (step % 10 == 0 or step == steps):
                flag = torch.tensor([float(want_stop)], device=device if device.type == "cuda" else "cpu")
                dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                want_stop = bool(flag.item())
            if want_stop and step < steps:
                status, message = "stopped", f"stopped at step {step}"
                break
        save(step)
    except BaseException as err:
        status, message = "failed", f"{type(err).__name__}: {err}"
        raise
    finally:
        bar.close()
        stop.restore()
        if rank == 0:
            store.log_metric_rows(run_id, pending)
            store.set_status(run_id, status, message)
    return run_id


def held_out_dataset(task, settings: TrainSettings):
    """The val split (or test), else the training images without augmentation."""
    try:
        return task.make_dataset(settings.data, "val", train=False, skip_bad=True)
    except (FileNotFoundError, ValueError):
        return task.make_dataset(settings.data, "train", train=False, skip_bad=True)


def fixed_sample_batch(held_out, size: int) -> dict:
    """The same few held-out pairs at every sample step, so grids over time compare."""
    picked = Subset(held_out, range(min(size, len(held_out))))
    return next(iter(DataLoader(picked, batch_size=len(picked), generator=torch.Generator())))


def evaluate_now(task, evaluator: PeriodicEval) -> dict[str, float]:
    task.set_train(False)
    try:
        return evaluator()
    finally:
        task.set_train(True)


def best_selection_score(folder) -> float:
    """The score of the run's best checkpoint so far (inf if none): a resumed run keeps it."""
    path = folder / BEST_CHECKPOINT
    if not path.is_file():
        return math.inf
    return float(read_weights(path)[1].get("scores", {}).get(SELECT_BY, math.inf))


def save_best(folder, nets: dict, meta: dict) -> None:
    """The weights that scored best so far, beside the rotating checkpoints (never pruned)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (BEST_CHECKPOINT + ".tmp")
    save_weights(tmp, {name: net.state_dict() for name, net in nets.items()}, meta)
    tmp.replace(folder / BEST_CHECKPOINT)


def save_samples(task, batch: dict, path) -> None:
    """A grid: one row per sample, one column per declared visual."""
    task.set_train(False)
    visuals = task.visuals(batch)
    task.set_train(True)
    count = len(visuals[task.visual_names[0]])
    rows = [[visuals[name][i] for name in task.visual_names] for i in range(count)]
    path.parent.mkdir(parents=True, exist_ok=True)
    image_grid(rows).save(path)
