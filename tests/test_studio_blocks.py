"""The studio's Gradio app: every demo rendered once, in its own tab."""

import os
from collections import Counter

from studio.blocks import build_studio

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def layout_ids(node: dict) -> list[int]:
    return [node["id"], *[i for child in node.get("children", []) for i in layout_ids(child)]]


def test_each_component_is_laid_out_once_and_there_is_one_live_canvas():
    config = build_studio().get_config_file()
    ids = layout_ids(config["layout"])
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    canvases = [c for c in config["components"] if c.get("props", {}).get("elem_id") == "live-canvas"]
    assert len(canvases) == 1 and canvases[0]["id"] in ids
    tabs = [c["props"].get("label") for c in config["components"] if c["type"] == "tabitem"]
    assert {"Sketch → shoe", "Style transfer", "Latent space"} <= set(tabs)
