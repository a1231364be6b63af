"""The Hugging Face Hub both ways, with no network: `export --format hub` writes the folder `push`
uploads (weights, config.json, model card, sample grid) and `--model DIR` loads it with the
run's own pixels; Hub ids go through a mocked `snapshot_download` (online, offline with and
without the cache); `push` and the Runs page's publish action call a mocked `HfApi`."""

from __future__ import annotations

import json
from pathlib import Path

import huggingface_hub
import numpy as np
import pytest
from huggingface_hub import ModelCard
from huggingface_hub.errors import LocalEntryNotFoundError
from PIL import Image

from engine.cli import main
from engine.errors import UserError
from engine.inference.loader import find_model, load_model
from engine.store.checkpoints import save_weights
from engine.store.runs import RunStore


def export_hub(run: str, out: Path, *flags: str) -> int:
    return main(["export", run, str(out), "--format", "hub", *flags])


def drawing(path: Path) -> Path:
    img = Image.new("RGB", (32, 32), "white")
    img.paste((0, 0, 0), (8, 8, 24, 24))
    img.save(path)
    return path


@pytest.fixture
def hub_folder(tiny_run: str, tmp_path: Path) -> Path:
    """The tiny run exported as a Hub folder (fp32), after a held-out eval was recorded."""
    RunStore().log_eval(tiny_run, "/data/shapes", "val", {"L1": 0.25, "FID": 123.0, "KID": 0.05})
    out = tmp_path / "published"
    assert export_hub(tiny_run, out, "--fp32", "--license", "mit") == 0
    return out


def test_hub_folder_holds_weights_config_and_a_card_and_loads_with_the_runs_pixels(
    tiny_run, hub_folder, tmp_path
):
    assert {p.name for p in hub_folder.iterdir()} == {
        "model.safetensors",
        "config.json",
        "README.md",
        "sample.png",
    }
    described = json.loads((hub_folder / "config.json").read_text())
    assert described["library_name"] == "image-studio" and described["task"] == "pix2pix"
    assert described["kind"] == "image-to-image" and described["dataset"] == "shapes"
    from engine.store.checkpoints import read_weights

    meta = read_weights(hub_folder / "model.safetensors")[1]
    assert meta["settings"]["data"] == "shapes" and meta["exported_from"] == tiny_run  # no local paths
    card = ModelCard.load(hub_folder / "README.md")
    data = card.data.to_dict()
    assert data["library_name"] == "image-studio" and data["license"] == "mit"
    assert data["task"] == "pix2pix" and data["kind"] == "image-to-image" and data["dataset"] == "shapes"
    assert {"image-studio", "pix2pix"} <= set(data["tags"]) and data["pipeline_tag"] == "image-to-image"
    assert "whole val split" in card.text and "| FID | 123.0000 |" in card.text
    assert "![samples](sample.png)" in card.text and "batch_size" in card.text
    source = drawing(tmp_path / "in.png")
    assert main(["translate", str(source), str(tmp_path / "run.png"), "--model", tiny_run]) == 0
    assert main(["translate", str(source), str(tmp_path / "hub.png"), "--model", str(hub_folder)]) == 0
    ran, hubbed = (np.asarray(Image.open(tmp_path / f"{n}.png")) for n in ("run", "hub"))
    assert np.array_equal(ran, hubbed)


def test_hub_export_never_writes_over_other_files_and_replaces_itself_only_when_asked(
    tiny_run, hub_folder, tmp_path, capsys
):
    other = tmp_path / "project"
    other.mkdir()
    (other / "README.md").write_text("mine")
    assert export_hub(tiny_run, other) == 1
    assert "holds other files" in capsys.readouterr().err and (other / "README.md").read_text() == "mine"
    assert export_hub(tiny_run, hub_folder) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert export_hub(tiny_run, hub_folder, "--overwrite") == 0
    assert not list(tmp_path.glob(".*partial"))
    checkpoints = RunStore().get(tiny_run).checkpoints_dir
    assert export_hub(tiny_run, checkpoints) == 1 and "checkpoints" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="without model.safetensors"):
        find_model(str(empty))


class FakeSnapshots:
    """`snapshot_download` answering from a local folder, recording how it was asked."""

    def __init__(self, folder: Path | None) -> None:
        self.folder, self.calls = folder, []

    def __call__(self, repo_id: str, **kwargs) -> str:
        self.calls.append((repo_id, kwargs))
        if self.folder is None:
            raise LocalEntryNotFoundError("not cached")
        return str(self.folder)


def test_hub_ids_load_through_the_hub_cache_online_and_offline(hub_folder, monkeypatch):
    fake = FakeSnapshots(hub_folder)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for name in ("someone/shoes", "hf://someone/shoes"):
        assert find_model(name) == hub_folder / "model.safetensors"
    repo, asked = fake.calls[0]
    assert repo == "someone/shoes" and not asked["local_files_only"]
    assert set(asked["allow_patterns"]) == {"model.safetensors", "config.json"}
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert load_model("someone/shoes", "image-to-image", device="cpu").meta["task"] == "pix2pix"
    assert fake.calls[-1][1]["local_files_only"]


def test_offline_without_the_model_in_the_cache_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(huggingface_hub, "snapshot_download", FakeSnapshots(None))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    source = drawing(tmp_path / "in.png")
    assert main(["translate", str(source), str(tmp_path / "o.png"), "--model", "someone/absent"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "someone/absent is not in the Hub cache" in err and "HF_HUB_OFFLINE" in err
    with pytest.raises(UserError, match="not a Hub model id"):
        find_model("hf://not a repo")


def test_a_downloaded_model_meets_the_same_checks_as_a_local_file(monkeypatch, tmp_path):
    crafted = tmp_path / "crafted"
    crafted.mkdir()
    save_weights(crafted / "model.safetensors", {"G": {}}, {"task": "pix2pix", "config": {"ngf": 10**9}})
    monkeypatch.setattr(huggingface_hub, "snapshot_download", FakeSnapshots(crafted))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(UserError, match="model.safetensors"):
        load_model("someone/crafted", "image-to-image", device="cpu")


class FakeApi:
    """`HfApi` that records the repo it creates and the folder it would upload."""

    uploads: list = []

    def __init__(self, token=None) -> None:
        self.token = token

    def create_repo(self, repo_id, **kwargs):
        return huggingface_hub.RepoUrl(f"https://huggingface.co/{repo_id}")

    def upload_folder(self, *, repo_id, folder_path, **kwargs):
        files = {p.name: p.read_bytes() for p in Path(folder_path).iterdir()}
        FakeApi.uploads.append((self.token, repo_id, files))


def test_push_uploads_the_hub_folder_with_the_logged_in_token(tiny_run, monkeypatch, capsys):
    FakeApi.uploads = []
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    assert main(["push", tiny_run, "me/tiny-shoes", "--license", "mit"]) == 0
    assert "https://huggingface.co/me/tiny-shoes" in capsys.readouterr().out
    token, repo, files = FakeApi.uploads[0]
    assert token == "hf_test" and repo == "me/tiny-shoes"
    assert {"model.safetensors", "config.json", "README.md", "sample.png"} == set(files)
    assert b"# tiny-shoes" in files["README.md"] and b"license: mit" in files["README.md"]


def test_push_without_a_token_says_how_to_log_in(tiny_run, monkeypatch, capsys):
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert main(["push", tiny_run, "me/tiny-shoes"]) == 1
    assert "hf auth login" in capsys.readouterr().err


def test_runs_page_publishes_with_a_token_and_says_how_to_log_in_without(tiny_run, monkeypatch):
    from support.app import open_page

    FakeApi.uploads = []
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    at = open_page("runs")
    assert any("hf auth login" in info.value for info in at.info)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: "hf_page")
    at.run()
    at.text_input(key=f"runs.{tiny_run}.repo").input("me/from-the-page").run()
    at.button(key=f"runs.{tiny_run}.publish").click().run()
    assert not at.exception and not at.error
    assert any("huggingface.co/me/from-the-page" in s.value for s in at.success)
    assert FakeApi.uploads[0][:2] == ("hf_page", "me/from-the-page")


def test_export_format_onnx_goes_to_the_onnx_exporter_under_the_export_rules(
    tiny_run, monkeypatch, tmp_path, capsys
):
    import engine.onnx_export

    asked = []

    def fake_export(model, out, home=None, direction=None, opset=17):
        asked.append((model, out, direction, opset))
        Path(out).write_bytes(b"onnx")
        return Path(out)

    monkeypatch.setattr(engine.onnx_export, "export_onnx", fake_export)
    out = tmp_path / "g.onnx"
    assert (
        main(["export", tiny_run, str(out), "--format", "onnx", "--direction", "BtoA", "--opset", "18"]) == 0
    )
    assert asked == [(tiny_run, out, "BtoA", 18)] and "opset 18" in capsys.readouterr().out
    assert main(["export", tiny_run, str(out), "--format", "onnx"]) == 1  # exists: --overwrite
    assert "--overwrite" in capsys.readouterr().err and len(asked) == 1
    source = str(find_model(tiny_run))
    assert main(["export", source, source, "--format", "onnx", "--overwrite"]) == 1 and len(asked) == 1
