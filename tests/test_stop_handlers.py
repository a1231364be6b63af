"""The demos' Stop buttons and the stops that Run buttons send first: each returns exactly the
values its event has outputs for (Gradio warned "A function (stop) returned too many output
values" in the server log on every click)."""

from __future__ import annotations

import os
import warnings

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def build(name: str):
    if name == "prior":
        from studio.prior import build_prior_demo

        return build_prior_demo()
    from studio.style import build_style_demo

    return build_style_demo()


@pytest.mark.parametrize("name", ["prior", "style"])
def test_stop_handlers_return_what_their_outputs_take(name: str):
    demo = build(name)
    stops = [i for i, fn in demo.fns.items() if fn.name in ("stop", "restart", "stop_quietly")]
    assert len(stops) >= 2  # the Stop button and the Run button's first step
    for index in stops:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            demo(fn_index=index)
        assert not [w for w in caught if "too many output values" in str(w.message)], demo.fns[index].name
