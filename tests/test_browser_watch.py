"""A real browser keeps the Runs page and Home open while the store changes under them (as a
trainer, the CLI or another tab would change it): what they show must follow without a reload.
AppTest reruns whole scripts, so only a browser sees what a live fragment leaves stale."""

import re

import pytest

from engine.store.runs import RunStore
from support.browser import chromium_page
from support.servers import start_streamlit, stop

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CONFIG = {"settings": {"data": "x", "eval_every": 2}, "task_config": {"mode": "l1"}, "loss_names": ["G_L1"]}


def watched_run(store: RunStore, name: str) -> str:
    """A running run with three steps and a checkpoint; no process owns it (nothing trains)."""
    run = store.create_run("pix2pix", {**CONFIG, "visual_names": []}, name=name, max_steps=100)
    store.log_metric_rows(run.id, [(s, "G_L1", 1.0 / s) for s in (1, 2, 3)])
    (run.checkpoints_dir).mkdir(parents=True)
    (run.checkpoints_dir / "step_00000003.safetensors").write_bytes(b"x")
    return run.id


def test_open_pages_follow_the_store_without_a_reload(studio_home):
    store = RunStore(studio_home)
    run_id = watched_run(store, "watched")
    proc, url = start_streamlit(studio_home)
    try:
        with chromium_page() as page:
            page.goto(f"{url}/runs?run={run_id}", wait_until="domcontentloaded")
            page.get_by_text("The first evaluation arrives").wait_for(timeout=90_000)
            store.log_metric_rows(run_id, [(3, "val_L1", 0.3)])  # evaluated after step 3's losses
            page.locator(".js-plotly-plot .gtitle", has_text="held-out L1").wait_for(timeout=30_000)

            resume = page.get_by_role("button", name=re.compile("Resume from step 3"))
            store.set_status(run_id, "stopped")  # the trainer stopped
            resume.wait_for(timeout=30_000)
            store.claim(run_id)  # resumed from the CLI: this test process "trains" it
            # the page's Stop (not the header's while a rerun runs; a rerun may show it twice a moment)
            page.get_by_test_id("stBaseButton-secondary").filter(
                has_text=re.compile(r"^Stop$")
            ).first.wait_for(timeout=30_000)
            store.set_status(run_id, "finished")
            resume.wait_for(timeout=30_000)
            # the bar follows on the page's next poll (a Resume button shows for "stopped" too)
            page.locator('[data-testid="stProgress"]', has_text=re.compile(r"^finished")).wait_for(
                timeout=30_000
            )

            other = watched_run(store, "other")
            page.goto(url, wait_until="domcontentloaded")
            running = page.locator('[data-testid="stMetric"]', has_text="running")
            running.get_by_text("1", exact=True).wait_for(timeout=90_000)
            store.set_status(other, "finished")
            running.get_by_text("0", exact=True).wait_for(timeout=30_000)
    finally:
        stop(proc)
