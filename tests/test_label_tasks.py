"""pix2pixHD and SPADE: the curves they log, exact resume, the palette in the checkpoint, the
local enhancer and style codes, and the translate/eval command lines on label maps."""

import pytest
import torch
from PIL import Image

from engine.cli import main
from engine.data.label_maps import FACADES
from engine.inference.loader import load_label_model
from engine.models.patchgan import build_discriminator
from engine.models.pix2pixhd import LocalEnhancer
from engine.models.resnet import ResnetGenerator
from engine.store.checkpoints import read_weights
from engine.store.runs import RunStore
from engine.training.loop import TrainSettings, train
from support.tiny import TINY_LABELS, scene, write_label_dataset


def settings(data, **kw) -> TrainSettings:
    base = dict(
        data=str(data), max_steps=4, batch_size=2, sample_size=2, sample_every=2, checkpoint_every=2, seed=2
    )
    return TrainSettings(**{**base, **kw})


@pytest.fixture
def facades_like(tmp_path):
    return write_label_dataset(tmp_path / "facades", "aligned")


def test_pix2pixhd_logs_its_curves_and_resumes_exactly(facades_like):
    straight = train("pix2pixhd", settings(facades_like, lr_policy="constant"), TINY_LABELS)
    first = train("pix2pixhd", settings(facades_like, lr_policy="constant", max_steps=2), TINY_LABELS)
    train(resume=first, max_steps=4)
    store = RunStore()
    run = store.get(first)
    assert run.config["loss_names"] == ["G_GAN", "G_GAN_Feat", "D_real", "D_fake"]
    for name in run.config["loss_names"]:
        assert [s for s, n, _ in store.metrics(first) if n == name] == [1, 2, 3, 4]
    a, meta = read_weights(store.latest_checkpoint(straight))
    b, _ = read_weights(store.latest_checkpoint(first))
    for net in a:
        for key in a[net]:
            torch.testing.assert_close(a[net][key], b[net][key], rtol=0, atol=0, msg=f"{net}.{key}")
    assert meta["config"]["class_names"] == list(FACADES.names)  # the palette travels with it
    grid = Image.open(store.samples(first)[-1][1])
    assert grid.width == 3 * 64 + 2 * 2  # input_label | synthesized_image | real_image


def test_spade_with_a_style_encoder_logs_kld_and_renders_styles(facades_like, tmp_path, capsys):
    config = {**TINY_LABELS, "z_dim": 8, "lambda_vgg": 1.0}
    run = train("spade", settings(facades_like, max_steps=2), config)
    store = RunStore()
    assert store.get(run).config["loss_names"] == ["G_GAN", "G_GAN_Feat", "G_VGG", "KLD", "D_real", "D_fake"]
    nets, meta = read_weights(store.latest_checkpoint(run))
    assert any("weight_orig" in k for k in nets["D"])  # spectral-norm discriminators
    model = load_label_model(run)
    labels, photo = scene(7, 64)
    label_map = FACADES.render(labels)
    one, again, other = model(label_map, seed=1), model(label_map, seed=1), model(label_map, seed=2)
    assert one.size == (64, 64) and one.tobytes() == again.tobytes() and one.tobytes() != other.tobytes()
    styled = model(label_map, style=photo)
    assert styled.tobytes() == model(label_map, style=photo).tobytes()

    # the command line: a colour-rendered map in, a photo out, with a style photo
    label_map.save(tmp_path / "map.png")
    photo.save(tmp_path / "style.jpg")
    out = tmp_path / "out.png"
    assert (
        main(
            [
                "translate",
                "--model",
                run,
                str(tmp_path / "map.png"),
                str(out),
                "--style",
                str(tmp_path / "style.jpg"),
            ]
        )
        == 0
    )
    assert Image.open(out).size == (64, 64)
    assert main(["eval", run, "--data", str(facades_like), "--no-fid"]) == 0
    printed = capsys.readouterr().out
    assert "L1" in printed and "SSIM" in printed


def test_label_models_refuse_a_style_without_an_encoder(facades_like, tmp_path):
    run = train("pix2pixhd", settings(facades_like, max_steps=1), TINY_LABELS)
    model = load_label_model(run)
    labels, _ = scene(1, 64)
    out = model(FACADES.render(labels))
    assert out.size == (64, 64)
    assert model.style_code(None, 3) is None  # pix2pixHD draws one rendering per map


def test_index_png_folders_train_with_their_own_palette(tmp_path):
    data = write_label_dataset(tmp_path / "scenes", "folders")
    run = train("spade", settings(data, max_steps=1), TINY_LABELS)
    model = load_label_model(run)
    assert model.palette.names == ("sky", "wall", "window", "door")
    labels, _ = scene(2, 64)
    indexed = Image.fromarray(labels, "P")
    assert model(indexed).size == (64, 64)


def test_local_enhancer_doubles_the_resolution_around_a_trained_global_generator(facades_like):
    global_run = train("pix2pixhd", settings(facades_like, max_steps=1), {**TINY_LABELS, "ngf": 8})
    config = {**TINY_LABELS, "ngf": 8, "local_enhancer": True, "init_from": global_run}
    enhanced = train("pix2pixhd", settings(facades_like, max_steps=1), config)
    g = load_label_model(enhanced).nets["G"]
    assert isinstance(g, LocalEnhancer)
    assert g(torch.zeros(1, 12, 64, 64)).shape == (1, 3, 64, 64)  # the global part saw 32 x 32

    source = read_weights(RunStore().latest_checkpoint(global_run))[0]["G"]
    fresh = LocalEnhancer(ResnetGenerator(12, 3, 8, 9, "instance", downsamplings=4), 12, 4)
    from engine.tasks.pix2pixhd import load_global_weights

    load_global_weights(fresh, global_run)
    assert torch.equal(fresh.model_global[1].weight, source["model.1.weight"].float())
    with pytest.raises(ValueError, match="twice as wide"):
        LocalEnhancer(ResnetGenerator(12, 3, 8, 9, "instance", downsamplings=4), 12, 8)


def test_spectral_multiscale_discriminator_outputs_one_map_per_scale():
    d = build_discriminator(3, 15, 8, 3, "instance", spectral=True)
    maps = d(torch.randn(2, 15, 128, 128))
    assert [m.shape[-1] for m in maps] == [14, 6, 2]
    assert sum("weight_orig" in k for k in d.state_dict()) == 3 * 3  # the middle convs of each scale


def test_presets_become_flags_the_command_line_reads():
    import argparse

    from engine.flags import add_dataclass_args, dataclass_overrides
    from engine.tasks import get_task
    from engine.training.launch import config_flags
    from engine.training.presets import preset_config, preset_names

    for task in ("pix2pixhd", "spade"):
        config_type = get_task(task).Config
        parser = argparse.ArgumentParser()
        add_dataclass_args(parser, config_type)
        for preset in preset_names(task):
            values = preset_config(task, preset)
            assert "class_names" not in values  # the palette comes from the data
            parsed = dataclass_overrides(config_type, parser.parse_args(config_flags(config_type, values)))
            assert parsed == values


@pytest.mark.slow
def test_spade_learns_to_paint_the_tiny_scenes(facades_like):
    import numpy as np

    torch.manual_seed(0)
    config = {**TINY_LABELS, "ngf": 8}
    untrained = train("spade", settings(facades_like, max_steps=1), config)
    trained = train(
        "spade", settings(facades_like, max_steps=100, checkpoint_every=100, sample_every=100), config
    )

    def l1(run: str) -> float:
        model, errors = load_label_model(run), []
        for i in (0, 1):
            labels, photo = scene(i, 64)
            out = np.asarray(model(FACADES.render(labels), seed=0), np.float32)
            errors.append(np.abs(out - np.asarray(photo, np.float32)).mean() / 127.5)
        return float(np.mean(errors))

    before, after = l1(untrained), l1(trained)
    assert after < 0.12 and after < before / 2, (before, after)
