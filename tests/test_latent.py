"""Latent models: VAE/autoencoder/DCGAN tasks, their data, the latent tools and CLIs."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from engine.cli import main
from engine.data import image_folders
from engine.data.image_folders import open_image_dataset
from engine.data.sources import DatasetUnavailableError
from engine.errors import UserError
from engine.inference import latent
from engine.inference.loader import load_latent_model
from engine.losses import gradient_penalty
from engine.models.vae import VAE, kl_divergence, reparameterize
from engine.runtime.precision import Precision
from engine.store import models as bundled
from engine.store.checkpoints import read_weights
from engine.store.runs import RunStore
from engine.tasks.vae import VAEConfig, VAETask
from engine.training.loop import TrainSettings, train

TINY = {"vae": {"nf": 8, "latent_dim": 8}, "autoencoder": {"nf": 8, "latent_dim": 8}}
TINY_GAN = {"ngf": 8, "ndf": 8, "latent_dim": 16}


def draw(i: int, size: int, kind: str) -> Image.Image:
    """A coloured ellipse ('a') or rectangle ('b') at a position set by i, on white."""
    rng = np.random.default_rng(i)
    img = Image.new("RGB", (size, size), "white")
    x0, y0 = (int(v) for v in rng.integers(1, size // 3, 2))
    box = (x0, y0, x0 + size // 2, y0 + size // 2)
    colour = tuple(int(c) for c in rng.integers(0, 200, 3))
    (ImageDraw.Draw(img).ellipse if kind == "a" else ImageDraw.Draw(img).rectangle)(box, fill=colour)
    return img


@pytest.fixture
def shapes(tmp_path: Path) -> Path:
    """Two class subfolders of four 32 px RGB images each."""
    for kind in ("a", "b"):
        (tmp_path / "shapes" / kind).mkdir(parents=True)
        for i in range(4):
            draw(i, 32, kind).save(tmp_path / "shapes" / kind / f"{i}.png")
    return tmp_path / "shapes"


def tiny_run(data: Path, task: str, config: dict, steps: int = 3) -> str:
    settings = TrainSettings(
        data=str(data), max_steps=steps, batch_size=4, sample_size=2, sample_every=3, checkpoint_every=3
    )
    return train(task, settings, config)


def test_vae_loss_falls_on_a_small_batch():
    torch.manual_seed(0)
    cpu = torch.device("cpu")
    task = VAETask(VAEConfig(channels=1, nf=8, latent_dim=8, lr=3e-3), cpu, Precision(cpu, "fp32"))
    images = torch.stack(
        [torch.from_numpy(np.array(draw(i, 32, "ab"[i % 2]).convert("L"))) for i in range(8)]
    )
    batch = {"image": images[:, None].float() / 127.5 - 1}
    losses = [task.train_step(batch)["loss"] for _ in range(30)]
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5, losses


def test_kl_matches_its_closed_form():
    mean = torch.tensor([[1.0, 0.0], [0.0, -2.0]])
    logvar = torch.tensor([[0.0, math.log(4.0)], [math.log(0.25), 0.0]])
    # 0.5 * sum(var + mean^2 - 1 - log var), averaged over the two rows
    expected = 0.5 * ((1 + 1 - 1) + (4 - 1 - math.log(4)) + (0.25 - 1 - math.log(0.25)) + (1 + 4 - 1)) / 2
    assert kl_divergence(mean, logvar).item() == pytest.approx(expected, rel=1e-6)
    q = torch.distributions.Normal(mean, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(2), torch.ones(2))
    reference = torch.distributions.kl_divergence(q, p).sum(1).mean()
    assert kl_divergence(mean, logvar).item() == pytest.approx(reference.item(), rel=1e-6)
    assert kl_divergence(torch.zeros(3, 5), torch.zeros(3, 5)).item() == 0.0


def test_reparameterisation_has_the_right_mean_and_std_and_passes_gradients():
    mean = torch.tensor([2.0, -1.0]).expand(100_000, 2).clone().requires_grad_(True)
    logvar = torch.tensor([math.log(0.25), math.log(4.0)]).expand(100_000, 2).clone()
    z = reparameterize(mean, logvar, torch.Generator().manual_seed(0))
    torch.testing.assert_close(z.mean(0), torch.tensor([2.0, -1.0]), atol=0.02, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([0.5, 2.0]), atol=0.02, rtol=0)
    z.sum().backward()
    assert torch.equal(mean.grad, torch.ones_like(mean))


def test_slerp_keeps_endpoints_exact_and_the_norm_up():
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(100, generator=gen), torch.randn(100, generator=gen)
    for spherical in (False, True):
        path = latent.interpolate(a, b, 9, spherical)
        assert path.shape == (9, 100) and torch.equal(path[0], a) and torch.equal(path[-1], b)
    norms_s = latent.interpolate(a, b, 9, True).norm(dim=1)
    norms_l = latent.interpolate(a, b, 9, False).norm(dim=1)
    assert norms_s[4] > 0.95 * min(a.norm(), b.norm())  # the great circle keeps Gaussian-like norms
    assert norms_l[4] < 0.8 * min(a.norm(), b.norm())  # the straight line cuts through the middle
    c = b * a.norm() / b.norm()  # equal norms: constant along the arc
    torch.testing.assert_close(latent.slerp(a, c, latent.steps(7)).norm(dim=1), a.norm().expand(7))
    torch.testing.assert_close(latent.slerp(a, 2 * a, latent.steps(3))[1], 1.5 * a)  # parallel: lerp
    torch.testing.assert_close(latent.arithmetic(a, b, b), a)


def test_wgan_gp_penalty_is_taken_on_interpolates():
    w = torch.randn(1, 1, 4, 4, requires_grad=True)
    seen = []

    def linear_critic(x: torch.Tensor) -> torch.Tensor:
        seen.append(x.detach().clone())
        return (x * w).sum((1, 2, 3))

    real, fake = torch.ones(5, 1, 4, 4), -torch.ones(5, 1, 4, 4)
    gp = gradient_penalty(linear_critic, real, fake, torch.Generator().manual_seed(0))
    assert gp.item() == pytest.approx((w.norm().item() - 1) ** 2, rel=1e-5)
    points = seen[0]
    eps = (points - fake) / (real - fake)  # each point is eps * real + (1 - eps) * fake
    assert torch.allclose(eps, eps[:, :1, :1, :1].expand_as(eps))
    assert (eps >= 0).all() and (eps <= 1).all() and eps[:, 0, 0, 0].unique().numel() == 5
    gp.backward()  # the graph is kept, so the penalty trains the critic
    assert w.grad is not None and w.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "task,config,losses",
    [
        ("vae", TINY["vae"], ["recon", "KL", "loss"]),
        ("autoencoder", TINY["autoencoder"], ["L2"]),
        ("dcgan", TINY_GAN, ["G", "D", "D_real", "D_fake"]),
        ("dcgan", {**TINY_GAN, "gan_mode": "wgan-gp", "n_critic": 2}, ["D", "D_real", "D_fake", "GP", "G"]),
        ("dcgan", {**TINY_GAN, "gan_mode": "hinge", "conditional": True}, ["G", "D", "D_real", "D_fake"]),
    ],
)
def test_each_task_trains_through_the_one_trainer(shapes, task, config, losses):
    run_id = tiny_run(shapes, task, config)
    store = RunStore()
    run = store.get(run_id)
    assert run.status == "finished" and run.step == 3
    assert {n for _, n, _ in store.metrics(run_id)} == set(losses)
    assert run.config["task_config"]["channels"] == 3  # settled from the (colour) data
    (step, path), *_ = store.samples(run_id)
    grid = Image.open(path)
    if task == "dcgan":
        rows = 2 if config.get("conditional") else 8
        assert grid.size == (8 * 34 - 2, rows * 34 - 2)  # 8 fixed z per row; classes as rows
    else:
        assert grid.size == (len(run.config["visual_names"]) * 34 - 2, 2 * 34 - 2)
    nets, meta = read_weights(store.latest_checkpoint(run_id))
    assert set(nets) == ({"G", "D"} if task == "dcgan" else {"G"}) and meta["config"]["channels"] == 3


def test_sample_and_interpolate_commands_write_a_png_and_a_gif(shapes, tmp_path, monkeypatch, capsys):
    vae = tiny_run(shapes, "vae", TINY["vae"])
    gan = tiny_run(shapes, "dcgan", TINY_GAN)
    assert main(["sample", "--model", gan, str(tmp_path / "s.png"), "--count", "6", "--seed", "1"]) == 0
    assert Image.open(tmp_path / "s.png").size == (3 * 34 - 2, 2 * 34 - 2)
    a, b = shapes / "a" / "0.png", shapes / "b" / "1.png"
    assert (
        main(["interpolate", "--model", vae, str(a), str(b), str(tmp_path / "v.gif"), "--frames", "5"]) == 0
    )
    gif = Image.open(tmp_path / "v.gif")
    assert gif.n_frames == 5 and gif.size[0] == 4 * 32
    assert (
        main(["interpolate", "--model", gan, "3", "4", str(tmp_path / "g.gif"), "--frames", "6", "--slerp"])
        == 0
    )
    assert Image.open(tmp_path / "g.gif").n_frames == 6
    assert main(["interpolate", "--model", gan, str(a), "4", str(tmp_path / "x.gif")]) == 1
    assert "no encoder" in capsys.readouterr().err

    # an exported run is what the bundled defaults are made of
    assert main(["export", vae, str(tmp_path / "vae-fashion-mnist.safetensors")]) == 0
    monkeypatch.setattr(bundled, "assets_models_dir", lambda: tmp_path)
    model = load_latent_model("default-vae")
    z = model.encode_images([Image.open(a), Image.open(b)])
    assert z.shape == (2, 8) and model.decode(z).shape == (2, 3, 32, 32)
    assert torch.equal(model.seed_latents([5])[0], model.seed_latents([4, 5])[1])


def test_latent_map_of_a_two_dimensional_vae():
    meta = {"task": "vae", "config": {"image_size": 32, "channels": 1}}
    model = latent.LatentModel(VAE(1, 32, 2, nf=8), meta, "memory", torch.device("cpu"))
    assert latent.latent_map(model, 5).size == (5 * 34 - 2, 5 * 34 - 2)
    with pytest.raises(ValueError, match="latent_dim 2"):
        latent.latent_map(latent.LatentModel(VAE(1, 32, 3, nf=8), meta, "memory", torch.device("cpu")))


def test_image_folder_datasets(tmp_path, shapes):
    labelled = open_image_dataset(shapes, "train", 32)
    assert len(labelled) == 8 and labelled.class_names == ["a", "b"] and labelled.channels == 3
    item = labelled[(5, 1234)]  # the trainer's (index, aug_seed) keys
    assert item["image"].shape == (3, 32, 32) and item["label"] == 1
    assert -1 <= item["image"].min() and item["image"].max() <= 1
    flat = tmp_path / "flat"
    (flat / "deeper").mkdir(parents=True)
    draw(0, 40, "a").convert("L").save(flat / "0.png")
    draw(1, 24, "b").convert("L").resize((24, 48)).save(flat / "deeper" / "1.jpg")
    gray = open_image_dataset(flat, "train", 64)
    assert gray.images.shape == (2, 1, 64, 64) and gray.num_classes == 0 and gray[1]["label"] == -1
    assert open_image_dataset(flat, "train", 32, channels=3).images.shape == (2, 3, 32, 32)
    with pytest.raises(UserError, match="no val split"):
        open_image_dataset(flat, "val", 32)


@pytest.mark.skipif(
    not image_folders.SYSTEM_FASHION_MNIST.is_dir(),
    reason="needs the Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)",
)
def test_fashion_mnist_from_the_debian_package():
    train_set = open_image_dataset("fashion-mnist", "train", 32)
    assert train_set.images.shape == (60000, 1, 32, 32) and train_set.num_classes == 10
    assert sorted(train_set.labels.unique().tolist()) == list(range(10))
    assert train_set.images[:, :, :2].max() == 0  # the 28 px digits-style images are padded
    assert len(open_image_dataset("fashion-mnist", "val", 32)) == 10000


def test_fashion_mnist_download_fails_fast_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(image_folders, "SYSTEM_FASHION_MNIST", tmp_path / "not-installed")
    monkeypatch.setattr(image_folders, "FASHION_MNIST_URLS", ("http://127.0.0.1:9/",))
    start = time.monotonic()
    with pytest.raises(DatasetUnavailableError, match="dataset-fashion-mnist"):
        open_image_dataset("fashion-mnist", "train", 32)
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("name", sorted(bundled.bundled_models("latent")))
def test_bundled_latent_defaults_make_clothes(name):
    model = load_latent_model(name, device="cpu")
    assert model.image_size == 32 and model.channels == 1
    samples = model.sample(16, seed=0)
    corners = torch.cat([samples[..., :3, :3], samples[..., -3:, -3:]]).mean()
    assert corners < -0.9 and samples[..., 8:24, 8:24].mean() > corners + 0.5  # an item on black
    if model.can_encode and image_folders.SYSTEM_FASHION_MNIST.is_dir():
        held_out = open_image_dataset("fashion-mnist", "val", 32).images[:16]
        x = held_out.float() / 127.5 - 1
        error = (model.decode(model.encode(x)) - x).abs().mean()
        assert error < 0.3 * (x + 1).abs().mean()  # far better than an all-black guess


def test_latent_runs_show_in_the_runs_and_compare_pages(shapes):
    from test_app_pages import open_page

    vae = tiny_run(shapes, "vae", TINY["vae"])
    gan = tiny_run(shapes, "dcgan", TINY_GAN)
    at = open_page("runs")
    at.selectbox(key="runs.pick").set_value(vae).run()
    assert not at.exception
    titles = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert all(name in titles for name in ("recon", "KL"))
    at.selectbox(key="runs.pick").set_value(gan).run()
    assert not at.exception and len(at.get("plotly_chart")) >= 2
    at = open_page("compare")
    at.multiselect(key="compare.runs").set_value([vae, gan]).run()
    assert not at.exception and not at.error
