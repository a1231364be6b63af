"""The Streamlit app (every page, empty and populated run store) and the engine helpers behind
it: launching training processes, loss curves, the U-Net layer table."""

from __future__ import annotations

import argparse
import http.server
import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from engine.errors import UserError
from engine.flags import add_dataclass_args, dataclass_overrides
from engine.models.unet import UNetGenerator
from engine.store.curves import Curves, ema, plot_groups, rows_to_series, thin
from engine.store.runs import RunStore
from engine.tasks.pix2pix import Pix2Pix, Pix2PixConfig
from engine.training.launch import (
    config_flags,
    dataset_problem,
    last_error,
    resume_training,
    start_training,
    wait_for_new_run,
)
from engine.training.loop import TrainSettings, train
from engine.training.presets import PRESETS, preset_config
from pages.unet_layers import unet_layer_table
from support.app import APP, chart_titles, open_page
from support.tiny import TINY_PIX2PIX, write_aligned

PAGES = ["home", "train", "runs", "compare", "learn", "playground", "style_lab"]
CGAN_LOSSES = ["G_GAN", "G_L1", "D_real", "D_fake", "D"]


def wait_until(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return found


def running_run(store: RunStore, name: str = "live one") -> str:
    """A run this very process claims, so the store sees a live trainer."""
    config = {
        "settings": {"data": "x"},
        "task_config": {"mode": "l1+cgan"},
        "loss_names": CGAN_LOSSES,
        "visual_names": [],
    }
    run = store.create_run("pix2pix", config, name=name, max_steps=100)
    store.claim(run.id)
    store.log_metric_rows(run.id, [(s, n, 1.0 / s) for s in (1, 2, 3) for n in CGAN_LOSSES])
    return run.id


@pytest.fixture(autouse=True)
def no_gradio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_GRADIO_URL", "http://127.0.0.1:9")  # nothing listens there


@pytest.fixture(scope="module")
def populated_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A store with a finished cGAN run (losses, sample grid, checkpoint, an eval) and a running one."""
    root = tmp_path_factory.mktemp("populated")
    write_aligned(root / "shapes" / "train", 8, 32)
    write_aligned(root / "shapes" / "val", 3, 32, start=100)
    home = root / "home"
    settings = TrainSettings(
        data=str(root / "shapes"), max_steps=2, batch_size=2, sample_size=2, precision="fp32"
    )
    finished = train("pix2pix", settings, TINY_PIX2PIX, home=str(home))
    store = RunStore(home)
    store.log_eval(finished, str(root / "shapes"), "val", {"L1": 0.5, "SSIM": 0.1})
    return home, finished, running_run(store)


@pytest.fixture
def populated(populated_home, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
    monkeypatch.setenv("STUDIO_HOME", str(populated_home[0]))
    return populated_home


# every page, both stores ----------------------------------------------------------------------
@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_an_empty_store(page):
    at = open_page(page)
    assert not at.error


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_with_a_finished_and_a_running_run(page, populated):
    at = open_page(page)
    assert not at.error, [e.value for e in at.error]


def test_home_lists_runs_with_their_status(populated):
    _, finished, running = populated
    table = open_page("home").dataframe[-1].value
    statuses = dict(zip(table["run"], table["status"]))
    assert "finished" in statuses[finished] and "running" in statuses["live one"]


def test_runs_page_draws_generator_bce_l1_and_discriminator_loss_plots(populated):
    _, finished, _ = populated
    at = open_page("runs")
    at.selectbox(key="runs.pick").set_value(finished).run()
    titles = chart_titles(at)
    assert len(titles) == 3
    assert [t.split(":")[0] for t in titles] == ["G_GAN", "G_L1", "D"]
    d_chart = json.loads(at.get("plotly_chart")[2].proto.spec)
    assert {"D", "D_real", "D_fake"} <= {trace.get("name") for trace in d_chart["data"]}
    assert at.image, "the sample grid is shown"


def test_runs_page_reads_only_new_metric_rows(populated, monkeypatch):
    home, _, running = populated
    calls = []
    original = RunStore.metrics_after_row

    def spy(self, run_id, row=0):
        new = original(self, run_id, row)
        calls.append((run_id, row, len(new.rows)))
        return new

    monkeypatch.setattr(RunStore, "metrics_after_row", spy)
    at = open_page("runs")
    at.selectbox(key="runs.pick").set_value(running).run()
    seen = at.session_state["curves"][running].last_row
    RunStore(home).log_metric_rows(running, [(4, n, 0.25) for n in CGAN_LOSSES])
    calls.clear()
    at.run()
    assert calls == [(running, seen, len(CGAN_LOSSES))]
    assert at.session_state["curves"][running].series["D"].steps[-2:] == [3, 4]
    assert len(at.get("plotly_chart")) == 3


def test_learn_page_shows_the_70x70_receptive_field_and_unet_table():
    at = open_page("learn")
    assert {m.label: m.value for m in at.metric}["receptive field"] == "70x70"
    unet = at.dataframe[1].value
    assert list(unet["block"])[:1] == ["down1 C64"] and len(unet) == 16
    charts = [chart.key for chart in at.get("plotly_chart")]
    assert charts.count("learn.rf_chart") == 1 and at.latex


def test_learn_spade_tab_shows_a_models_gamma_and_beta_maps(tmp_path):
    from engine.training.loop import TrainSettings, train
    from support.tiny import TINY_LABELS, write_label_dataset

    data = write_label_dataset(tmp_path / "facades", "aligned")
    train("spade", TrainSettings(data=str(data), max_steps=1, batch_size=2, sample_size=2), TINY_LABELS)
    at = open_page("learn")
    assert not at.exception
    charts = [chart.key for chart in at.get("plotly_chart")]
    assert {"learn.spade.wash", "learn.spade.gamma", "learn.spade.beta"} <= set(charts)
    assert at.selectbox(key="learn.spade.layer").options[0] == "head_0.norm_0"
    washed = {m.label: m.value for m in at.metric if m.label.startswith("all-")}
    assert washed == {  # one class, any class: plain normalisation leaves nothing
        "all-facade map: largest value after conv + norm": "0.000",
        "all-window map: largest value after conv + norm": "0.000",
    }


def test_compare_page_overlays_runs_shows_evals_and_translates_examples(populated):
    _, finished, running = populated
    at = open_page("compare")
    assert sorted(at.multiselect(key="compare.runs").value) == sorted([finished, running])
    assert len(at.get("plotly_chart")) == len(CGAN_LOSSES)
    assert "SSIM" in at.dataframe[0].value.columns
    at.multiselect(key="compare.models").set_value([finished]).run()
    at.button(key="compare.go").click().run()
    assert not at.exception and not at.error
    assert len(at.image) == 2 * len(list((Path(APP).parent / "assets" / "examples").glob("*.png")))


def test_train_page_rejects_a_missing_dataset_folder(tmp_path):
    at = open_page("train")
    at.text_input(key="train.data").input(str(tmp_path / "nope")).run()
    assert "not found" in at.error[0].value
    assert at.button(key="train.launch").disabled


@pytest.mark.slow
def test_train_page_launches_a_training_process_and_resumes_it(aligned_dataset, studio_home):
    at = open_page("train")
    at.selectbox(key="train.preset.pix2pix").set_value("problem set: L1 only").run()
    at.text_input(key="train.data").input(str(aligned_dataset))
    for name, value in TINY_PIX2PIX.items():
        at.number_input(key=f"cfg.pix2pix.{name}").set_value(value)
    for name, value in {"max_steps": 2, "batch_size": 2, "sample_size": 2, "sample_every": 1}.items():
        at.number_input(key=f"set.{name}").set_value(value)
    at.selectbox(key="set.precision").set_value("fp32")
    at.run()
    at.button(key="train.launch").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    store = RunStore()
    run = wait_until(lambda: store.list()[0] if store.list() else None)
    assert run.config["task_config"]["mode"] == "l1" and run.config["task_config"]["ngf"] == 8
    wait_until(lambda: store.get(run.id).status == "finished")
    at.run()  # the finished run now offers a resume button
    at.number_input(key=f"train.{run.id}.until").set_value(3)
    at.button(key=f"train.{run.id}.resume").click().run()
    assert not at.error
    wait_until(lambda: store.get(run.id).status == "finished" and store.get(run.id).step == 3)


def test_train_page_stop_button_requests_a_stop():
    store = RunStore()
    run_id = running_run(store)
    at = open_page("train")
    at.button(key=f"train.{run_id}.stop").click().run()
    assert store.stop_requested(run_id)


def test_playground_embeds_the_demo_when_it_answers(monkeypatch):
    assert open_page("playground").warning  # nothing at the default test URL
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("STUDIO_GRADIO_URL", f"http://127.0.0.1:{server.server_address[1]}")
        at = open_page("playground")
        assert not at.warning and at.get("iframe")
    finally:
        server.shutdown()
        server.server_close()


# engine helpers -------------------------------------------------------------------------------
def test_config_flags_round_trip_through_the_cli_parser():
    values = {**preset_config("pix2pix", "lite (ngf 32)"), "dropout": False}
    parser = argparse.ArgumentParser()
    add_dataclass_args(parser, Pix2PixConfig)
    args = parser.parse_args(config_flags(Pix2PixConfig, values))
    assert dataclass_overrides(Pix2PixConfig, args) == values
    assert "--no-dropout" in config_flags(Pix2PixConfig, {"dropout": False})
    parser = argparse.ArgumentParser()
    add_dataclass_args(parser, TrainSettings)
    args = parser.parse_args(config_flags(TrainSettings, {"name": "-odd", "max_steps": 5}))
    assert (args.name, args.max_steps) == ("-odd", 5)
    with pytest.raises(ValueError, match="unknown"):
        config_flags(Pix2PixConfig, {"lamda": 1})


def test_every_preset_builds_its_task_and_changes_only_what_it_names():
    from engine.tasks import get_task

    for task_name, presets in PRESETS.items():
        task = get_task(task_name)
        plain = preset_config(task_name, "task defaults")
        for name, overrides in presets.items():
            config = preset_config(task_name, name)
            task.Config(**config)  # every preset is a valid config
            assert {k for k in config if config[k] != plain.get(k)} == {
                k for k, v in overrides.items() if v != plain.get(k)
            }, name
    # the problem set's two pix2pix configurations train different objectives
    for preset, losses in (
        ("problem set: L1 only", ["G_L1"]),
        ("problem set: L1 + cGAN, lambda 100", ["G_GAN", "G_L1", "D_real", "D_fake", "D"]),
    ):
        config = Pix2PixConfig(**{**preset_config("pix2pix", preset), **TINY_PIX2PIX})
        assert Pix2Pix(config, torch.device("cpu"), None).loss_names == losses
    with pytest.raises(UserError, match="problem set: L1 only"):
        preset_config("pix2pix", "nope")


def test_start_and_resume_refuse_what_cannot_work(tmp_path, aligned_dataset):
    assert "not found" in dataset_problem(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    assert "no images" in dataset_problem(tmp_path / "empty")
    assert dataset_problem(aligned_dataset) is None
    with pytest.raises(UserError, match="not found"):
        start_training("pix2pix", {"data": str(tmp_path / "missing")})
    with pytest.raises(ValueError, match="unknown task"):
        start_training("nope", {"data": str(aligned_dataset)})
    store = RunStore()
    with pytest.raises(UserError, match="no run"):
        resume_training("no-such-run")
    with pytest.raises(ValueError, match="still running"):
        resume_training(running_run(store))


def test_wait_for_new_run_finds_a_new_run_and_gives_up_on_a_dead_process(tmp_path):
    store = RunStore()
    since = time.time()
    run_id = running_run(store)
    assert wait_for_new_run(store, since, timeout=1).id == run_id
    assert wait_for_new_run(store, time.time() + 1, timeout=0.3) is None
    with open(tmp_path / "log", "w") as log:
        dead = subprocess.Popen([sys.executable, "-c", "print('error: broken')"], stdout=log)
    start = time.monotonic()
    assert wait_for_new_run(store, time.time() + 1, timeout=30, process=dead) is None
    assert time.monotonic() - start < 10
    assert last_error(tmp_path / "log") == "error: broken"


def test_ema_matches_a_hand_computation():
    # w = 0.5: 0.5/0.5 = 1; (0.25 + 1)/0.75; (0.625 + 1.5)/0.875
    assert ema([1.0, 2.0, 3.0], 0.5) == pytest.approx([1.0, 1.25 / 0.75, 2.125 / 0.875])
    assert ema([4.0, 5.0], 0.0) == [4.0, 5.0]
    smoothed = ema([2.0, math.nan, 2.0], 0.9)
    assert smoothed[0] == pytest.approx(2.0) and math.isnan(smoothed[1]) and smoothed[2] == pytest.approx(2.0)
    with pytest.raises(ValueError):
        ema([1.0], 1.0)


def test_curves_append_only_rows_after_the_last_step():
    store = RunStore()
    run_id = running_run(store)
    curves = Curves()
    assert curves.poll(store, run_id) == 3 * len(CGAN_LOSSES) and curves.last_step == 3
    assert curves.poll(store, run_id) == 0
    store.log_metrics(run_id, 4, {"G_L1": 0.5})
    assert curves.poll(store, run_id) == 1
    assert curves.series["G_L1"].steps == [1, 2, 3, 4] and curves.series["G_L1"].values[-1] == 0.5
    assert rows_to_series([(1, "a", 2.0)])["a"].values == [2.0]
    steps, values = thin(list(range(10)), list(range(10)), max_points=4)
    assert steps[0] == 0 and steps[-1] == 9 and len(steps) <= 5 and values == steps
    assert plot_groups(CGAN_LOSSES) == [
        ("G_GAN", ["G_GAN"]),
        ("G_L1", ["G_L1"]),
        ("D", ["D", "D_real", "D_fake"]),
    ]
    assert plot_groups(["G_L1"]) == [("G_L1", ["G_L1"])]


@pytest.mark.parametrize("size,ngf,depth", [(32, 8, None), (64, 4, 4)])
def test_unet_layer_table_matches_a_real_forward_pass(size, ngf, depth):
    rows = unet_layer_table(size=size, ngf=ngf, depth=depth)
    net = UNetGenerator(3, 3, ngf, depth or int(math.log2(size))).eval()
    blocks = [*net.encoders, *net.decoders, net.final]
    seen = []
    hooks = [
        b.register_forward_hook(lambda m, i, o: seen.append((tuple(i[0].shape[1:]), tuple(o.shape[1:]))))
        for b in blocks
    ]
    with torch.no_grad():
        net(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    assert [(r["input"], r["output"]) for r in rows] == seen
    assert [r["params"] for r in rows] == [sum(p.numel() for p in b.parameters()) for b in blocks]
    assert sum(r["params"] for r in rows) == sum(p.numel() for p in net.parameters())


def test_unet_layer_table_names_the_problem_sets_layers():
    names = [r["name"] for r in unet_layer_table()]
    assert names[:8] == ["down1 C64", "down2 C128", "down3 C256"] + ["down4 C512"] + [
        f"down{i} C512" for i in range(5, 9)
    ]
    assert names[8:] == [
        "up1 CD512",
        "up2 CD512",
        "up3 CD512",
        "up4 C512",
        "up5 C256",
        "up6 C128",
        "up7 C64",
        "out C3",
    ]
    assert sum(r["params"] for r in unet_layer_table()) == 54_413_955  # pix2pix's unet_256
    with pytest.raises(ValueError):
        unet_layer_table(size=48, depth=5)


def test_an_unusable_run_store_is_an_error_message_not_a_traceback(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "a-file"))
    at = open_page("runs")
    assert "Cannot open the run store" in at.error[0].value


def test_runs_and_compare_plot_held_out_metrics_as_points(studio_home):
    store = RunStore()
    config = {
        "settings": {"data": "x", "eval_every": 2},
        "task_config": {"mode": "l1"},
        "loss_names": ["G_L1"],
        "visual_names": [],
    }
    run = store.create_run("pix2pix", config, name="evaluated", max_steps=4)
    rows = [(s, "G_L1", 1.0 / s) for s in (1, 2, 3, 4)]
    rows += [
        (s, n, v / s) for s in (2, 4) for n, v in (("val_KID", 0.2), ("val_drawn_KID", 0.3), ("val_FID", 200))
    ]
    store.log_metric_rows(run.id, rows)
    store.set_status(run.id, "finished")
    at = open_page("runs")
    titles = chart_titles(at)
    assert titles[1:] == ["held-out FID ↓", "held-out KID ↓"]
    kid = json.loads(at.get("plotly_chart")[2].proto.spec)["data"]
    assert {t["name"] for t in kid} == {"clean", "drawn"} and all(t["mode"] == "lines+markers" for t in kid)
    at = open_page("compare")
    assert "held-out KID ↓" in chart_titles(at)


def test_learn_page_shows_drawings_made_from_an_example_sketch():
    at = open_page("learn")
    assert len(at.tabs) == 6 and at.tabs[3].label == "Drawings & hints"
    drawings = [i for i in at.image if "drawing" in (i.proto.imgs[0].caption if i.proto.imgs else "")]
    assert len(drawings) == 8
    at.number_input(key="learn.drawing.seed").set_value(3).run()
    assert not at.exception and not at.error


def test_compare_refuses_latent_runs_for_translation(studio_home):
    store = RunStore()
    config = {"settings": {"data": "x"}, "task_config": {}, "loss_names": ["recon"], "visual_names": []}
    vae = store.create_run("vae", config, name="a vae", max_steps=1)
    store.set_status(vae.id, "finished")
    (store.runs_dir / vae.id / "checkpoints").mkdir(parents=True)
    (store.runs_dir / vae.id / "checkpoints" / "step_00000001.safetensors").write_bytes(b"x")
    at = open_page("compare")
    assert at.multiselect(key="compare.runs").value == [vae.id]
    offered = at.multiselect(key="compare.models").options
    assert vae.id not in offered and "default (bundled)" in offered
    assert any("not offered here: vae runs" in c.value for c in at.caption)


def test_the_train_page_offers_a_student_cut_out_of_its_teacher(studio_home):
    at = open_page("train")
    at.selectbox(key="train.task").set_value("distill").run()
    start = next(box for box in at.selectbox if box.label == "start")
    assert start.options == ["teacher", "scratch"] and start.value == "teacher"
    labels = {w.label for kind in (at.selectbox, at.number_input, at.checkbox, at.text_input) for w in kind}
    assert {"teacher", "ngf", "lambda target", "hints"} <= labels
    assert not labels & {"mode", "gan mode", "ndf", "n layers", "lambda l1", "lambda vgg"}  # no discriminator
    said = " ".join(i.value for i in at.info)  # the quick size's 128 px: the cut trains at the teacher's
    assert "crop size 256 (not 128)" in said and "distill sets them" in said
