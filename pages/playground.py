"""Playground: the Gradio demos (sketch to shoe, ...) embedded, served by `python -m studio`.

The URL comes from STUDIO_GRADIO_URL (default http://127.0.0.1:7860). The page checks that
something answers there first, so a missing server gives a note rather than a blank frame.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request

import streamlit as st

DEFAULT_URL = "http://127.0.0.1:7860"


def gradio_url() -> str:
    return os.environ.get("STUDIO_GRADIO_URL", "").strip() or DEFAULT_URL


def reachable(url: str, timeout: float = 1.5) -> bool:
    """True when a web server answers at `url` (any HTTP status counts as an answer)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main() -> None:
    st.title("Playground")
    url = gradio_url()
    st.link_button("Open the demos in a new tab", url, icon=":material/open_in_new:")
    if not reachable(url):
        st.warning(
            f"No Gradio demo answers at {url}. Start the studio with `python -m studio` "
            "(or set STUDIO_GRADIO_URL to where it runs), then reload this page."
        )
        return
    height = st.slider("frame height", 400, 1600, 900, 50, key="playground.height")
    st.iframe(url, height=height)


main()
