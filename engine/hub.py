"""The Hugging Face Hub both ways, with `huggingface_hub`'s own calls.

A published model is a folder: `model.safetensors` (the inference networks, their config in the
file's metadata, no pickle), `config.json`, a generated model card (`README.md`) and, for a run
with sample grids, `sample.png` (written and pushed by engine.hub_publish). `hub_model_file`
turns such a folder, `user/name` or `hf://user/name` into the weights file; Hub models come through the Hub's
cache (`snapshot_download`), so with HF_HUB_OFFLINE=1 a cached model still loads. The file then
goes through the loader's usual checks like any local file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from engine.errors import UserError
from engine.model_card import CONFIG, LIBRARY, SAMPLE, WEIGHTS

HUB_PREFIX = "hf://"
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")
LOGIN_HINT = "no Hugging Face token: run `hf auth login` (or set HF_TOKEN), then publish again"
FOLDER_FILES = {WEIGHTS, CONFIG, "README.md", SAMPLE, ".gitattributes"}


def first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0].removeprefix("Got: ") if text else type(err).__name__


def offline_mode() -> bool:
    """HF_HUB_OFFLINE as set now (huggingface_hub reads it once, at import)."""
    from huggingface_hub import constants

    now = os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE")
    return now or bool(constants.HF_HUB_OFFLINE)


def hub_token() -> str | None:
    """The token `push` uses: HF_TOKEN, else the one `hf auth login` stored; None if neither."""
    from huggingface_hub import get_token

    return get_token()


def hub_model_file(model: str) -> Path | None:
    """A hub-layout folder, `user/name` or `hf://user/name` -> its weights file; None for
    what the run store and bundled names resolve (names, checkpoint files, run ids)."""
    from engine.store.models import BUNDLED

    if model in BUNDLED:
        return None
    path = Path(model)
    if not model.startswith(HUB_PREFIX) and path.is_dir():
        if not (path / WEIGHTS).is_file():
            raise UserError(
                f"{path} is a folder without {WEIGHTS}; write one with "
                f"`python -m engine export RUN {path} --format hub`"
            )
        return path / WEIGHTS
    repo_like = REPO_ID.match(model) and not path.exists() and path.suffix not in (".safetensors", ".pth")
    if model.startswith(HUB_PREFIX) or repo_like:
        return download(check_repo_id(model.removeprefix(HUB_PREFIX))) / WEIGHTS
    return None


def check_repo_id(repo_id: str) -> str:
    if not REPO_ID.match(repo_id):
        raise UserError(f"{repo_id!r} is not a Hub model id: write user/name (letters, digits, - _ .)")
    return repo_id


def download(repo_id: str) -> Path:
    """The model's folder in the Hub cache: downloaded (or refreshed) online, the cached copy
    offline; only the weights and config.json are fetched."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError

    offline = offline_mode()
    try:
        folder = Path(
            snapshot_download(
                repo_id, allow_patterns=[WEIGHTS, CONFIG], library_name=LIBRARY, local_files_only=offline
            )
        )
    except RepositoryNotFoundError:
        raise UserError(
            f"no model {repo_id} on the Hugging Face Hub (a private one needs `hf auth login`)"
        ) from None
    except LocalEntryNotFoundError as err:
        if offline:
            raise UserError(
                f"{repo_id} is not in the Hub cache ({constants.HF_HUB_CACHE}) and HF_HUB_OFFLINE=1 "
                "forbids downloading it: run once without HF_HUB_OFFLINE to fetch it"
            ) from None
        raise UserError(
            f"could not download {repo_id} and it is not in the Hub cache: {first_line(err)}"
        ) from None
    except Exception as err:  # network and HTTP errors of huggingface_hub/httpx: one line
        raise UserError(f"could not download {repo_id} from the Hub: {first_line(err)}") from None
    if not (folder / WEIGHTS).is_file():
        raise UserError(f"{repo_id} holds no {WEIGHTS}: not an {LIBRARY} model")
    return folder
