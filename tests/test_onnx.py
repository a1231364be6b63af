"""ONNX export: for a tiny model of each kind that serves images, onnxruntime on the file agrees
with the studio's PyTorch path on the same inputs (max abs difference < 1e-3 in fp32, printed),
at batch 1 and 3 (the batch axis is dynamic); dropout is off in the file (two runs equal) and
batch-1-trained batch norm uses each image's own statistics (an image's output does not depend
on its batch neighbours)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from engine.errors import UserError
from engine.inference.loader import load_model
from engine.onnx_export import describe, export_onnx
from engine.training.loop import TrainSettings, train
from support.tiny import (
    TINY_CYCLEGAN,
    TINY_LABELS,
    TINY_PIX2PIX,
    shape_pair,
    write_label_dataset,
    write_unaligned_dataset,
)

pytestmark = pytest.mark.usefixtures("one_thread")
TOLERANCE = 1e-3  # fp32, max abs difference on outputs in [-1, 1]


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def check_parity(path: Path, make_feeds, reference) -> float:
    """Batch 1 and 3: the file's output vs PyTorch's; returns the largest difference seen."""
    worst = 0.0
    run = session(path)
    for batch in (1, 3):
        feeds = make_feeds(batch)
        got = run.run(["output"], {k: v.numpy() for k, v in feeds.items()})[0]
        want = reference(feeds).numpy()
        assert got.shape == want.shape and got.shape[0] == batch
        worst = max(worst, float(np.abs(got - want).max()))
    opset = next(o.version for o in onnx.load(str(path)).opset_import if o.domain in ("", "ai.onnx"))
    assert str(opset) == session(path).get_modelmeta().custom_metadata_map["opset"]  # says what it is
    print(f"{path.name}: max abs difference ONNX vs PyTorch {worst:.2e} (fp32)")
    assert worst < TOLERANCE
    return worst


def images(batch: int, side: int, seed: int = 1) -> torch.Tensor:
    return torch.rand(batch, 3, side, side, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_pix2pix_matches_pytorch_and_says_its_opset(tiny_run, tmp_path):
    path = export_onnx(tiny_run, tmp_path / "g.onnx")
    model = load_model(tiny_run, device="cpu", precision="fp32")
    check_parity(path, lambda n: {"image": images(n, 32)}, lambda f: model.translate_tensor(f["image"]))
    meta = session(path).get_modelmeta().custom_metadata_map
    assert meta["opset"] == "17" and "dropout off" in meta["baked_in"]
    assert "opset 17" in describe(path)


def test_dropout_is_off_in_the_file(tiny_run, tmp_path):
    """The tiny pix2pix has dropout (the default); the file answers the same twice."""
    assert any(isinstance(m, torch.nn.Dropout) for m in load_model(tiny_run, device="cpu").net.modules())
    run = session(export_onnx(tiny_run, tmp_path / "g.onnx", opset=18))
    x = images(2, 32).numpy()
    first, second = (run.run(None, {"image": x})[0] for _ in range(2))
    assert np.array_equal(first, second)


def test_batch_one_training_exports_per_image_statistics(aligned_dataset, tmp_path):
    run_id = train(
        "pix2pix", TrainSettings(data=str(aligned_dataset), max_steps=1, batch_size=1), TINY_PIX2PIX
    )
    model = load_model(run_id, device="cpu", precision="fp32")
    path = export_onnx(run_id, tmp_path / "g.onnx")
    check_parity(path, lambda n: {"image": images(n, 32)}, lambda f: model.translate_tensor(f["image"]))
    x = images(3, 32).numpy()
    together = session(path).run(None, {"image": x})[0]
    alone = session(path).run(None, {"image": x[1:2]})[0]
    np.testing.assert_allclose(together[1:2], alone, atol=1e-5)


def test_hint_channels(hint_run, tmp_path):
    model = load_model(hint_run, device="cpu", precision="fp32")
    path = export_onnx(hint_run, tmp_path / "hints.onnx")

    def feeds(n: int) -> dict:
        hints = torch.zeros(n, 4, 32, 32)
        hints[:, :3, 8:12, 8:12], hints[:, 3, 8:12, 8:12] = 0.5, 1.0  # one dab
        return {"image": images(n, 32), "hints": hints}

    check_parity(path, feeds, lambda f: model.translate_tensor(f["image"], f["hints"]))


def test_bicyclegan_look_code(aligned_dataset, tmp_path):
    config = {**TINY_PIX2PIX, "nef": 8, "nz": 4}
    run_id = train("bicyclegan", TrainSettings(data=str(aligned_dataset), max_steps=1, batch_size=2), config)
    model = load_model(run_id, device="cpu", precision="fp32")
    path = export_onnx(run_id, tmp_path / "looks.onnx")

    def feeds(n: int) -> dict:
        hints = {"hints": torch.zeros(n, 4, 32, 32)} if model.takes_hints else {}
        return {
            "image": images(n, 32),
            **hints,
            "z": torch.randn(n, 4, generator=torch.Generator().manual_seed(n)),
        }

    check_parity(path, feeds, lambda f: model.translate_tensor(f["image"], f.get("hints"), f["z"]))


def test_cyclegan_each_direction(tmp_path):
    data = write_unaligned_dataset(tmp_path / "unaligned")
    run_id = train("cyclegan", TrainSettings(data=str(data), max_steps=1, batch_size=1), TINY_CYCLEGAN)
    outputs = {}
    for direction in ("AtoB", "BtoA"):
        model = load_model(run_id, device="cpu", precision="fp32", direction=direction)
        path = export_onnx(run_id, tmp_path / f"{direction}.onnx", direction=direction)
        check_parity(
            path, lambda n: {"image": images(n, 32)}, lambda f, m=model: m.translate_tensor(f["image"])
        )
        assert session(path).get_modelmeta().custom_metadata_map["direction"] == direction
        outputs[direction] = session(path).run(None, {"image": images(1, 32).numpy()})[0]
    assert not np.allclose(outputs["AtoB"], outputs["BtoA"])  # two generators, two files
    with pytest.raises(UserError, match="direction must be one of"):
        export_onnx(run_id, tmp_path / "x.onnx", direction="sideways")


@pytest.mark.parametrize("task, extra", [("pix2pixhd", {}), ("spade", {"z_dim": 8})])
def test_label_map_models_take_one_hot_maps(task, extra, tmp_path):
    data = write_label_dataset(tmp_path / "facades", "aligned")
    run_id = train(task, TrainSettings(data=str(data), max_steps=1, batch_size=2), {**TINY_LABELS, **extra})
    model = load_model(run_id, device="cpu", precision="fp32")
    path = export_onnx(run_id, tmp_path / f"{task}.onnx")
    classes = len(model.palette)

    def feeds(n: int) -> dict:
        index = torch.randint(0, classes, (n, 64, 64), generator=torch.Generator().manual_seed(n))
        one_hot = torch.nn.functional.one_hot(index, classes).permute(0, 3, 1, 2).float()
        return {"labels": one_hot} | ({"z": torch.randn(n, 8)} if model.z_dim else {})

    check_parity(path, feeds, lambda f: model.translate_tensor(f["labels"], f.get("z")))
    with pytest.raises(UserError, match="one way only"):
        export_onnx(run_id, tmp_path / "x.onnx", direction="BtoA")


@pytest.mark.parametrize(
    "task, config", [("vae", {"nf": 8, "latent_dim": 8}), ("dcgan", {"ngf": 8, "ndf": 8, "latent_dim": 16})]
)
def test_latent_decoders_map_codes_to_images(task, config, tmp_path):
    for kind in ("a", "b"):  # two class folders of four 32 px images
        (tmp_path / "shapes" / kind).mkdir(parents=True)
        for i in range(4):
            shape_pair(i + (10 if kind == "b" else 0), 32)[1].save(tmp_path / "shapes" / kind / f"{i}.png")
    settings = TrainSettings(data=str(tmp_path / "shapes"), max_steps=1, batch_size=4, sample_size=2)
    run_id = train(task, settings, config)
    model = load_model(run_id, device="cpu", precision="fp32")
    path = export_onnx(run_id, tmp_path / f"{task}.onnx")
    dim = model.latent_dim
    check_parity(
        path,
        lambda n: {"z": torch.randn(n, dim, generator=torch.Generator().manual_seed(n))},
        lambda f: model.decode(f["z"]),
    )


def test_refusals_are_one_line(tiny_run, tmp_path):
    with pytest.raises(UserError, match="ends in .onnx"):
        export_onnx(tiny_run, tmp_path / "g.pt")
    with pytest.raises(UserError, match="opset 9"):
        export_onnx(tiny_run, tmp_path / "g.onnx", opset=9)
    assert not (tmp_path / "g.onnx").exists()


def test_the_export_command_writes_onnx_and_prints_the_opset(tiny_run, tmp_path, capsys):
    from engine.cli import main

    assert main(["export", tiny_run, str(tmp_path / "g.onnx"), "--format", "onnx"]) == 0
    assert "opset 17" in capsys.readouterr().out
    assert session(tmp_path / "g.onnx").get_inputs()[0].shape[0] == "batch"  # a dynamic batch axis
