"""A real browser opens the Runs page of the Streamlit app and finds the loss charts."""

import pytest

from support.browser import chromium_page
from support.servers import start_streamlit, stop

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_runs_page_shows_plotly_loss_charts(tiny_run, studio_home, tmp_path):
    proc, url = start_streamlit(studio_home)
    try:
        with chromium_page() as page:
            page.goto(f"{url}/runs?run={tiny_run}", wait_until="domcontentloaded")
            charts = page.locator(".js-plotly-plot")
            charts.first.wait_for(state="visible", timeout=60_000)
            page.wait_for_timeout(500)
            assert charts.count() == 3  # G_GAN, G_L1 and D, each its own plot
            titles = [t or "" for t in page.locator(".js-plotly-plot .gtitle").all_text_contents()]
            assert any("L1" in t for t in titles), titles
            nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
            assert "Compare" in nav and "common" not in nav  # the app's navigation, not the folder's
            page.screenshot(path=str(tmp_path / "runs_page.png"), full_page=True)
    finally:
        stop(proc)
