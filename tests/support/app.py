"""Opening the Streamlit app's pages with AppTest."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    if page != "home":
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def recorded_launches(monkeypatch) -> list[tuple]:
    """Launches from the pages recorded as (task, settings, config) instead of started."""
    from types import SimpleNamespace

    from engine.training import launch

    started = []

    def fake_start(task, settings, config, home=None):
        started.append((task, settings, config))
        return SimpleNamespace(
            pid=1, log_path="log", run_id=None, started=0.0, process=None, exited=lambda: False
        )

    monkeypatch.setattr(launch, "start_training", fake_start)
    return started


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def parsed_by_the_child(monkeypatch, task: str, settings: dict, config: dict) -> dict:
    """The task config `python -m engine train` builds from the flags the launcher writes for
    these values (argparse exits on a flag the child does not have)."""
    from engine.cli import cmd_train
    from engine.tasks import get_task
    from engine.training.launch import config_flags
    from engine.training.loop import TrainSettings

    parsed = []
    monkeypatch.setattr("engine.training.loop.train", lambda task, s, given, home=None: parsed.append(given))
    cmd_train([task, *config_flags(TrainSettings, settings), *config_flags(get_task(task).Config, config)])
    return parsed[0]
