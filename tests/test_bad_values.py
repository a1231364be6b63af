"""Every bad value is one line: settings and config fields out of their declared ranges, CLI-only
numbers, crafted model files, an unknown command. Nothing is created in the run store first."""

from __future__ import annotations

import json
import os
import re

import pytest
import torch
from safetensors.torch import save_file

from engine.cli import main
from engine.errors import UserError
from engine.flags import check_choices
from engine.inference.loader import export_model, load_predictor
from engine.store.checkpoints import FORMAT, read_weights
from engine.store.runs import RunStore
from engine.tasks.cyclegan import CycleGANConfig
from engine.tasks.pix2pix import Pix2PixConfig
from engine.tasks.vae import VAEConfig
from support.tiny import TINY_FLAGS


def cli(capsys, *args: str) -> tuple[int, list[str]]:
    """-> (exit code, the lines on stderr that are not argparse's usage)."""
    try:
        code = main(list(args))
    except SystemExit as exit:  # argparse: usage, then one error line
        code = exit.code
    err = capsys.readouterr().err
    found = [
        re.search(r"(python -m engine [\w-]+: )?error: .*|Traceback.*", line)
        for line in err.replace("\r", "\n").splitlines()
    ]
    return code, [m.group(0) for m in found if m]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--ngf", "0"], "argument --ngf: must be 1 to 1024, got 0"),
        (["--ngf", "-3"], "argument --ngf: must be 1 to 1024, got -3"),
        (["--lr", "-1"], "argument --lr: must be"),
        (["--beta1", "1.5"], "argument --beta1: must be 0 to 0.9999, got 1.5"),
        (["--n-layers", "10"], "argument --n-layers: must be 1 to 8, got 10"),
        (["--max-steps", str(10**30)], "argument --max-steps: must be 0 to 1000000000"),
        (["--hint-rate", "5"], "argument --hint-rate: must be 0 to 1, got 5"),
        (["--batch-size", "0"], "argument --batch-size: must be 1 to 4096, got 0"),
    ],
)
def test_out_of_range_training_flags_are_one_line_and_create_no_run(aligned_dataset, capsys, flags, message):
    code, lines = cli(capsys, "train", "pix2pix", "--data", str(aligned_dataset), *TINY_FLAGS, *flags)
    assert code == 2 and len(lines) == 1 and message in lines[0], lines
    assert RunStore().list() == []


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--n-layers", "4"], "--n-layers 4 is too deep for --crop-size 32; use --n-layers 3 or less"),
        (["--device", "banana"], "unknown device 'banana'"),
        (["--device", "cuda:7" if torch.cuda.is_available() else "cuda"], "CUDA GPU"),
    ],
)
def test_values_that_fit_no_machine_or_crop_are_one_line_before_a_run(
    aligned_dataset, capsys, flags, message
):
    code, lines = cli(
        capsys, "train", "pix2pix", "--data", str(aligned_dataset), *TINY_FLAGS, "--max-steps", "1", *flags
    )
    assert code == 1 and len(lines) == 1 and message in lines[0], lines
    assert RunStore().list() == []


@pytest.mark.parametrize(
    "task, flags, message",
    [
        ("cyclegan", ["--pool-size", "-5"], "--pool-size: must be 0 to 10000"),
        ("cyclegan", ["--n-blocks", "-1"], "--n-blocks: must be 1 to 64"),
        ("vae", ["--latent-dim", "0"], "--latent-dim: must be 1 to 4096"),
    ],
)
def test_other_tasks_hold_their_fields_to_their_ranges(aligned_dataset, capsys, task, flags, message):
    code, lines = cli(capsys, "train", task, "--data", str(aligned_dataset), *flags)
    assert code == 2 and len(lines) == 1 and message in lines[0], lines


def test_a_stored_or_launched_config_is_held_to_the_same_ranges():
    """The launcher and a stored config do not pass through argparse: check_choices holds them."""
    for config, message in (
        (Pix2PixConfig(ngf=0), "ngf must be 1 to 1024, got 0"),
        (Pix2PixConfig(ngf="wide"), "ngf must be a number, got 'wide'"),
        (Pix2PixConfig(beta1=1.5), "beta1 must be 0 to 0.9999"),
        (Pix2PixConfig(n_layers=4, crop_size=32), "too deep"),
        (CycleGANConfig(pool_size=-5), "--pool-size must be 0 to 10000"),
        (VAEConfig(latent_dim=0), "--latent-dim must be 1 to 4096"),
    ):
        with pytest.raises(UserError, match=message):
            check_choices(config)
    check_choices(Pix2PixConfig(mode="l1", n_layers=8, crop_size=32))  # no discriminator: fine


@pytest.mark.parametrize(
    "args",
    [
        ["receptive-field", "--n-layers", "-1"],
        ["sample", "out.png", "--count", "0"],
        ["sample", "out.png", "--count", "-5"],
        ["sample", "out.png", "--count", str(10**7)],
        ["translate", "in", "out", "--batch-size", "0"],
        ["translate", "in", "out", "--batch-size", "-1"],
        ["eval", "default", "--data", "d", "--batch-size", "0"],
        ["eval", "default", "--data", "d", "--hints", "-3"],
    ],
)
def test_cli_only_numbers_are_checked_by_argparse(capsys, tmp_path, args):
    os.chdir(tmp_path)
    code, lines = cli(capsys, *args)
    assert code == 2 and len(lines) == 1 and ": must be " in lines[0], lines


def test_an_unknown_command_says_so(capsys):
    code, lines = cli(capsys, "fly")
    assert code == 2 and lines == ["error: unknown command 'fly'"]


# model files ----------------------------------------------------------------------------------
def crafted(tiny_run: str, tmp_path, change) -> str:
    """The tiny run's checkpoint rewritten with `change(tensors, header)` applied."""
    nets, meta = read_weights(RunStore().latest_checkpoint(tiny_run))
    tensors = {f"{net}.{key}": value for net, state in nets.items() for key, value in state.items()}
    header = {"format": FORMAT, "meta": meta}
    change(tensors, header)
    if isinstance(header.get("meta"), (dict, list)):
        header["meta"] = json.dumps(header["meta"])
    path = tmp_path / "crafted.safetensors"
    save_file(tensors, str(path), metadata={k: v for k, v in header.items() if v is not None})
    return str(path)


def set_config(key, value):
    return lambda tensors, header: header["meta"]["config"].__setitem__(key, value)


CRAFTED = {
    "negative ngf": (set_config("ngf", -8), "ngf must be 1 to 1024, got -8"),
    "string ngf": (set_config("ngf", "8"), "ngf must be a number, got '8'"),
    "no meta": (lambda t, h: h.__setitem__("meta", None), "'meta' metadata is missing"),
    "meta not JSON": (lambda t, h: h.__setitem__("meta", "{not json"), "not a JSON object"),
    "meta a list": (lambda t, h: h.__setitem__("meta", [1, 2]), "not a JSON object"),
    "unknown option": (set_config("wings", 2), r"unknown pix2pix config option\(s\) 'wings'"),
    "no config": (lambda t, h: h["meta"].pop("config"), "has no config"),
    "unknown task": (lambda t, h: h["meta"].__setitem__("task", "os.system"), "names no task"),
    "missing tensor": (
        lambda t, h: t.pop(next(k for k in t if k.startswith("G."))),
        r"lacks tensor\(s\) G\.",
    ),
    "wrong shape": (
        lambda t, h: t.__setitem__(
            next(k for k in t if k.startswith("G.") and k.endswith("weight")), torch.zeros(1)
        ),
        "has wrongly shaped tensor",
    ),
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_a_crafted_model_file_is_one_line_naming_it(tiny_run, tmp_path, case):
    change, message = CRAFTED[case]
    path = crafted(tiny_run, tmp_path, change)
    with pytest.raises(UserError, match=message) as err:
        load_predictor(path)
    assert "crafted.safetensors" in str(err.value) and "\n" not in str(err.value)


def test_exporting_a_file_without_meta_is_one_line(tiny_run, tmp_path):
    path = crafted(tiny_run, tmp_path, CRAFTED["no meta"][0])
    with pytest.raises(UserError, match="crafted.safetensors: its 'meta' metadata is missing"):
        export_model(path, tmp_path / "out.safetensors")


@pytest.mark.parametrize("drop", ["model.model.1.model.3.model.2.weight", "model.model.3.weight"])
def test_an_official_pth_with_a_missing_layer_is_one_line(tmp_path, drop):
    from support.official_unet import UnetGenerator

    state = UnetGenerator(3, 3, 5, ngf=4).state_dict()
    state.pop(drop)
    path = tmp_path / "latest_net_G.pth"
    torch.save(state, path)
    with pytest.raises(UserError, match="latest_net_G.pth") as err:
        load_predictor(str(path))
    assert "\n" not in str(err.value) and ("lacks" in str(err.value))


def test_a_malicious_pth_is_refused_without_advising_to_unpickle_it(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, ("echo never",))

    path = tmp_path / "latest_net_G.pth"
    torch.save({"model.model.0.weight": Payload()}, path)
    with pytest.raises(UserError) as err:
        load_predictor(str(path))
    text = str(err.value)
    assert (
        "latest_net_G.pth" in text and "refused" in text and "weights_only" not in text and "\n" not in text
    )


def test_two_dataset_images_sharing_a_name_are_warned_about(tmp_path):
    from PIL import Image

    from engine.data.image_folders import load_folder

    for name in ("p0.jpg", "p0.png", "p1.png"):
        Image.new("RGB", (8, 8), "white").save(tmp_path / name)
    with pytest.warns(UserWarning, match=r"p0\.jpg and p0\.png share a name"):
        dataset = load_folder(tmp_path, 8)
    assert len(dataset) == 3


def test_paired_datasets_warn_about_two_images_sharing_a_name(tmp_path):
    from PIL import Image

    from engine.data.datasets import AlignedDataset, PairedFolderDataset

    for name in ("p0.jpg", "p0.png", "p1.png"):
        Image.new("RGB", (64, 32), "white").save(tmp_path / name)
    with pytest.warns(UserWarning, match=r"p0\.jpg and p0\.png share a name"):
        AlignedDataset(tmp_path, load_size=32, crop_size=32, train=False)
    for side in ("A", "B"):
        (tmp_path / side).mkdir()
        Image.new("RGB", (32, 32), "white").save(tmp_path / side / "q.png")
    Image.new("RGB", (32, 32), "white").save(tmp_path / "B" / "q.jpg")
    with pytest.warns(UserWarning, match=r"q\.png and q\.jpg share a name|q\.jpg and q\.png share a name"):
        PairedFolderDataset(tmp_path / "A", tmp_path / "B", load_size=32, crop_size=32, train=False)


def test_an_output_of_an_unknown_type_is_refused_before_any_work(tmp_path, capsys):
    from PIL import Image

    Image.new("RGB", (32, 32), "white").save(tmp_path / "in.png")
    code, lines = cli(capsys, "translate", str(tmp_path / "in.png"), str(tmp_path / "out.xyz"))
    assert code == 1 and lines == [
        f"error: {tmp_path / 'out.xyz'}: .xyz is not an image type that can be written; use .png or .jpg"
    ]


def test_an_empty_sketch_is_named(tmp_path, capsys):
    from PIL import Image

    Image.new("RGB", (1, 1), "white").save(tmp_path / "dot.png")
    code, lines = cli(capsys, "translate", str(tmp_path / "dot.png"), str(tmp_path / "out.png"), "--sketch")
    assert code == 1 and len(lines) == 1 and f"{tmp_path / 'dot.png'} (1x1): the sketch is empty" in lines[0]
