"""pix2pix's loss study (its Table 1): the five objectives (an unconditional D for the GAN
rows), the segmentation net behind the FCN-score, the confusion-matrix scores, and
`eval --fcn-score` end to end on a tiny facades-like folder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.cli import main
from engine.data.label_maps import FACADES
from engine.errors import UserError
from engine.fcn_score import DEFAULT_FCN, GROUND_TRUTH, decode_colours, evaluate_fcn_score, score_batches
from engine.metrics_segmentation import (
    CLASS_ACC,
    CLASS_IOU,
    PIXEL_ACC,
    confusion_matrix,
    per_class_scores,
    segmentation_scores,
)
from engine.runtime.precision import Precision
from engine.store.models import BUNDLED
from engine.store.runs import RunStore
from engine.tasks.pix2pix import MODES, Pix2Pix, Pix2PixConfig
from engine.training.loop import TrainSettings, train
from engine.training.presets import LOSS_STUDY_MODES, preset_config, preset_names
from support.tiny import TINY_LABELS, TINY_PIX2PIX, scene, write_label_dataset

CPU = torch.device("cpu")
GAN_LOSSES = {"G_GAN", "G_L1", "D_real", "D_fake", "D"}
TINY_SEGMENT = {"ngf": 8, "load_size": 36, "crop_size": 32, "lr": 2e-3}


def pix2pix(mode: str, seed: int = 0, **config) -> Pix2Pix:
    torch.manual_seed(seed)
    return Pix2Pix(Pix2PixConfig(mode=mode, **{**TINY_PIX2PIX, **config}), CPU, Precision(CPU, "fp32"))


def pair_batch(seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    return {
        "A": torch.rand(2, 3, 32, 32, generator=gen) * 2 - 1,
        "B": torch.rand(2, 3, 32, 32, generator=gen) * 2 - 1,
    }


def d_inputs(task: Pix2Pix, batch: dict) -> list[torch.Tensor]:
    """Every tensor D is called on during one training step (what its first conv reads)."""
    seen: list[torch.Tensor] = []
    handle = (
        task.nets["D"]
        .model[0]
        .register_forward_pre_hook(lambda _, args: seen.append(args[0].detach().clone()))
    )
    try:
        task.train_step(batch)
    finally:
        handle.remove()
    return seen


def test_the_unconditional_discriminator_sees_the_output_alone(one_thread):
    gan, cgan = pix2pix("gan"), pix2pix("cgan")
    assert gan.nets["D"].model[0].in_channels == 3 and cgan.nets["D"].model[0].in_channels == 6
    batch = pair_batch()
    seen = d_inputs(gan, batch)
    assert len(seen) == 3 and all(x.shape[1] == 3 for x in seen)  # fake for D, real for D, fake for G
    assert any(torch.equal(x, batch["B"]) for x in seen)  # real_B as it is, no A beside it
    conditional = d_inputs(cgan, batch)
    assert any(torch.equal(x, torch.cat([batch["A"], batch["B"]], 1)) for x in conditional)
    # with G's output held fixed, another input photo leaves every D input (and so its verdict)
    # unchanged for the unconditional D, and changes it for the conditional one
    other = {**batch, "A": -batch["A"]}
    for mode, same in (("gan", True), ("cgan", False)):
        runs = []
        for shown in (batch, other):
            task = pix2pix(mode)
            task.G = lambda x, net=task.nets["G"]: net(torch.zeros_like(x))  # ignores its input
            torch.manual_seed(1)
            runs.append(d_inputs(task, shown))
        assert all(torch.equal(x, y) for x, y in zip(*runs)) == same, mode


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_trains_a_step_and_logs_its_losses(mode, aligned_dataset):
    settings = TrainSettings(data=str(aligned_dataset), max_steps=1, batch_size=2, sample_size=2)
    run = train("pix2pix", settings, {**TINY_PIX2PIX, "mode": mode})
    logged = {name for _, name, _ in RunStore().metrics(run)}
    assert logged == ({"G_L1"} if mode == "l1" else GAN_LOSSES)
    assert ("D" in pix2pix(mode).nets) == (mode != "l1")


@pytest.mark.parametrize(("mode", "weighs_l1"), [("gan", False), ("cgan", False), ("l1+gan", True)])
def test_only_the_l1_modes_put_l1_into_the_generators_loss(mode, weighs_l1, one_thread):
    """The same step with lambda 1 and 1e4: G moves the same way unless L1 is in its loss."""
    after = []
    for weight in (1.0, 1e4):
        task = pix2pix(mode, lambda_l1=weight)
        torch.manual_seed(1)  # the same dropout masks
        task.train_step(pair_batch())
        after.append(torch.cat([p.detach().flatten() for p in task.nets["G"].parameters()]))
    assert torch.equal(after[0], after[1]) != weighs_l1


def test_confusion_matrix_scores_match_a_hand_computed_example():
    truth = np.array([0, 0, 1, 1, 2, 2, 255])  # 255: ignored, as the official fast_hist does
    predicted = np.array([0, 1, 1, 1, 0, 2, 3])
    hist = confusion_matrix(truth, predicted, 4)  # class 3: in neither truth nor prediction
    expected = np.zeros((4, 4), np.int64)
    for t, p in ((0, 0), (0, 1), (1, 1), (1, 1), (2, 0), (2, 2)):
        expected[t, p] += 1
    np.testing.assert_array_equal(hist, expected)
    accuracy, iou = per_class_scores(hist)
    np.testing.assert_allclose(accuracy[:3], [1 / 2, 1, 1 / 2])
    np.testing.assert_allclose(iou[:3], [1 / 3, 2 / 3, 1 / 2])  # TP / (TP + FP + FN)
    assert np.isnan(accuracy[3]) and np.isnan(iou[3])
    scores = segmentation_scores(hist)
    assert scores[PIXEL_ACC] == pytest.approx(4 / 6)
    assert scores[CLASS_ACC] == pytest.approx(2 / 3)
    assert scores[CLASS_IOU] == pytest.approx(1 / 2)
    # torch tensors count the same; a class predicted but absent in truth lowers IoU, not accuracy
    assert np.array_equal(confusion_matrix(torch.tensor(truth[:6]), torch.tensor(predicted[:6]), 4), hist)
    wrong = segmentation_scores(confusion_matrix([0, 0], [0, 3], 4))
    assert wrong[CLASS_ACC] == pytest.approx(1 / 2) and wrong[CLASS_IOU] == pytest.approx(1 / 4)
    with pytest.raises(ValueError, match="no pixels"):
        segmentation_scores(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="0..3"):
        confusion_matrix([0], [4], 4)


def test_fcn_scores_of_a_perfect_and_a_constant_predictor():
    items = [{"label": torch.from_numpy(scene(i, 32)[0]).long()} for i in range(3)]
    labels = torch.stack([item["label"] for item in items])
    perfect = score_batches(lambda b: b["label"], items, len(FACADES), 2, progress=False)
    assert perfect == {PIXEL_ACC: 1.0, CLASS_ACC: 1.0, CLASS_IOU: 1.0, "count": 3.0}
    present = torch.unique(labels)
    constant = score_batches(lambda b: torch.ones_like(b["label"]), items, len(FACADES), 2, progress=False)
    assert constant[PIXEL_ACC] == pytest.approx(float((labels == 1).float().mean()))
    assert constant[CLASS_ACC] == pytest.approx(1 / len(present))
    assert constant[CLASS_IOU] == pytest.approx(float((labels == 1).float().mean()) / len(present))


def test_generated_label_colours_decode_to_the_nearest_class():
    labels, _ = scene(4, 32)
    rendered = torch.from_numpy(np.array(FACADES.render(labels))).permute(2, 0, 1)[None].float() / 127.5 - 1
    blurred = (rendered + 0.05 * torch.randn_like(rendered)).clamp(-1, 1)  # a generator's near misses
    assert torch.equal(decode_colours(blurred, FACADES)[0], torch.from_numpy(labels).long())


@pytest.fixture
def facades_like(tmp_path):
    return write_label_dataset(tmp_path / "facades", "aligned")


def segment_run(data, steps: int = 30) -> str:
    settings = TrainSettings(
        data=str(data), max_steps=steps, batch_size=2, sample_size=2, sample_every=steps, seed=0,
        lr_policy="constant",
    )  # fmt: skip
    return train("segment", settings, TINY_SEGMENT)


def test_the_segment_task_learns_the_classes_and_serves_its_predictions(facades_like, tmp_path, one_thread):
    from engine.inference.loader import export_model, load_model

    run = segment_run(facades_like)
    store = RunStore()
    ce = [value for _, name, value in store.metrics(run) if name == "CE"]
    assert len(ce) == 30 and np.mean(ce[-5:]) < 0.5 * np.mean(ce[:5])
    config = store.get(run).config
    assert config["loss_names"] == ["CE"] and config["task_config"]["class_names"] == list(FACADES.names)
    exported = export_model(run, tmp_path / "fcn.safetensors")
    fcn = load_model(str(exported), "segmentation")
    labels, photo = scene(9, 32)
    assert fcn.palette == FACADES and fcn(photo).size == (32, 32)
    predicted = fcn.predict(torch.zeros(2, 3, 64, 64))  # another size: scored at its own
    assert predicted.shape == (2, 64, 64) and int(predicted.max()) < len(FACADES)
    with pytest.raises(UserError, match="takes segmentation models"):
        evaluate_fcn_score(None, str(facades_like), "val", fcn="default-vae")


def test_eval_fcn_score_scores_both_ways_and_the_ground_truth(facades_like, capsys, one_thread):
    fcn = segment_run(facades_like)
    settings = TrainSettings(data=str(facades_like), max_steps=2, batch_size=2, sample_size=2)
    to_photo = train("pix2pix", settings, {**TINY_PIX2PIX, "direction": "BtoA", "mode": "l1+gan"})
    to_labels = train("pix2pix", settings, {**TINY_PIX2PIX, "direction": "AtoB", "mode": "gan"})
    data = ["--data", str(facades_like), "--split", "val", "--no-fid"]
    assert main(["eval", to_photo, *data, "--fcn-score", "--fcn", fcn]) == 0
    assert "labels -> photo" in capsys.readouterr().out
    assert main(["eval", to_labels, *data, "--fcn-score"]) == 0  # decodes colours: no FCN needed
    assert "photo -> labels" in capsys.readouterr().out
    assert main(["eval", "--fcn-score", "--ground-truth", "--fcn", fcn, *data]) == 0
    printed = capsys.readouterr().out
    assert GROUND_TRUTH in printed and "fcn_class_iou" in printed
    store = RunStore()
    for model, split in (
        (to_photo, f"val FCN {fcn}"),
        (to_labels, "val label colours"),
        (GROUND_TRUTH, f"val FCN {fcn}"),
    ):
        stored = {name: value for _, _, s, name, value, _ in store.evals(model) if s == split}
        assert set(stored) == {PIXEL_ACC, CLASS_ACC, CLASS_IOU, "count"}, model
        assert 0 <= stored[CLASS_IOU] <= stored[PIXEL_ACC] <= 1 and stored["count"] == 2
    truth = evaluate_fcn_score(None, str(facades_like), "val", fcn=fcn, progress=False)
    assert truth[PIXEL_ACC] == pytest.approx(dict((r[3], r[4]) for r in store.evals(GROUND_TRUTH))[PIXEL_ACC])
    assert truth[PIXEL_ACC] > 0.7  # the FCN has learnt the tiny scenes' flat colours
    # a label-map model (pix2pixHD) paints one-hot maps: scored through the FCN as well
    painter = train("pix2pixhd", settings, TINY_LABELS)
    painted = evaluate_fcn_score(painter, str(facades_like), "val", fcn=fcn, progress=False)
    assert set(painted) == {PIXEL_ACC, CLASS_ACC, CLASS_IOU, "count"} and painted["count"] == 2
    if DEFAULT_FCN not in BUNDLED:  # until the lead bundles it, the default FCN says how to get one
        with pytest.raises(UserError, match="default-fcn-facades is not bundled yet"):
            evaluate_fcn_score(to_photo, str(facades_like), "val", progress=False)
    with pytest.raises(SystemExit):
        main(["eval", to_photo, "--fcn-score", "--ground-truth", "--fcn", fcn, *data])


def test_the_study_presets_share_their_budget_and_differ_in_the_objective():
    names = [n for n in preset_names("pix2pix") if n.startswith("loss study:")]
    assert len(names) == 10
    configs = [preset_config("pix2pix", n) for n in names]
    assert {(c["mode"], c["direction"]) for c in configs} == {
        (m, d) for m in LOSS_STUDY_MODES.values() for d in ("AtoB", "BtoA")
    }
    shared = {k for k in configs[0] if k not in ("mode", "direction")}
    assert all(c[k] == configs[0][k] for c in configs for k in shared)
    assert configs[0]["crop_size"] == 128 and len(preset_names("segment")) == 2
