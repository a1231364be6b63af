"""The live canvas's fast student: distilled from a trained teacher, served as any pix2pix."""

from __future__ import annotations

import pytest
import torch

from engine.errors import UserError
from engine.inference.loader import load_predictor
from engine.store.runs import RunStore
from engine.tasks.distill import Distill, DistillConfig
from engine.training.loop import TrainSettings, train
from support.tiny import TINY_PIX2PIX

STUDENT = {"ngf": 4, "load_size": 36, "crop_size": 32, "drawing_aug": False, "outline_rate": 0.0}


def losses(run_id: str, name: str) -> list[float]:
    return [value for _, loss, value in RunStore().metrics(run_id) if loss == name]


def test_the_student_learns_the_teachers_answer_and_is_served_as_a_narrower_pix2pix(
    hint_run, aligned_dataset
):
    settings = TrainSettings(
        data=str(aligned_dataset), max_steps=40, batch_size=4, lr_policy="constant",
        sample_every=20, checkpoint_every=1000,
    )  # fmt: skip
    run_id = train("distill", settings, {**STUDENT, "teacher": hint_run, "lr": 2e-3})
    store = RunStore()
    assert store.get(run_id).config["loss_names"] == ["G_teacher", "G_L1"]
    taught = losses(run_id, "G_teacher")
    assert len(taught) == 40 and sum(taught[-8:]) < 0.7 * sum(taught[:8])
    student, teacher = load_predictor(run_id), load_predictor(hint_run)
    assert student.takes_hints and student.net.encoders[0][0].out_channels == 4
    assert teacher.net.encoders[0][0].out_channels == TINY_PIX2PIX["ngf"]
    x, hints = torch.zeros(1, 3, 32, 32), torch.zeros(1, 4, 32, 32)
    assert student.translate_tensor(x, hints).shape == teacher.translate_tensor(x, hints).shape


def test_a_student_cut_from_its_teacher_gets_the_cuts_norm_and_from_scratch_its_own(aligned_dataset):
    settings = TrainSettings(data=str(aligned_dataset), max_steps=1, batch_size=2)
    teacher = train("pix2pix", settings, {**TINY_PIX2PIX, "hints": True, "mode": "l1", "norm": "instance"})
    small = {"crop_size": 16, "load_size": 18}  # as the Train page's quick size caps a preset
    cut = Distill.settle_config(DistillConfig(teacher=teacher, **small), str(aligned_dataset))
    assert cut.start == "teacher" and cut.norm == "instance"  # the default start, the teacher's norm
    assert (cut.crop_size, cut.load_size) == (32, 36)  # and its depth: the teacher's training size
    scratch = Distill.settle_config(DistillConfig(teacher=teacher, start="scratch", **small), "")
    assert (scratch.norm, scratch.crop_size) == ("instance-affine", 16)
    run_id = train("distill", settings, {**STUDENT, **small, "teacher": teacher})
    assert RunStore().get(run_id).config["task_config"]["crop_size"] == 32  # trained as settled


def test_a_student_reads_what_its_teacher_reads(tiny_run, aligned_dataset):
    settings = TrainSettings(data=str(aligned_dataset), max_steps=1, batch_size=2)
    with pytest.raises(UserError, match="does not take colour hints"):
        train("distill", settings, {**STUDENT, "teacher": tiny_run})


def test_a_student_cut_from_its_teacher_starts_where_the_teacher_is(aligned_dataset):
    teacher_config = {**TINY_PIX2PIX, "hints": True, "mode": "l1", "norm": "instance-affine"}
    settings = TrainSettings(data=str(aligned_dataset), max_steps=3, batch_size=2, lr_policy="constant")
    teacher = train("pix2pix", settings, teacher_config)
    cut = {**STUDENT, "teacher": teacher, "start": "teacher", "lr": 1e-9}
    full_width = train("distill", settings, {**cut, "ngf": TINY_PIX2PIX["ngf"]})
    scratch = train("distill", settings, {**cut, "start": "scratch", "ngf": TINY_PIX2PIX["ngf"]})
    narrower = train("distill", settings, {**cut, "ngf": 4})
    # the same network (bf16 rounding aside) against one of random weights
    assert max(losses(full_width, "G_teacher")) < 0.1 * min(losses(scratch, "G_teacher"))
    assert load_predictor(narrower).net.encoders[0][0].out_channels == 4
    with pytest.raises(UserError, match="smaller --ngf"):
        train("distill", settings, {**cut, "ngf": 16})


def test_the_pix2pix_knobs_a_student_does_not_use_are_not_offered(monkeypatch, capsys):
    from engine.cli import cmd_train
    from engine.training.estimate import budget_key
    from engine.training.launch import config_flags
    from engine.training.loop import plan_run

    unused = {"lambda_vgg": 10.0, "gan_mode": "lsgan", "ndf": 8}
    for name, value in unused.items():
        flag = "--" + name.replace("_", "-")
        with pytest.raises(SystemExit):  # the CLI has no flag for it
            cmd_train(["distill", "--data", "x", f"{flag}={value}"])
        assert f"unrecognized arguments: {flag}" in capsys.readouterr().err
        with pytest.raises(UserError, match=f"DistillConfig does not use {flag}"):  # nor a Python call
            train("distill", TrainSettings(data="x", max_steps=1), {name: value})
        with pytest.raises(UserError, match=f"does not use {flag}"):  # nor the launcher
            config_flags(DistillConfig, {name: value})
    defaults = {"lambda_vgg": 0.0, "gan_mode": "vanilla", "ndf": 64, "ngf": 8}  # as a stored run holds them
    assert config_flags(DistillConfig, defaults) == ["--ngf=8"]
    # a stored run (all fields) and the Train page (the settable ones) share a measured pace
    assert budget_key("distill", defaults, {}) == budget_key("distill", {"ngf": 8}, {})
    # a stored config from before (the value was never read) still resumes
    store = RunStore()
    stored = {"settings": {"data": "x"}, "task_config": {**STUDENT, "lambda_vgg": 10.0}}
    run = store.create_run("distill", stored)
    store.set_status(run.id, "stopped")
    monkeypatch.setattr(RunStore, "latest_checkpoint", lambda self, run_id: "step_1.safetensors")
    monkeypatch.setattr("engine.training.loop.resumable_step", lambda path: 1)
    assert plan_run(None, None, None, store, run.id, None).task_config["lambda_vgg"] == 10.0


def test_a_cut_student_refuses_another_start():
    with pytest.raises(UserError, match="--start scratch"):
        DistillConfig(init_from="default").check()
    DistillConfig(init_from="default", start="scratch").check()
