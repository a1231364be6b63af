"""Loss and metric figures (plotly), drawn the same way on every page: smoothed lines over
their raw values, lone points as markers on sensible axes, log axes ticked at plain numbers.

A helper module, not a page.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.colors import qualitative

from engine.store.curves import Series, ema, log_ticks, lone_step_range, lone_value_range, thin, tick_label


def loss_figure(
    title: str,
    lines: list[tuple[str, Series]],
    smoothing: float = 0.0,
    log_y: bool = False,
    markers: bool = False,
    colour_slots: list[int] | None = None,
) -> go.Figure:
    """One loss plot: each line smoothed (TensorBoard EMA) over its faint raw values. `markers`:
    sparse series (held-out metrics), drawn as points joined by lines and never smoothed.
    `colour_slots`: each line's palette index (default: its position)."""
    fig = go.Figure()
    palette = qualitative.Plotly
    for i, (label, series) in enumerate(lines):
        colour = palette[(colour_slots[i] if colour_slots else i) % len(palette)]
        steps, raw = thin(series.steps, series.values)
        if markers or len(steps) == 1:  # a single point drawn as a line would be invisible
            fig.add_scatter(x=steps, y=raw, mode="lines+markers", line={"color": colour}, name=label)
        elif smoothing > 0:
            fig.add_scatter(
                x=steps, y=raw, mode="lines", line={"color": colour, "width": 1}, opacity=0.25,
                name=f"{label} (raw)", showlegend=False, hoverinfo="skip",
            )  # fmt: skip
            _, smooth = thin(series.steps, ema(series.values, smoothing))
            fig.add_scatter(x=steps, y=smooth, mode="lines", line={"color": colour}, name=label)
        else:
            fig.add_scatter(x=steps, y=raw, mode="lines", line={"color": colour}, name=label)
    fig.update_layout(
        title=title,
        height=320,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis=step_axis([s for _, series in lines for s in series.steps]),
        yaxis=value_axis([v for _, series in lines for v in series.values], log_y),
        legend={"orientation": "h", "y": -0.25},
        showlegend=len(lines) > 1,
    )
    return fig


def step_axis(steps: list[int]) -> dict:
    """The step axis; one step only: centred on it, with that one tick (not 199.5, 200.5)."""
    axis: dict = {"title": {"text": "step"}}
    span = lone_step_range(steps)
    if span is not None:
        axis.update(range=span, tickvals=[steps[0]])
    return axis


def value_axis(values: list[float], log: bool = False) -> dict:
    """A value axis: one value only spans 0..2v (not v-1..v+1, below zero); a log axis is
    ticked at plain numbers (0.1, 0.2, 0.5, 1), not SI prefixes (100µ) or bare digits."""
    axis: dict = {"type": "log" if log else "linear"}
    span = lone_value_range(values, log)
    if span is not None:
        axis["range"] = span
    positive = [v for v in values if math.isfinite(v) and v > 0]
    if log and positive:
        low, high = (10 ** span[0], 10 ** span[1]) if span else (min(positive), max(positive))
        ticks = log_ticks(low, high)
        if ticks:
            axis.update(tickvals=ticks, ticktext=[tick_label(t) for t in ticks])
        else:  # less than a factor of two: plotly ticks it linearly; plain numbers
            axis["tickformat"] = ".3~g"
    return axis
