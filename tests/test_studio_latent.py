"""The latent-space demo: its functions in-process, and the slider through a launched server."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from engine.data.image_folders import find_fashion_mnist
from engine.inference import latent
from engine.inference.loader import load_latent_model
from engine.training.loop import TrainSettings, train
from studio.latent import LatentDemo, available_models, build_latent_demo

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
SEED = ("seed", 0, 0, None)


def shape(i: int) -> Image.Image:
    img = Image.new("RGB", (32, 32), "white")
    ImageDraw.Draw(img).ellipse((2 + i, 4, 18 + i, 24), fill=(40 * i, 90, 200 - 30 * i))
    return img


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A two-step VAE and DCGAN, trained once for the module: label -> checkpoint path."""
    root = tmp_path_factory.mktemp("latent")
    for i in range(4):
        (root / "shapes").mkdir(exist_ok=True)
        shape(i).save(root / "shapes" / f"{i}.png")
    home = str(root / "home")
    found = {}
    for task, config in (
        ("vae", {"nf": 8, "latent_dim": 8}),
        ("dcgan", {"ngf": 8, "ndf": 8, "latent_dim": 16}),
    ):
        settings = TrainSettings(data=str(root / "shapes"), max_steps=2, batch_size=4, sample_size=2)
        run_id = train(task, settings, config, home=home)
        found[task] = str(
            next((root / "home" / "runs" / run_id / "checkpoints").glob("step_*[0-9].safetensors"))
        )
    return found


def ends(a=SEED, b=("seed", 1, 0, None)) -> tuple:
    return (*a, *b)


@pytest.mark.parametrize("task", ["vae", "dcgan"])
def test_slider_ends_are_the_decoded_seeds(runs, task):
    demo = LatentDemo(runs)
    model = load_latent_model(runs[task])
    expected = latent.to_images(model.decode(model.seed_latents([0, 1])), 8)
    for t, want in ((0, expected[0]), (1, expected[1])):
        for spherical in (False, True):
            img, message = demo.slide(runs[task], t, spherical, *ends())
            assert message == "" and img.size == (256, 256)
            assert np.abs(np.asarray(img, int) - np.asarray(want, int)).max() <= 1


def test_strip_gif_samples_and_arithmetic(runs):
    demo = LatentDemo(runs)
    strip, gif, message = demo.strip(runs["vae"], 5, True, *ends())
    assert message == "" and strip.size == (4 * (5 * 32 + 4 * 2), 4 * 32)
    with Image.open(gif) as anim:
        assert anim.n_frames == 2 * 5 - 2  # bounced: forth and back, ends not doubled
    grid, message = demo.samples(runs["dcgan"], 3, 9)
    assert message == "" and grid.size == (4 * (3 * 32 + 2 * 2),) * 2
    result, message = demo.arithmetic(runs["dcgan"], *SEED, "seed", 1, 0, None, "seed", 2, 0, None)
    assert message == "" and result.size == (6 * (4 * 32 + 3 * 2), 6 * 32)


def test_encoder_ends_and_bad_input(runs, tmp_path: Path):
    demo = LatentDemo(runs, roots=(tmp_path,))
    up = tmp_path / "up.png"
    shape(1).save(up)
    img, message = demo.slide(runs["vae"], 0, False, *ends(("upload", 0, 0, str(up))))
    model = load_latent_model(runs["vae"])
    want = latent.to_images(model.decode(model.encode_images([shape(1)])), 8)[0]
    assert message == "" and np.abs(np.asarray(img, int) - np.asarray(want, int)).max() <= 1
    if find_fashion_mnist() is not None:
        assert demo.slide(runs["vae"], 0.5, True, *ends(("dataset sample", 0, 7, None)))[1] == ""
        assert "numbered" in demo.slide(runs["vae"], 0.5, True, *ends(("dataset sample", 0, 10**6, None)))[1]
    huge = tmp_path / "huge.png"
    Image.new("L", (2100, 2100)).save(huge)  # a photo larger than MAX_SIDE is read reduced
    assert demo.slide(runs["vae"], 0.5, True, *ends(("upload", 0, 0, str(huge))))[1] == ""
    cases = [
        (runs["vae"], ("upload", 0, 0, None), "Upload an image"),
        (runs["dcgan"], ("upload", 0, 0, str(up)), "no encoder"),
        ("/etc/passwd", SEED, "unknown model"),
    ]
    for model_name, end, expected in cases:
        img, message = demo.slide(model_name, 0.5, True, *ends(end))
        assert img is None and expected in message, message
    assert "1 to 64" in demo.samples(runs["vae"], 0, 0)[1]


def test_finished_runs_are_offered(runs, studio_home):
    settings = TrainSettings(data=str(Path(runs["vae"]).parents[4] / "shapes"), max_steps=1, batch_size=4)
    run_id = train("autoencoder", settings, {"nf": 8, "latent_dim": 8})
    assert run_id in available_models().values()


def test_launched_demo_answers_the_slider(runs):
    from gradio_client import Client

    torch.set_num_threads(1)
    demo = build_latent_demo(runs)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        img, message = client.predict("dcgan", 1.0, True, *ends(), api_name="/slide")  # by label
        assert message == "" and Image.open(img).size == (256, 256)
        strip, gif, message = client.predict("vae", 4, False, *ends(), api_name="/strip")
        assert message == "" and Image.open(gif).n_frames == 6
    finally:
        demo.close()


def components(demo, label: str) -> list[dict]:
    return [c["props"] for c in demo.config["components"] if c.get("props", {}).get("label") == label]


def test_an_upload_is_shown_as_the_model_sees_it(runs, tmp_path: Path):
    demo = LatentDemo({**runs, "default-vae": "default-vae"}, roots=(tmp_path,))
    photo = tmp_path / "photo.png"
    Image.new("RGB", (300, 200), (200, 40, 40)).save(photo)
    shown = demo.preview("default-vae", "upload", 0, str(photo))
    seen = np.asarray(shown["value"])
    assert shown["visible"] and seen.shape[:2] == (96, 96)  # 32 px, enlarged 3x
    assert (seen[..., 0] == seen[..., 1]).all()  # grey, as the model reads it
    assert "32 px grey" in shown["label"] and "fashion-mnist" in shown["label"].lower()
    assert not demo.preview("default-vae", "seed", 0, str(photo))["visible"]


def test_a_model_switch_clears_the_strip_gif_samples_and_arithmetic(runs):
    blocks = build_latent_demo(runs)
    strip, gif = components(blocks, "Strip")[0], components(blocks, "Animated GIF")[0]
    ids = {c["props"].get("label"): c["id"] for c in blocks.config["components"]}
    model_id = ids["Model"]
    clears = [
        set(d["outputs"])
        for d in blocks.config["dependencies"]
        if [model_id, "change"] in [list(t) for t in d["targets"]]
    ]
    wanted = {ids["Strip"], ids["Animated GIF"], ids["Samples"], ids["a | b | c | a − b + c"]}
    assert any(wanted <= outputs for outputs in clears)
    assert strip and gif
    cleared = LatentDemo(runs).model_changed()
    assert cleared[:2] == (None, None) and "Model changed" in cleared[2]


def test_no_dataset_index_without_the_dataset(runs, monkeypatch):
    import studio.latent

    monkeypatch.setattr(studio.latent, "find_fashion_mnist", lambda: None)
    blocks = build_latent_demo(runs)
    assert components(blocks, "Dataset index (test set)")
    assert not any(c.get("visible", True) for c in components(blocks, "Dataset index (test set)"))
    radios = [c for c in blocks.config["components"] if c["type"] == "radio"]
    assert all("dataset sample" not in str(c["props"]["choices"]) for c in radios)
    updates = studio.latent.show_fields("upload")
    assert [u["visible"] for u in updates] == [False, False, True]
