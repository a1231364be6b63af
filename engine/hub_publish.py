"""Publishing to the Hugging Face Hub: `write_hub_folder` writes a model's hub folder locally
(`export --format hub`) and `push` uploads the same folder (`create_repo` + `upload_folder`).
Reading hub folders and Hub ids is engine.hub's, which the loader uses; this side uses the loader."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from engine.errors import UserError
from engine.hub import FOLDER_FILES, LOGIN_HINT, check_repo_id, first_line, hub_token, offline_mode
from engine.model_card import CONFIG, LIBRARY, SAMPLE, WEIGHTS, card_facts, config_json, model_card


def is_our_folder(folder: Path) -> bool:
    """A folder `export --format hub` wrote (so --overwrite may replace it)."""
    try:
        described = json.loads((folder / CONFIG).read_text())
    except (OSError, ValueError):
        return False
    names = {p.name for p in folder.iterdir()}
    return isinstance(described, dict) and described.get("library_name") == LIBRARY and names <= FOLDER_FILES


def check_hub_target(out: Path, source: Path, home: str | None, overwrite: bool) -> None:
    """Never over the model's own file or a run's checkpoints, never into a folder holding other
    files (a README.md there would be lost); an earlier export only with --overwrite."""
    from engine.inference.loader import refuse_export_target
    from engine.outputs import refuse_overwriting_inputs

    refuse_overwriting_inputs(out, [source], folder=True)
    refuse_export_target(out / WEIGHTS, source, home, overwrite=True)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; a hub export writes a folder: choose a folder name")
    if out.is_dir() and any(out.iterdir()):
        if not is_our_folder(out):
            raise UserError(
                f"refusing to write into {out}: it holds other files; choose a new or empty folder"
            )
        if not overwrite:
            raise UserError(
                f"{out} holds an earlier export; choose a new folder, or give --overwrite to replace it"
            )


def write_hub_folder(
    model: str,
    out: str | Path,
    half: bool = True,
    home: str | None = None,
    best: bool = False,
    overwrite: bool = False,
    licence: str = "other",
    repo_id: str | None = None,
) -> Path:
    """The folder `push` uploads: weights, config.json, model card, sample grid. Written beside
    `out` under a temporary name and renamed, so an interrupted export leaves no half folder."""
    from engine.inference.loader import export_model, find_model
    from engine.store.checkpoints import read_weights, save_weights
    from engine.store.models import best_checkpoint
    from engine.store.runs import RunStore
    from engine.tasks import get_task

    out = Path(out)
    source = best_checkpoint(model, home) if best else find_model(model, home)
    check_hub_target(out, source, home, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        export_model(model, tmp / WEIGHTS, half, home, best)
        nets, meta = read_weights(tmp / WEIGHTS)
        meta = without_local_paths(meta)
        save_weights(tmp / WEIGHTS, nets, meta)
        facts = card_facts(meta, get_task(meta["task"]).kind, model, home)
        samples = RunStore(home).samples(facts.run.id) if facts.run else []
        if samples:
            shutil.copyfile(samples[-1][1], tmp / SAMPLE)
        (tmp / CONFIG).write_text(json.dumps(config_json(facts), indent=2) + "\n")
        name = repo_id or f"{LIBRARY}/{out.name}"
        model_card(facts, name, licence, bool(samples)).save(tmp / "README.md")
        if out.exists():
            shutil.rmtree(out)  # empty, or an earlier export and --overwrite (check_hub_target)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def without_local_paths(meta: dict) -> dict:
    """The file's metadata with this machine's paths cut to their last part (the dataset folder's
    name stays): a published model should not show where its author keeps their files."""

    def name_only(value):
        return Path(value).name if isinstance(value, str) and ("/" in value or os.sep in value) else value

    settings = {k: name_only(v) for k, v in (meta.get("settings") or {}).items()}
    config = {k: name_only(v) for k, v in (meta.get("config") or {}).items()}
    return {
        **meta,
        "settings": settings,
        "config": config,
        "exported_from": name_only(meta.get("exported_from")),
    }


def push(
    model: str,
    repo_id: str,
    token: str | None = None,
    private: bool = False,
    half: bool = True,
    home: str | None = None,
    best: bool = False,
    licence: str = "other",
) -> str:
    """Publish a run or model to the Hub as `write_hub_folder` lays it out; -> the repo's URL.
    The token: given, else HF_TOKEN or the one `hf auth login` stored."""
    import tempfile

    from huggingface_hub import HfApi

    check_repo_id(repo_id)
    if offline_mode():
        raise UserError("HF_HUB_OFFLINE is set: publishing needs the network; unset it to push")
    token = token or hub_token()
    if not token:
        raise UserError(LOGIN_HINT)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_hub_folder(model, Path(tmp) / "hub", half, home, best, False, licence, repo_id)
        api = HfApi(token=token)
        try:
            url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
            api.upload_folder(
                repo_id=repo_id, folder_path=folder, commit_message=f"Publish {model} with {LIBRARY}"
            )
        except Exception as err:  # HTTP, auth and network errors of huggingface_hub/httpx: one line
            raise UserError(f"could not publish to {repo_id}: {first_line(err)}") from None
    return str(url)
