"""matplotlib backend of the sandbox (MPLBACKEND=module://openscope_sandbox_backend).

Agg drawing; `plt.show()` renders every open figure to PNG and closes it, as a notebook does.
The worker collects `rendered` after each cell (and renders figures left open)."""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg

FigureCanvas = FigureCanvasAgg

# PNGs rendered since the worker last collected them (this module lives in the sandboxed
# process only, one per container).
rendered: list[bytes] = []


def render_open_figures() -> None:
    """Render every open pyplot figure to PNG (into `rendered`) and close it."""
    import matplotlib.pyplot as plt

    for number in plt.get_fignums():
        figure = plt.figure(number)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        rendered.append(buffer.getvalue())
    plt.close("all")


def show(*args: object, **kwargs: object) -> None:
    render_open_figures()
