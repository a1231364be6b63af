"""Headless Debian chromium (studio.headless), or a skip that says why not."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from studio.headless import chromium_page as open_chromium_page
from studio.headless import chromium_path


@contextmanager
def chromium_page(width: int = 1400, height: int = 1000) -> Iterator:
    if chromium_path() is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does it)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with open_chromium_page(width, height) as page:
        yield page


@contextmanager
def demo_page(demo) -> Iterator:
    """A Gradio demo served on localhost and a chromium page opened on it; both closed after."""
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        with chromium_page() as page:
            page.goto(demo.local_url, wait_until="networkidle")
            yield page
    finally:
        demo.close()
