"""Pure plotting functions: parameters in, a matplotlib ``Figure`` out.

Nothing here knows about widgets (``nnbook.widgets`` wires these to sliders) and nothing here
keeps global state: each call builds a fresh ``matplotlib.figure.Figure`` without touching
``pyplot``, so a function can be called thousands of times (to pre-render the frames of an
interactive figure) without leaking memory or windows.
"""

import math
from typing import Callable, NamedTuple

import numpy as np
import torch
from matplotlib.figure import Figure

__all__ = ["ACTIVATIONS", "Redraw", "neuron_output_map", "network_diagram"]

# name -> (function on a tensor, colour range shown on the colour bar)
ACTIVATIONS = {
    "sigmoid": (torch.sigmoid, (0.0, 1.0)),
    "tanh": (torch.tanh, (-1.0, 1.0)),
    "relu": (torch.relu, (0.0, 10.0)),
    "identity": (lambda z: z, (-10.0, 10.0)),
}


def _activation(name):
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from None


def _linear_formula(w1, w2, b):
    """Readable ``w1·x₁ + w2·x₂ + b`` with true minus signs, e.g. ``1.5·x₁ − 3·x₂ + 0``."""
    def sign(value):
        return "−" if value < 0 else "+"
    first = f"{w1:g}".replace("-", "−")
    return f"{first}·x₁ {sign(w2)} {abs(w2):g}·x₂ {sign(b)} {abs(b):g}"


class Redraw(NamedTuple):
    """How a plotting function draws its figure once and then moves it to other values in place.

    ``build(**shape) -> state`` makes everything that depends only on the arguments named in
    ``shape`` (axes, colour bar, tick labels); ``update(state, **values) -> Figure`` sets the
    rest (data, lines, title) and returns the figure. The plotting function itself is
    ``update(build(**shape), **values)``, so a figure moved from any earlier values draws
    exactly what a fresh call draws (``tests/test_widgets.py`` compares the pixels). Frames of
    an interactive figure are rendered this way: building the axes and laying out their text is
    most of the cost of a fresh figure.
    """

    shape: tuple
    build: Callable
    update: Callable
    # moving(state) -> the artists the last update drew, optional. When given, everything else
    # must be drawn before them and never overlap them after them (in Agg's order: by figure
    # axes, then zorder), so that a picture of everything else can be drawn once and only these
    # drawn over it for each frame.
    moving: Callable = None


def _neuron_map_build(activation, extent, resolution, figsize, dpi):
    fn, (vmin, vmax) = _activation(activation)
    if not (extent > 0 and math.isfinite(extent)):
        raise ValueError(f"extent must be a positive number, got {extent}")
    if int(resolution) < 2:
        raise ValueError(f"resolution must be at least 2, got {resolution}")
    axis = torch.linspace(-extent, extent, int(resolution), dtype=torch.float64)
    x2, x1 = torch.meshgrid(axis, axis, indexing="ij")  # rows follow x2, columns follow x1

    # Fixed axes positions instead of a layout engine: frames of an interactive figure all line
    # up, and rendering is about twice as fast.
    fig = Figure(figsize=figsize, dpi=dpi)
    ax = fig.add_axes((0.12, 0.12, 0.62, 0.78))
    colorbar_ax = fig.add_axes((0.80, 0.12, 0.035, 0.78))
    image = ax.imshow(np.zeros((int(resolution),) * 2), origin="lower",
                      extent=(-extent, extent, -extent, extent),
                      cmap="RdBu_r", vmin=vmin, vmax=vmax, interpolation="bilinear", zorder=1)
    # Frame and ticks first, then what moves (image, boundary, arrow, legend, title) on top: the
    # frames of an interactive figure then redraw only what moves (Redraw.moving).
    ax.set_axisbelow(True)
    for spine in ax.spines.values():
        spine.set_zorder(0.5)
    fig.colorbar(image, cax=colorbar_ax, label=f"output a = {activation}(z)",
                 extend={"relu": "max", "identity": "both"}.get(activation, "neither"))
    ax.set(xlabel="x₁", ylabel="x₂")
    return dict(fig=fig, ax=ax, image=image, fn=fn, x1=x1, x2=x2, extent=extent,
                activation=activation, moving=[])


def _neuron_map_moving(state):
    return [state["image"], *state["moving"], state["ax"].title]


def _neuron_map_update(state, w1=1.0, w2=1.0, b=0.0):
    fig, ax, extent, activation = state["fig"], state["ax"], state["extent"], state["activation"]
    w1, w2, b = float(w1), float(w2), float(b)
    state["image"].set_data(state["fn"](w1 * state["x1"] + w2 * state["x2"] + b).numpy())
    # Take away what the previous values drew; what is added below is then all there is.
    for artist in state["moving"]:
        artist.remove()
    state["moving"] = []

    norm = math.hypot(w1, w2)
    if norm > 0:
        # Closest point of the line z = 0 to the origin, then the line through it.
        foot = np.array([w1, w2]) * (-b / norm**2)
        along = np.array([-w2, w1]) / norm
        ends = np.stack([foot - 3 * extent * along, foot + 3 * extent * along])
        (line,) = ax.plot(ends[:, 0], ends[:, 1], "k--", lw=1.5, label="boundary z = 0")
        arrow = np.array([w1, w2]) / norm * min(1.0, extent / 3)
        head = ax.annotate("", xy=foot + arrow, xytext=foot,
                           arrowprops=dict(arrowstyle="-|>", color="k", lw=1.5))
        legend = ax.legend(loc="upper left", fontsize="small", framealpha=0.8)
        state["moving"] = [line, head, legend]
        title = "z = " + _linear_formula(w1, w2, b)
    else:
        title = f"w = 0: the output is {activation}({b:g}) everywhere"
    ax.set(xlim=(-extent, extent), ylim=(-extent, extent), aspect="equal")
    # A fixed height (y=1) rather than matplotlib's automatic one, which depends on the text and
    # would move a title drawn over the unmoving rest of the figure (Redraw.moving).
    ax.set_title(title, fontsize="medium", y=1.0)
    return fig


def neuron_output_map(w1=1.0, w2=1.0, b=0.0, activation="sigmoid", *, extent=3.0, resolution=101,
                      figsize=(5.0, 4.0), dpi=80):
    """Draw what one neuron with two inputs computes over the plane.

    The neuron is :math:`a = f(z)` with :math:`z = w_1 x_1 + w_2 x_2 + b`. The colour at
    :math:`(x_1, x_2)` is :math:`a`; the dashed line is the *decision boundary* :math:`z = 0`
    (where a sigmoid neuron outputs 0.5), and the arrow is the weight vector
    :math:`(w_1, w_2)`, which is always perpendicular to that line and points towards larger
    outputs. With :math:`w_1 = w_2 = 0` there is no boundary: the output is :math:`f(b)`
    everywhere.

    ``neuron_output_map.redraw`` (a :class:`Redraw`) moves an existing figure to new weights
    and bias in place, for the frames of an interactive figure.
    """
    state = _neuron_map_build(activation, extent, resolution, figsize, dpi)
    return _neuron_map_update(state, w1, w2, b)


neuron_output_map.redraw = Redraw(shape=("activation", "extent", "resolution", "figsize", "dpi"),
                                  build=_neuron_map_build, update=_neuron_map_update,
                                  moving=_neuron_map_moving)


def network_diagram(layer_sizes, *, max_drawn=8, figsize=(6.0, 3.4), dpi=100):
    """Draw a fully connected network: one column of circles per layer, a line per weight.

    ``layer_sizes`` lists the widths from input to output, e.g. ``[3, 4, 4, 2]``. A layer wider
    than ``max_drawn`` is drawn with ``max_drawn`` circles and a "⋮" gap, and labelled with its true
    width. Each column is labelled input / hidden / output, and each gap between columns with its
    number of parameters, ``n_in · n_out + n_out`` (weights plus biases).
    """
    sizes = [int(n) for n in layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"need at least two layers of width >= 1, got {list(layer_sizes)}")
    if max_drawn < 3:
        raise ValueError(f"max_drawn must be at least 3, got {max_drawn}")

    def rows(n):
        # Vertical positions of the circles drawn for a layer of width n, centred on 0. A wide
        # layer gets max_drawn - 1 slots with the middle one left empty for the "⋮".
        shown = n if n <= max_drawn else max_drawn - 1
        ys = np.arange(shown)[::-1] - (shown - 1) / 2
        return ys if n <= max_drawn else np.delete(ys, shown // 2)

    fig = Figure(figsize=figsize, dpi=dpi)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.96))
    columns = [rows(n) for n in sizes]
    for i in range(len(sizes) - 1):
        for y0 in columns[i]:
            for y1 in columns[i + 1]:
                ax.plot([i, i + 1], [y0, y1], color="0.7", lw=0.6, zorder=1)
        params = sizes[i] * sizes[i + 1] + sizes[i + 1]
        ax.text(i + 0.5, -max_drawn / 2 - 0.9, f"{params:,}\nparams", ha="center", va="top",
                fontsize="medium")
    for i, (n, ys) in enumerate(zip(sizes, columns)):
        kind = "input" if i == 0 else "output" if i == len(sizes) - 1 else "hidden"
        colour = {"input": "#9ecae1", "hidden": "#fdae6b", "output": "#a1d99b"}[kind]
        ax.scatter(np.full(len(ys), i), ys, s=200, color=colour, edgecolor="k", zorder=2)
        if n > max_drawn:
            ax.text(i, 0, "⋮", ha="center", va="center", fontsize="large", zorder=3)
        ax.text(i, max_drawn / 2 + 0.5, f"{kind}\n{n:,}", ha="center", va="bottom", fontsize="medium")
    ax.set(xlim=(-0.5, len(sizes) - 0.5), ylim=(-max_drawn / 2 - 2.2, max_drawn / 2 + 1.6))
    ax.axis("off")
    return fig
