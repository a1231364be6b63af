"""THE training loop for every task. It reads top to bottom:

    plan what to train (a new run, or a resumed one with its own config)
    build the task, its data and learning-rate schedules; restore a checkpoint if resuming
    for each step: the task's own train_step, then record losses, show samples, evaluate,
        checkpoint, and stop cleanly on Ctrl-C/SIGTERM or a stop request from the run store

The pieces live beside it: settings (TrainSettings, schedules), recording (the run store),
checkpointing (restore, save, best), held_out (samples, evaluation), distributed (torchrun).
Under torchrun each process trains on its own shard; rank 0 writes the run store and files.
"""

from __future__ import annotations

import dataclasses
import signal
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from engine.data.sampling import ResumableSampler
from engine.errors import UserError
from engine.flags import check_choices, check_fixed
from engine.runtime.allocator import keep_large_buffers_mapped
from engine.runtime.precision import Precision
from engine.store.checkpoints import config_dict, resumable_step
from engine.store.run_lock import RunLock
from engine.store.runs import RunStore
from engine.tasks import get_task
from engine.training.checkpointing import Checkpointer, TrainingDiverged, restore
from engine.training.distributed import any_rank, broadcast, ddp_wrapper, setup_distributed, training_device
from engine.training.held_out import HeldOut
from engine.training.recording import RunRecorder, StopFlag
from engine.training.settings import TrainSettings, check_settings, make_schedulers, with_step_count

__all__ = ["TrainSettings", "TrainingDiverged", "train"]


@dataclass
class RunPlan:
    """What to train: the task, its config and the loop settings, and where a resume starts."""

    task_name: str
    settings: TrainSettings
    task_config: dict
    resume: str | None = None
    checkpoint: Path | None = None


def plan_run(task_name, settings, task_config, store: RunStore, resume, max_steps, lock=None) -> RunPlan:
    """A resumed run brings its own task, settings and config; `max_steps` may extend it.
    `lock` takes a resumed run's writer lock before anything of it is read."""
    plan = RunPlan(task_name, settings or TrainSettings(), task_config or {})
    if resume:
        if lock is not None:
            lock.take(store.get(resume).folder, resume)  # a second writer stops here, in one line
        saved = store.get(resume)
        if saved.status == "running":  # the store has checked that its process is alive
            raise UserError(f"run {resume} is still running; stop it first (runs stop {resume})")
        plan = RunPlan(
            saved.task, TrainSettings(**saved.config["settings"]), saved.config["task_config"], resume
        )
        plan.checkpoint = store.latest_checkpoint(resume)
        if plan.checkpoint is None:
            raise UserError(f"run {resume} has no checkpoint to resume from")
    if max_steps:
        plan.settings = dataclasses.replace(plan.settings, max_steps=max_steps)
    if plan.checkpoint is not None:  # refused before the run is touched: its store stays as it was
        done = resumable_step(plan.checkpoint)
        if plan.settings.max_steps and plan.settings.max_steps <= done:
            raise UserError(
                f"run {resume} is at step {done} of {plan.settings.max_steps}: nothing left to do; "
                f"give --max-steps above {done} to train it longer"
            )
    if not plan.settings.data:
        raise UserError("no dataset given (--data DIR)")
    check_settings(plan.settings)
    config_type = get_task(plan.task_name).Config
    check_choices(config_type(**plan.task_config))  # a stored config too
    if not resume:  # a stored config is not held to the fields its task fixes: they are never read
        check_fixed(config_type, plan.task_config)
    return plan


def make_loader(dataset, settings: TrainSettings, step: int, rank: int, world: int, device) -> DataLoader:
    """Batches that continue where step `step` left off (the sampler seeds every crop/flip)."""
    return DataLoader(
        dataset,
        batch_size=settings.batch_size,
        num_workers=settings.num_workers,
        sampler=ResumableSampler(len(dataset), settings.seed, step * settings.batch_size, rank, world),
        pin_memory=device.type == "cuda",
        persistent_workers=settings.num_workers > 0,
        generator=torch.Generator(),  # its own generator: leaves the global RNG alone
    )


def build_task(plan: RunPlan, device: torch.device, rank: int, world: int):
    """The task, its training data and lr schedules, restored to the checkpoint's step when
    resuming (weights, optimizers, schedules, RNG). -> (task, dataset, settings, schedulers, step)"""
    TaskType = get_task(plan.task_name)
    config = TaskType.settle_config(TaskType.Config(**plan.task_config), plan.settings.data)
    task = TaskType(config, device, Precision(device, plan.settings.precision))
    for net in task.nets.values():  # faster convolutions on CPU and GPU alike
        net.to(memory_format=torch.channels_last)
    data = task.make_dataset(plan.settings.data, "train", train=True, skip_bad=plan.settings.skip_bad_images)
    settings = with_step_count(plan.settings, len(data), world)
    schedulers = make_schedulers(task.optimizers, settings)
    step = restore(task, schedulers, plan.checkpoint, rank)
    task.distribute(ddp_wrapper(device, world))
    return task, data, settings, schedulers, step


def run_config(task, settings: TrainSettings) -> dict:
    """What the run store keeps about a run: settings, task config, declared losses and visuals."""
    return {
        "settings": config_dict(settings),
        "task_config": config_dict(task.config),
        "loss_names": task.loss_names,
        "loss_titles": {k: v for k, v in task.loss_titles.items() if k in task.loss_names},
        "visual_names": task.visual_names,
    }


def open_run(store: RunStore | None, lock: RunLock, plan: RunPlan, task, settings, step: int, world: int):
    """The run's row (new, or the resumed one taken over), held by the writer's lock (rank 0
    passes the store), and its start event. -> (RunRecorder, StopFlag). The flag comes first:
    from before the row exists, the first Ctrl-C/SIGTERM stops the run at its next step with a
    checkpoint. A signal during the set-up, or just after the row appeared (the Runs page's Stop
    right after Start, while the lock is taken), used to kill the run and leave it "running"."""
    stop = StopFlag()
    try:
        run = RunRecorder.open(store, plan.resume, plan.task_name, run_config(task, settings), settings, step)
        if store is not None:  # a new run's writer holds the lock too (a resumed one has it already)
            lock.take(store.runs_dir / run.id, run.id, wait=True)
        run.id = broadcast(run.id, world)
        run.event(
            "resumed" if plan.resume else "started",
            f"step {step} of {settings.max_steps}, {world} process(es), precision: {task.precision.describe()}",
        )
    except BaseException:
        stop.restore()
        raise
    return run, stop


def checkpoint_meta(task_name: str, task, settings: TrainSettings, run_id: str) -> dict:
    """What every checkpoint carries: its own config, so loading never depends on flags."""
    config = {"config": config_dict(task.config), "settings": config_dict(settings)}
    return {"task": task_name, **config, "run": run_id}


def train(
    task_name: str | None = None,
    settings: TrainSettings | None = None,
    task_config: dict | None = None,
    home: str | None = None,
    resume: str | None = None,
    max_steps: int | None = None,
) -> str:
    """Train a new run (task_name + settings) or continue one (resume=RUN). Returns the run id.
    Rank 0 holds the run's writer lock until the run's final status is written."""
    rank, world, local_rank = setup_distributed()
    keep_large_buffers_mapped()
    store = RunStore(home) if rank == 0 else None  # rank 0 creates the store's tables first
    broadcast(None, world)  # the other ranks wait for that, then open it
    store = store or RunStore(home)
    with RunLock(active=rank == 0) as lock:
        plan = plan_run(task_name, settings, task_config, store, resume, max_steps, lock)
        device = training_device(plan.settings.device, local_rank)
        torch.manual_seed(plan.settings.seed + rank)
        task, dataset, settings, schedulers, step = build_task(plan, device, rank, world)

        # the run store row, checkpoints, samples and evaluations; Ctrl-C/SIGTERM stop cleanly
        run, stop = open_run(store if rank == 0 else None, lock, plan, task, settings, step, world)
        bar = tqdm(total=settings.max_steps, initial=step, disable=rank != 0, unit="it", dynamic_ncols=True)
        try:
            folder = store.runs_dir / run.id
            meta = checkpoint_meta(plan.task_name, task, settings, run.id)
            saver = Checkpointer(
                task, schedulers, folder / "checkpoints", meta, settings.keep_checkpoints, rank, world
            )
            held_out = HeldOut(task, settings, folder / "samples") if rank == 0 else None
            batches = iter(make_loader(dataset, settings, step, rank, world, device))
            while step < settings.max_steps:
                losses = task.train_step(next(batches))  # detached 0-d tensors, still on the device
                for sched in schedulers.values():
                    sched.step()
                step += 1
                bar.update()
                last = step == settings.max_steps
                sample = step % settings.sample_every == 0 or last
                evaluate = settings.eval_every > 0 and (step % settings.eval_every == 0 or last)
                checkpoint = step % settings.checkpoint_every == 0 and not last
                # floats about once a second and before any sample, score or save: a NaN fails first
                shown = run.log(step, losses, now=sample or evaluate or checkpoint)
                if shown:
                    bar.set_postfix({k: f"{v:.3f}" for k, v in shown.items()}, refresh=False)
                if sample and held_out:
                    held_out.save_samples(step)
                if evaluate and held_out:
                    scores = held_out.evaluate()
                    run.write([(step, scores)])
                    if saver.keep_if_best(step, scores):
                        run.event("best", f"step {step}: " + kid_summary(scores))
                if checkpoint:
                    run.event("checkpoint", getattr(saver.save(step), "name", ""))
                want_stop = stop.raised or run.stop_requested()
                if world > 1 and (step % 10 == 0 or step == settings.max_steps):
                    want_stop = any_rank(want_stop, device)
                if want_stop and step < settings.max_steps:
                    run.status, run.message = "stopped", f"stopped at step {step}"
                    break
            run.flush()  # a stop can come between flushes: its last steps are checked before saving
            run.event("checkpoint", getattr(saver.save(step), "name", ""))
        except KeyboardInterrupt:  # a second Ctrl-C: stop now; a save cut short is never the latest
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # as Lightning: more presses wait for the status
            run.status, run.message = "stopped", interrupted_at(store, run.id, step)
            raise KeyboardInterrupt(run.message) from None
        except BaseException as err:
            run.status, run.message = "failed", f"{type(err).__name__}: {err}"
            raise
        finally:
            bar.close()
            try:
                run.finish()
            finally:
                stop.restore()
    return run.id


def interrupted_at(store: RunStore, run_id: str, step: int) -> str:
    """What a run stopped at once says: where it was and where a resume will continue."""
    latest = store.latest_checkpoint(run_id)
    kept = f"resume continues from {latest.name}" if latest else "no checkpoint was saved yet"
    return f"interrupted at step {step} (a second Ctrl-C); {kept}"


def kid_summary(scores: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in scores.items() if k.endswith("KID"))
