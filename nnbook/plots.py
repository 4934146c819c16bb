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

__all__ = ["ACTIVATIONS", "Redraw", "neuron_output_map", "network_diagram", "relu_network_boundary"]

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


def relu_network_boundary(hidden_weight, hidden_bias, output_weight, output_bias, *, points=None,
                          labels=None, title=None, extent=2.0, resolution=121, figsize=(4.8, 4.0),
                          dpi=80, colorbar_label="probability of class 1"):
    r"""Draw what a network with two inputs and one hidden ReLU layer learned.

    The network is :math:`s(\mathbf{x}) = \mathbf{v}^\top \operatorname{relu}(W\mathbf{x} + \mathbf{b}) + c`
    with ``hidden_weight`` :math:`W` of shape ``(H, 2)`` and ``hidden_bias`` of shape ``(H,)``. The
    score :math:`s` is the one logit when ``output_weight`` has shape ``(1, H)``, or the difference
    of the two logits, class 1 minus class 0, when it has shape ``(2, H)`` (as for
    ``nn.CrossEntropyLoss``). The colour is :math:`\sigma(s)`, the predicted probability of
    class 1, explained by a colour bar labelled ``colorbar_label``; the thick black line is the
    decision boundary :math:`s = 0`; each thin dark dashed line is one hidden unit's own boundary
    :math:`\mathbf{w}_i^\top\mathbf{x} + b_i = 0`, with a short arrow (drawn from the middle of the
    line's part in view, when part of it is in view) towards the side where the unit is on, and
    a label with the unit's index (row of ``hidden_weight``) and, when ``points`` are given, the
    share of them on which the unit is on.
    The decision boundary can bend only where it crosses a dashed line. ``points`` (shape
    ``(N, 2)``) and integer ``labels`` (0 or 1, drawn red for 1 and blue for 0) are drawn on top,
    outlined in black, when given.
    """
    W = torch.as_tensor(hidden_weight, dtype=torch.float64).detach().cpu()
    bias = torch.as_tensor(hidden_bias, dtype=torch.float64).detach().cpu()
    V = torch.as_tensor(output_weight, dtype=torch.float64).detach().cpu()
    c = torch.as_tensor(output_bias, dtype=torch.float64).detach().cpu()
    if W.ndim != 2 or W.shape[1] != 2 or W.shape[0] < 1:
        raise ValueError(f"hidden_weight must have shape (H, 2) with H >= 1, got {tuple(W.shape)}")
    n_hidden = W.shape[0]
    if bias.shape != (n_hidden,):
        raise ValueError(f"hidden_bias must have shape ({n_hidden},), got {tuple(bias.shape)}")
    if V.ndim != 2 or V.shape[0] not in (1, 2) or V.shape[1] != n_hidden:
        raise ValueError(f"output_weight must have shape (1, {n_hidden}) or (2, {n_hidden}), "
                         f"got {tuple(V.shape)}")
    if c.shape != (V.shape[0],):
        raise ValueError(f"output_bias must have shape ({V.shape[0]},), got {tuple(c.shape)}")
    if not (extent > 0 and math.isfinite(extent)):
        raise ValueError(f"extent must be a positive number, got {extent}")
    if int(resolution) < 2:
        raise ValueError(f"resolution must be at least 2, got {resolution}")
    if V.shape[0] == 2:  # two logits: only their difference decides the class
        V, c = V[1:] - V[:1], c[1:] - c[:1]

    axis = torch.linspace(-extent, extent, int(resolution), dtype=torch.float64)
    x2, x1 = torch.meshgrid(axis, axis, indexing="ij")  # rows follow x2, columns follow x1
    grid = torch.stack([x1.reshape(-1), x2.reshape(-1)], dim=1)
    score = (torch.relu(grid @ W.T + bias) @ V.T + c).reshape(x1.shape).numpy()

    fig = Figure(figsize=figsize, dpi=dpi)
    ax = fig.add_axes((0.12, 0.11, 0.7, 0.8))
    image = ax.imshow(1 / (1 + np.exp(-score)), origin="lower",
                      extent=(-extent, extent, -extent, extent), cmap="RdBu_r", vmin=0.0, vmax=1.0,
                      alpha=0.55, interpolation="bilinear")
    colorbar = fig.colorbar(image, cax=fig.add_axes((0.86, 0.11, 0.03, 0.8)))
    colorbar.set_label(colorbar_label)
    xy = None if points is None else torch.as_tensor(points, dtype=torch.float64).detach().cpu()
    placed = []  # where the unit labels went
    for unit, ((w1, w2), b) in enumerate(zip(W.tolist(), bias.tolist())):
        norm = math.hypot(w1, w2)
        if norm == 0:
            continue  # a unit with zero weights is constant: it has no line
        foot = np.array([w1, w2]) * (-b / norm**2)
        along = np.array([-w2, w1]) / norm
        ends = np.stack([foot - 3 * extent * along, foot + 3 * extent * along])
        ax.plot(ends[:, 0], ends[:, 1], color="0.15", lw=1.0, ls="--", label="hidden unit")
        # The part of the line inside the view: foot + t·along for t in [low, high].
        low, high = -np.inf, np.inf
        for f, a in zip(foot, along):
            if abs(a) < 1e-12:
                low, high = (low, high) if abs(f) < extent else (np.inf, -np.inf)
            else:
                t1, t2 = sorted(((-extent - f) / a, (extent - f) / a))
                low, high = max(low, t1), min(high, t2)
        if high - low > 1e-9 * extent:  # in view: an arrow towards the on side, and a label
            middle = foot + (low + high) / 2 * along
            normal = np.array([w1, w2]) / norm
            length = 0.3 * extent  # shortened, if need be, so that the head stays in view
            while np.abs(middle + normal * length).max() > extent and length > 0.02 * extent:
                length *= 0.8
            ax.annotate("", xy=middle + normal * length, xytext=middle,
                        arrowprops=dict(arrowstyle="-|>", color="0.15", lw=1.0))
            label = f"{unit}"
            if xy is not None:
                on = ((xy @ W[unit] + bias[unit]) > 0).double().mean().item()
                label += f": on {on:.0%}"
            # Near one end of the visible part, where the lines are further apart than at the
            # middle of the view, at the first place that does not cover an earlier label.
            def clearance(anchor):
                return min((max(abs(anchor[0] - x) / 0.55, abs(anchor[1] - y) / 0.15)
                            for x, y in placed), default=np.inf) / extent

            candidates = [np.clip(foot + (low + f * (high - low)) * along, -0.9 * extent, 0.9 * extent)
                          for f in (0.85, 0.15, 0.7, 0.3, 0.5)]
            anchor = next((a for a in candidates if clearance(a) >= 1),
                          max(candidates, key=clearance))
            placed.append(anchor)
            ax.text(*anchor, label, fontsize="x-small", ha="center",
                    va="center", color="0.1", label="unit label",
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
    if score.min() < 0 < score.max():
        ax.contour(x1.numpy(), x2.numpy(), score, levels=[0.0], colors="k", linewidths=2.5)
    if points is not None:
        xy = xy.numpy()
        colour = "k" if labels is None else np.where(torch.as_tensor(labels).cpu().numpy() == 1,
                                                     "#b2182b", "#2166ac")
        ax.scatter(xy[:, 0], xy[:, 1], s=12, c=colour, edgecolors="k", linewidths=0.5)
    ax.set(xlim=(-extent, extent), ylim=(-extent, extent), xlabel="x₁", ylabel="x₂", aspect="equal",
           title=title if title is not None else f"{n_hidden} hidden units")
    ax.title.set_fontsize("medium")
    return fig


# --- Shared: training curves (nnbook.train) ---

__all__ += ["training_curves"]


def training_curves(history, *, title=None, figsize=(8.0, 3.0), dpi=80):
    """Loss (left) and accuracy (right) per epoch from a :class:`nnbook.train.History`.

    Training numbers are drawn solid, validation numbers dashed; the accuracy panel says so when
    the history has no accuracy (a regression). With early stopping, a dotted line marks the
    epoch whose state was kept (``history.best_epoch``).
    """
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    epochs = list(range(1, len(history.train_loss) + 1))

    def draw(ax, train, val, label):
        if train:
            ax.plot(epochs[:len(train)], train, color="#2166ac", label=f"training {label}")
        if val:
            ax.plot(list(range(1, len(val) + 1)), val, color="#b2182b", linestyle="--",
                    label=f"validation {label}")
        if history.best_epoch is not None:
            ax.axvline(history.best_epoch, color="0.4", linestyle=":", label="kept epoch")
        ax.set(xlabel="epoch", ylabel=label)
        if ax.has_data():
            ax.legend(fontsize="small")

    draw(loss_ax, history.train_loss, history.val_loss, "loss")
    finite = [a for a in history.train_accuracy + history.val_accuracy if not math.isnan(a)]
    if finite:
        draw(acc_ax, [a for a in history.train_accuracy if not math.isnan(a)],
             [a for a in history.val_accuracy if not math.isnan(a)], "accuracy")
    else:
        acc_ax.set_axis_off()
        acc_ax.text(0.5, 0.5, "no accuracy recorded", ha="center", va="center",
                    transform=acc_ax.transAxes, color="0.4")
    if not epochs:
        loss_ax.text(0.5, 0.5, "no epoch trained yet", ha="center", va="center",
                     transform=loss_ax.transAxes, color="0.4")
    if title is not None:
        fig.suptitle(title, fontsize="medium")
    return fig


# --- Chapter 2: activation functions ---

__all__ += ["EXPLORER_ACTIVATIONS", "activation_explorer", "gradient_norms_by_layer",
            "softmax_temperature"]


def _leaky(z, slope):
    from nnbook import functional as nf
    return nf.leaky_relu(z, slope), nf.leaky_relu_grad(z, slope)


def _by_autograd(fn):
    # The derivative of an activation PyTorch gives us, by autograd (element by element, since
    # each output depends on its own input only).
    def value_and_slope(z, slope):
        z = z.detach().clone().requires_grad_(True)
        out = fn(z)
        (grad,) = torch.autograd.grad(out.sum(), z)
        return out.detach(), grad
    return value_and_slope


def _hand_derived(name):
    def value_and_slope(z, slope):
        from nnbook import functional as nf
        return getattr(nf, name)(z), getattr(nf, f"{name}_grad")(z)
    return value_and_slope


# name -> (label, function (z, negative_slope) -> (value, derivative)). The first four use the
# hand-derived derivatives of nnbook.functional, the wider family PyTorch's own functions.
EXPLORER_ACTIVATIONS = {
    "sigmoid": ("sigmoid σ(z)", _hand_derived("sigmoid")),
    "tanh": ("tanh(z)", _hand_derived("tanh")),
    "relu": ("ReLU max(0, z)", _hand_derived("relu")),
    "leaky_relu": ("leaky ReLU", _leaky),
    "elu": ("ELU", _by_autograd(torch.nn.functional.elu)),
    "gelu": ("GELU", _by_autograd(torch.nn.functional.gelu)),
    "silu": ("SiLU (swish)", _by_autograd(torch.nn.functional.silu)),
}


def _explorer_build(extent, figsize, dpi):
    if not (extent > 0 and math.isfinite(extent)):
        raise ValueError(f"extent must be a positive number, got {extent}")
    fig = Figure(figsize=figsize, dpi=dpi)
    value_ax = fig.add_axes((0.08, 0.17, 0.38, 0.68))
    slope_ax = fig.add_axes((0.58, 0.17, 0.38, 0.68))
    z = torch.linspace(-extent, extent, 401, dtype=torch.float64)
    lines = {}
    for ax, key, title, ylim in ((value_ax, "value", "f(z)", (-1.5, extent)),
                                 (slope_ax, "slope", "its derivative f′(z)", (-0.3, 1.3))):
        ax.axhline(0, color="0.6", lw=0.8)
        ax.axvline(0, color="0.6", lw=0.8)
        # The leaky ReLU of the chosen slope, faint, for comparison (hidden when it is the curve).
        (lines[key + " reference"],) = ax.plot(z.numpy(), np.zeros(len(z)), lw=1, ls="--",
                                               color="0.55", label="leaky ReLU reference")
        (lines[key],) = ax.plot(z.numpy(), np.zeros(len(z)), lw=2, color="C0" if key == "value" else "C1",
                                label="activation")
        ax.set(xlim=(-extent, extent), ylim=ylim, xlabel="z")
        ax.set_title(title, fontsize="medium")
        ax.grid(alpha=0.3)
    note = slope_ax.text(0.03, 0.95, "", transform=slope_ax.transAxes, va="top", fontsize="small")
    return dict(fig=fig, z=z, lines=lines, value_ax=value_ax, note=note)


def _explorer_update(state, activation="relu", negative_slope=0.01):
    try:
        label, value_and_slope = EXPLORER_ACTIVATIONS[activation]
    except KeyError:
        raise ValueError(f"unknown activation {activation!r}; choose one of "
                         f"{sorted(EXPLORER_ACTIVATIONS)}") from None
    value, slope = value_and_slope(state["z"], float(negative_slope))
    state["lines"]["value"].set_ydata(value.numpy())
    state["lines"]["slope"].set_ydata(slope.numpy())
    leaky_value, leaky_slope = _leaky(state["z"], float(negative_slope))
    for key, data in (("value", leaky_value), ("slope", leaky_slope)):
        state["lines"][key + " reference"].set_ydata(data.numpy())
        state["lines"][key + " reference"].set_visible(activation != "leaky_relu")
    if activation == "leaky_relu":
        label += f", slope {negative_slope:g} for z < 0"
    else:
        label += f" (dashed: leaky ReLU, α = {negative_slope:g})"
    state["value_ax"].set_title(label, fontsize="medium")
    state["note"].set_text(f"largest slope: {slope.max().item():.3g}")
    return state["fig"]


def activation_explorer(activation="relu", negative_slope=0.01, *, extent=5.0, figsize=(7.5, 2.8),
                        dpi=80):
    r"""An activation :math:`f(z)` (left) and its derivative :math:`f'(z)` (right), for
    :math:`z \in [-\text{extent}, \text{extent}]`.

    ``activation`` is a key of :data:`EXPLORER_ACTIVATIONS`: sigmoid, tanh, relu and leaky_relu
    (drawn with the hand-derived derivatives of :mod:`nnbook.functional`; ``negative_slope`` is
    the leaky ReLU's :math:`\alpha` and is ignored by the others), and elu, gelu and silu (PyTorch's
    functions, derivatives by autograd). For the other activations a faint dashed leaky ReLU of slope
    ``negative_slope`` is drawn in both panels for comparison. The derivative panel prints the
    largest slope of the chosen activation on the grid:
    0.25 for the sigmoid, 1 for tanh and ReLU. At the kink :math:`z = 0` the ReLU's derivative is
    drawn with PyTorch's convention (0).
    """
    state = _explorer_build(extent, figsize, dpi)
    return _explorer_update(state, activation, negative_slope)


activation_explorer.redraw = Redraw(shape=("extent", "figsize", "dpi"), build=_explorer_build,
                                    update=_explorer_update)


def _norms_build(norms, figsize, dpi):
    if not norms:
        raise ValueError("norms must map each activation to {depth: gradient norms per layer}")
    everything = torch.cat([torch.as_tensor(v, dtype=torch.float64).reshape(-1)
                            for by_depth in norms.values() for v in by_depth.values()])
    if not (everything > 0).all():
        raise ValueError("gradient norms must be positive to be drawn on a log scale")
    most_layers = max(len(v) for by_depth in norms.values() for v in by_depth.values())
    fig = Figure(figsize=figsize, dpi=dpi)
    ax = fig.add_axes((0.12, 0.15, 0.84, 0.74))
    low, high = everything.min().item(), everything.max().item()
    ax.set(yscale="log", xlim=(0.5, most_layers + 0.5), ylim=(low / 10, high * 10),
           xlabel="layer (1 = first hidden layer, last = output layer)", ylabel="‖∂L/∂W‖")
    ax.grid(alpha=0.3, which="major")
    lines = {}
    for k, name in enumerate(norms):
        (lines[name],) = ax.plot([], [], "o-", ms=3, lw=1.5, color=f"C{k}", label=name)
    ax.legend(loc="lower right", fontsize="small")
    return dict(fig=fig, ax=ax, lines=lines, norms=norms)


def _norms_update(state, depth):
    shrink = []
    for name, line in state["lines"].items():
        try:
            values = torch.as_tensor(state["norms"][name][depth], dtype=torch.float64)
        except KeyError:
            raise ValueError(f"no gradient norms for depth {depth} of {name}") from None
        line.set_data(np.arange(1, len(values) + 1), values.numpy())
        shrink.append(f"{name} {values[0] / values[-1]:.0e}")
    state["ax"].set_title(f"{depth} hidden layers; first ÷ last: " + ", ".join(shrink),
                          fontsize="medium", y=1.0)
    return state["fig"]


def gradient_norms_by_layer(norms, depth, *, figsize=(6.4, 3.4), dpi=80):
    r"""The gradient norm :math:`\lVert \partial L / \partial W_l \rVert` reaching each layer
    :math:`l` of a network with ``depth`` hidden layers, one line per activation, on a log scale.

    ``norms[activation][depth]`` holds the norms, first layer first (as
    :func:`nnbook.probes.layer_gradient_norms` returns them); they are computed beforehand, so
    this function only draws. The axes are fixed by all the norms given, so moving the depth
    keeps the scale. The title gives, per activation, the first layer's norm divided by the last's.
    """
    return _norms_update(_norms_build(norms, figsize, dpi), depth)


gradient_norms_by_layer.redraw = Redraw(shape=("norms", "figsize", "dpi"), build=_norms_build,
                                        update=_norms_update)


def _temperature_build(logits, figsize, dpi):
    logits = torch.as_tensor(logits, dtype=torch.float64).detach().cpu()
    if logits.dim() != 1 or len(logits) < 2:
        raise ValueError(f"logits must be a vector of at least 2 numbers, got shape {tuple(logits.shape)}")
    fig = Figure(figsize=figsize, dpi=dpi)
    ax = fig.add_axes((0.11, 0.2, 0.85, 0.68))
    classes = np.arange(len(logits))
    bars = ax.bar(classes, np.zeros(len(logits)), color="C0")
    ax.axhline(1 / len(logits), color="0.5", ls="--", lw=1, label=f"uniform, 1/{len(logits)}")
    ax.set(ylim=(0, 1.05), ylabel="probability", xticks=classes,
           xticklabels=[f"class {k}\nz = {v:g}" for k, v in enumerate(logits.tolist())])
    ax.legend(loc="upper right", fontsize="small")
    texts = [ax.text(k, 0, "", ha="center", va="bottom", fontsize="small") for k in classes]
    return dict(fig=fig, ax=ax, bars=bars, texts=texts, logits=logits)


def _temperature_update(state, temperature=1.0):
    temperature = float(temperature)
    if not (temperature > 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be a positive number, got {temperature}")
    from nnbook import functional as nf
    probs = nf.softmax(state["logits"] / temperature, dim=0)
    for bar, text, p in zip(state["bars"], state["texts"], probs.tolist()):
        bar.set_height(p)
        text.set_position((text.get_position()[0], p + 0.01))
        text.set_text(f"{p:.2f}")
    state["ax"].set_title(f"softmax(z / T) at temperature T = {temperature:g}", fontsize="medium",
                          y=1.0)
    return state["fig"]


def softmax_temperature(logits, temperature=1.0, *, figsize=(5.6, 3.0), dpi=80):
    r"""Bars of :math:`\operatorname{softmax}(\mathbf{z} / T)_k = e^{z_k / T} / \sum_j e^{z_j / T}`
    for the logits :math:`\mathbf{z}` at temperature :math:`T > 0`, with the uniform
    distribution :math:`1/C` dashed. Small :math:`T` sharpens the distribution towards the largest
    logit, large :math:`T` flattens it towards uniform; the order of the bars never changes.
    """
    return _temperature_update(_temperature_build(logits, figsize, dpi), temperature)


softmax_temperature.redraw = Redraw(shape=("logits", "figsize", "dpi"), build=_temperature_build,
                                    update=_temperature_update)


# --- Chapter 3: parameter initialization ---
__all__ += ["layer_histograms", "std_by_layer"]

from matplotlib.ticker import MaxNLocator  # noqa: E402  (kept inside this chapter's block)


def _shown_layers(depth, count=3):
    """``count`` layers spread evenly from the first to the last, e.g. 1, 16, 30 of 30."""
    return sorted({int(round(x)) for x in np.linspace(1, depth, count)})


def _histograms_build(figsize, dpi):
    fig = Figure(figsize=figsize, dpi=dpi)
    # Three panels a row (six in all): fewer panels, less text, a faster frame.
    axes = [[fig.add_axes((0.08 + 0.31 * col, 0.58 - 0.46 * row, 0.26, 0.29)) for col in range(3)]
            for row in range(2)]
    stairs = [[ax.stairs(np.zeros(1), np.array([0.0, 1.0]), fill=True,
                         color="#4c72b0" if row == 0 else "#dd8452")
               for ax in axes_row] for row, axes_row in enumerate(axes)]
    for row, label in enumerate(["activations h", "gradients ∂loss/∂h"]):
        axes[row][0].set_ylabel(label, fontsize="small")
        for ax in axes[row]:
            # Few ticks: text is most of the cost of drawing a frame.
            # The shape of a histogram matters, not the height of its bars: no y ticks.
            ax.xaxis.set_major_locator(MaxNLocator(3))
            ax.set_yticks([])
            ax.tick_params(labelsize="x-small")
            ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
    return dict(fig=fig, axes=axes, stairs=stairs)


def _histograms_update(state, initializer, activation, depth, statistics):
    fig = state["fig"]
    stats = statistics[initializer, activation, depth]
    layers = _shown_layers(depth)
    for row, (values, stds) in enumerate([(stats["activations"], stats["activation_std"]),
                                          (stats["gradients"], stats["gradient_std"])]):
        for col, ax in enumerate(state["axes"][row]):
            if col >= len(layers):  # a network of fewer than 3 layers leaves panels empty
                state["stairs"][row][col].set_data(np.zeros(1), np.array([0.0, 1.0]))
                ax.set_visible(False)
                ax.set_title("")
                continue
            ax.set_visible(True)
            layer = layers[col]
            sample = values[layer - 1].numpy()
            low, high = float(sample.min()), float(sample.max())
            if not high > low:  # every entry equal: a narrow bar around it
                spread = abs(low) * 1e-3 or 1e-3
                low, high = low - spread, high + spread
            counts, edges = np.histogram(sample, bins=40, range=(low, high))
            share = counts / max(len(sample), 1)
            state["stairs"][row][col].set_data(share, edges)
            ax.set_xlim(low, high)
            ax.set_ylim(0, 1.05 * share.max())
            ax.set_title(f"layer {layer}: std {float(stds[layer - 1]):.2g}", fontsize="small")
    fig.suptitle(f"{initializer} weights, {activation}, {depth} layers", fontsize="medium", y=0.98)
    return fig


def layer_histograms(initializer, activation, depth, *, statistics, figsize=(9.0, 4.2), dpi=72):
    r"""Histograms of the activations (top) and gradients (bottom) at three layers of a deep net.

    ``statistics[initializer, activation, depth]`` is what :func:`nnbook.depth.layer_statistics`
    returns for that probe network (the plot only draws; the numbers are computed there). The
    three panels of each row show layers 1, about depth/2 and depth (fewer when the net is
    shallower); each panel's title gives that layer's standard deviation, and its
    x-axis adapts to the values, so read the scale from the ticks and the title.

    ``layer_histograms.redraw`` (a :class:`Redraw`) moves a built figure to new values in place.
    """
    state = _histograms_build(figsize, dpi)
    return _histograms_update(state, initializer, activation, depth, statistics)


layer_histograms.redraw = Redraw(shape=("figsize", "dpi"), build=_histograms_build,
                                 update=_histograms_update)


def std_by_layer(statistics, *, activations, initializers, depth, figsize=(9.0, 5.0), dpi=72):
    r"""Standard deviation of the activations (top row) and gradients (bottom row) per layer.

    One column per activation, one line per initializer, on a log scale, from
    ``statistics[initializer, activation, depth]`` (see :func:`nnbook.depth.layer_statistics`).
    A flat line means the signal keeps its size through the layers; a line falling or rising
    straight on this log scale means it shrinks or grows by the same factor at every layer.
    """
    fig = Figure(figsize=figsize, dpi=dpi)
    axes = fig.subplots(2, len(activations), sharex=True, squeeze=False)
    layers = np.arange(1, depth + 1)
    for col, activation in enumerate(activations):
        for row, key in enumerate(["activation_std", "gradient_std"]):
            ax = axes[row][col]
            for initializer in initializers:
                std = statistics[initializer, activation, depth][key].numpy()
                # A std of exactly 0 (everything underflowed) cannot go on a log scale: drop it.
                ax.plot(layers, np.where(std > 0, std, np.nan), marker=".", ms=3, label=initializer)
            ax.set_yscale("log")
            ax.tick_params(labelsize="x-small")
            if row == 0:
                ax.set_title(activation, fontsize="medium")
            else:
                ax.set_xlabel("layer l", fontsize="small")
        axes[0][col].set_ylabel("std of activations" if col == 0 else "", fontsize="small")
        axes[1][col].set_ylabel("std of gradients" if col == 0 else "", fontsize="small")
    axes[0][0].legend(fontsize="x-small", loc="lower left")
    fig.tight_layout()
    return fig


# --- Chapter 4: loss functions ---
__all__ += ["true_class_loss_curves", "regression_loss_curves"]

def _frame_below(*axes):
    # Frame and ticks under every curve, so that a curve or marker on the frame is drawn over it
    # both in a full draw and when a frame redraws only what moves (Redraw.moving).
    for ax in axes:
        ax.set_axisbelow(True)
        for spine in ax.spines.values():
            spine.set_zorder(0.5)


_PROBABILITY_GRID = torch.linspace(0.001, 1.0, 400, dtype=torch.float64)


def _true_class_build(figsize, dpi):
    from nnbook import functional as F  # the curves come from the book's own losses

    p = _PROBABILITY_GRID
    one = torch.ones_like(p)
    # The probability p = σ(z) of the true class (target 1); gradients are d loss / d z.
    bce = F.binary_cross_entropy(p, one, reduction="none")
    mse = F.mse_loss(p, one, reduction="none")
    curves = {"BCE": (bce, 1 - p), "MSE": (mse, 2 * p * (1 - p) ** 2)}
    fig = Figure(figsize=figsize, dpi=dpi)
    loss_ax = fig.add_axes((0.08, 0.16, 0.38, 0.68))
    grad_ax = fig.add_axes((0.58, 0.16, 0.38, 0.68))
    markers = {}
    for (name, (loss, grad)), colour in zip(curves.items(), ("C0", "C1")):
        loss_ax.plot(p, loss, color=colour, label=f"{name} loss")
        grad_ax.plot(p, grad, color=colour, label=f"{name}: |∂loss/∂z|")
        markers[name] = (loss_ax.plot([], [], "o", color=colour, zorder=3)[0],
                         grad_ax.plot([], [], "o", color=colour, zorder=3)[0])
    loss_ax.set(xlabel="p = σ(z), probability of the true class", ylabel="loss", xlim=(0, 1),
                ylim=(0, 7))
    grad_ax.set(xlabel="p = σ(z), probability of the true class", ylabel="gradient size",
                xlim=(0, 1), ylim=(0, 1.05))
    loss_ax.legend(loc="upper right", fontsize="small")
    grad_ax.legend(loc="upper right", fontsize="small")
    _frame_below(loss_ax, grad_ax)
    # Cursors short enough to pass under the legends (frames redraw only what moves).
    cursors = (loss_ax.axvline(0.5, ymax=0.6, color="0.5", lw=1, ls=":"),
               grad_ax.axvline(0.5, ymax=0.6, color="0.5", lw=1, ls=":"))
    # The title belongs to an axes (not the figure), so that frames can redraw only what moves.
    title = loss_ax.text(0.5, 0.95, "", transform=fig.transFigure, ha="center", va="center",
                         fontsize="medium")
    return dict(fig=fig, markers=markers, cursors=cursors, title=title)


def _true_class_moving(state):
    return [*state["cursors"], *(m for pair in state["markers"].values() for m in pair), state["title"]]


def _true_class_update(state, p=0.1):
    p = float(p)
    if not 0 < p <= 1:
        raise ValueError(f"p must lie in (0, 1], got {p}")
    values = {"BCE": (-math.log(p), 1 - p), "MSE": ((1 - p) ** 2, 2 * p * (1 - p) ** 2)}
    for name, (loss_marker, grad_marker) in state["markers"].items():
        loss, grad = values[name]
        loss_marker.set_data([p], [min(loss, 6.9)])
        grad_marker.set_data([p], [grad])
    for cursor in state["cursors"]:
        cursor.set_xdata([p, p])
    (bce, bce_grad), (mse, mse_grad) = values["BCE"], values["MSE"]
    state["title"].set_text(f"p = {p:g}:  BCE {bce:.3f} (gradient {bce_grad:.3f}),  "
                            f"MSE {mse:.3f} (gradient {mse_grad:.4f})")
    return state["fig"]


def true_class_loss_curves(p=0.1, *, figsize=(8.0, 3.2), dpi=80):
    r"""Binary cross-entropy against squared error on a sigmoid output, for a target of 1.

    With :math:`p = \sigma(z)` the predicted probability of the true class, the left panel shows
    the losses :math:`-\log p` (BCE) and :math:`(1 - p)^2` (MSE); the right panel the size of
    their gradients with respect to the logit :math:`z`: :math:`1 - p` for BCE and
    :math:`2p(1 - p)^2` for MSE, which vanishes as :math:`p \to 0` (confidently wrong). The dots
    mark the value ``p`` and the title prints the four numbers there.

    ``true_class_loss_curves.redraw`` moves a built figure to another ``p`` in place.
    """
    return _true_class_update(_true_class_build(figsize, dpi), p)


true_class_loss_curves.redraw = Redraw(shape=("figsize", "dpi"), build=_true_class_build,
                                       update=_true_class_update, moving=_true_class_moving)


def _regression_build(extent, figsize, dpi):
    if not (extent > 0 and math.isfinite(extent)):
        raise ValueError(f"extent must be a positive number, got {extent}")
    from nnbook import functional as F

    r = torch.linspace(-extent, extent, 401, dtype=torch.float64)
    zero = torch.zeros_like(r)
    fig = Figure(figsize=figsize, dpi=dpi)
    loss_ax = fig.add_axes((0.07, 0.16, 0.40, 0.68))
    grad_ax = fig.add_axes((0.57, 0.16, 0.40, 0.68))
    loss_ax.plot(r, F.mse_loss(r, zero, reduction="none"), color="C0", label="MSE  r²")
    loss_ax.plot(r, F.l1_loss(r, zero, reduction="none"), color="C1", label="L1  |r|")
    grad_ax.plot(r, 2 * r, color="C0", label="MSE")
    grad_ax.plot(r, torch.sign(r), color="C1", label="L1")
    lines = dict(huber=loss_ax.plot([], [], color="C2", lw=2, label="Huber δ")[0],
                 smooth=loss_ax.plot([], [], color="C3", ls="--", label="Smooth L1 β = δ")[0],
                 huber_grad=grad_ax.plot([], [], color="C2", lw=2, label="Huber δ")[0],
                 smooth_grad=grad_ax.plot([], [], color="C3", ls="--", label="Smooth L1 β = δ")[0])
    # Short enough to stay clear of the legends: frames redraw only what moves (Redraw.moving).
    edges = [ax.axvline(x, ymax=0.55, color="0.6", lw=1, ls=":") for ax in (loss_ax, grad_ax)
             for x in (-1, 1)]
    loss_ax.set(xlabel="residual r = prediction − target", ylabel="loss", xlim=(-extent, extent),
                ylim=(0, extent * 1.5))
    grad_ax.set(xlabel="residual r = prediction − target", ylabel="∂loss/∂prediction",
                xlim=(-extent, extent), ylim=(-3.2, 3.2))
    loss_ax.legend(loc="upper center", fontsize="small")
    grad_ax.legend(loc="upper left", fontsize="small")
    _frame_below(loss_ax, grad_ax)
    title = loss_ax.text(0.5, 0.95, "", transform=fig.transFigure, ha="center", va="center",
                         fontsize="medium")
    return dict(fig=fig, r=r, zero=zero, lines=lines, edges=edges, title=title)


def _regression_moving(state):
    return [*state["lines"].values(), *state["edges"], state["title"]]


def _regression_update(state, delta=1.0):
    from nnbook import functional as F

    delta = float(delta)
    if not delta > 0:
        raise ValueError(f"delta must be positive, got {delta}")
    r, zero, lines = state["r"], state["zero"], state["lines"]
    lines["huber"].set_data(r, F.huber_loss(r, zero, reduction="none", delta=delta))
    lines["smooth"].set_data(r, F.smooth_l1_loss(r, zero, reduction="none", beta=delta))
    lines["huber_grad"].set_data(r, r.clamp(-delta, delta))
    lines["smooth_grad"].set_data(r, (r / delta).clamp(-1, 1))
    for edge, x in zip(state["edges"], (-delta, delta) * 2):
        edge.set_xdata([x, x])
    state["title"].set_text(f"δ = {delta:g}: Huber is quadratic for |r| < δ and grows like "
                            f"δ·|r| beyond; Huber = δ · Smooth L1")
    return state["fig"]


def regression_loss_curves(delta=1.0, *, extent=4.0, figsize=(8.0, 3.2), dpi=80):
    r"""Regression losses and their gradients against the residual :math:`r = \hat y - y`.

    MSE :math:`r^2`, L1 :math:`|r|`, Huber with threshold ``delta`` (:math:`\tfrac12 r^2` for
    :math:`|r| < \delta`, :math:`\delta(|r| - \tfrac12\delta)` beyond) and Smooth L1 with
    :math:`\beta = \delta` (Huber divided by :math:`\delta`). The right panel shows each loss's
    derivative with respect to the prediction: :math:`2r`, :math:`\operatorname{sign} r`,
    :math:`\operatorname{clip}(r, -\delta, \delta)` and :math:`\operatorname{clip}(r/\delta, -1, 1)`.
    Dotted lines mark :math:`\pm\delta`.

    ``regression_loss_curves.redraw`` moves a built figure to another ``delta`` in place.
    """
    return _regression_update(_regression_build(extent, figsize, dpi), delta)


regression_loss_curves.redraw = Redraw(shape=("extent", "figsize", "dpi"), build=_regression_build,
                                       update=_regression_update, moving=_regression_moving)


# --- Chapter 5: backpropagation and gradient descent ---
__all__ += ["gradient_descent_path", "gradient_descent_1d", "gradient_descent_2d", "gradient_flow_bars"]


def gradient_descent_path(grad, start, lr, steps):
    r"""The points :math:`w_0, w_1, \dots, w_{\text{steps}}` of gradient descent,
    :math:`w_{t+1} = w_t - \text{lr}\,\nabla L(w_t)`, as a float64 tensor of shape (steps + 1, d).

    ``grad(w)`` returns the gradient at ``w`` (a tensor of shape (d,)). Once a coordinate passes
    1e6 in size the path stops growing (later points repeat the last one), so that a diverging
    run stays drawable.
    """
    if int(steps) < 0:
        raise ValueError(f"steps must be 0 or more, got {steps}")
    w = torch.as_tensor(start, dtype=torch.float64).reshape(-1).clone()
    points = [w.clone()]
    for _ in range(int(steps)):
        if w.abs().max() < 1e6:
            w = w - float(lr) * grad(w)
        points.append(w.clone())
    return torch.stack(points)


# L(w) = (w - 2)^2: curvature 2, so plain gradient descent converges for lr < 1 and diverges beyond.
_BOWL_1D = dict(minimum=2.0, start=-2.0)


def _gd1_build(figsize, dpi):
    w = torch.linspace(-6, 10, 321, dtype=torch.float64)
    fig = Figure(figsize=figsize, dpi=dpi)
    ax = fig.add_axes((0.10, 0.16, 0.86, 0.70))
    ax.plot(w, (w - _BOWL_1D["minimum"]) ** 2, color="0.6", lw=1.5, label="L(w) = (w − 2)²")
    ax.set(xlim=(-6, 10), ylim=(-2, 70), xlabel="weight w", ylabel="loss L(w)")
    ax.axvline(_BOWL_1D["minimum"], color="0.8", lw=1, ls=":", ymax=0.4)
    _frame_below(ax)
    path_line, = ax.plot([], [], "-", color="C0", lw=1, zorder=3)
    dots, = ax.plot([], [], "o", color="C0", ms=4, zorder=4)
    last, = ax.plot([], [], "o", color="C3", ms=7, zorder=5)
    ax.legend(loc="upper center", fontsize="small").set_zorder(2.5)   # under what moves
    title = ax.text(0.5, 1.04, "", transform=ax.transAxes, ha="center", va="bottom",
                    fontsize="medium")
    return dict(fig=fig, ax=ax, path=path_line, dots=dots, last=last, title=title)


def _gd1_moving(state):
    return [state["path"], state["dots"], state["last"], state["title"]]


def _gd1_update(state, lr=0.1, steps=10):
    def grad(w):
        return 2 * (w - _BOWL_1D["minimum"])

    path = gradient_descent_path(grad, [_BOWL_1D["start"]], lr, steps)[:, 0]
    loss = (path - _BOWL_1D["minimum"]) ** 2
    shown = path.clamp(-5.9, 9.9)                  # far-off points sit on the edge of the plot
    shown_loss = loss.clamp(max=69)
    state["path"].set_data(shown.numpy(), shown_loss.numpy())
    state["dots"].set_data(shown.numpy(), shown_loss.numpy())
    state["last"].set_data(shown[-1:].numpy(), shown_loss[-1:].numpy())
    factor = abs(1 - 2 * float(lr))                # the distance to the minimum is multiplied by it
    verdict = ("creeps towards the minimum" if factor >= 0.9 and float(lr) < 0.5 else
               "converges" if factor < 1 and float(lr) <= 0.5 else
               "oscillates and converges" if factor < 1 else
               "stays put" if factor == 1 and float(lr) == 0 else
               "oscillates forever" if factor == 1 else "diverges")
    state["title"].set_text(f"lr = {float(lr):g}, {int(steps)} steps: w = {path[-1].item():.4g}, "
                            f"L = {loss[-1].item():.3g}  (× {factor:.2f} per step: {verdict})")
    return state["fig"]


def gradient_descent_1d(lr=0.1, steps=10, *, figsize=(6.4, 3.2), dpi=80):
    r"""Gradient descent on the one-parameter loss :math:`L(w) = (w - 2)^2` from :math:`w_0 = -2`.

    Each step is :math:`w \leftarrow w - \text{lr}\cdot 2(w - 2)`, so the distance to the minimum
    is multiplied by :math:`1 - 2\,\text{lr}` at every step: it shrinks steadily for
    :math:`\text{lr} < 0.5`, shrinks while changing sides for :math:`0.5 < \text{lr} < 1`, and
    grows for :math:`\text{lr} > 1`. The dots are the iterates; the red dot is the last one
    (points beyond the plot are drawn at its edge). The title gives the factor and the verdict.
    """
    return _gd1_update(_gd1_build(figsize, dpi), lr, steps)


gradient_descent_1d.redraw = Redraw(shape=("figsize", "dpi"), build=_gd1_build, update=_gd1_update,
                                    moving=_gd1_moving)


# L(w) = (w1^2 + 10 w2^2) / 2: curvatures 1 and 10, so lr < 0.2 converges; w2 oscillates for lr > 0.1.
_BOWL_2D = dict(curvatures=(1.0, 10.0), start=(-4.0, 1.5), extent=(5.0, 2.5))


def _gd2_build(figsize, dpi):
    a, b = _BOWL_2D["curvatures"]
    ex, ey = _BOWL_2D["extent"]
    w1, w2 = np.meshgrid(np.linspace(-ex, ex, 121), np.linspace(-ey, ey, 81))
    fig = Figure(figsize=figsize, dpi=dpi)
    ax = fig.add_axes((0.10, 0.16, 0.86, 0.70))
    ax.contour(w1, w2, 0.5 * (a * w1**2 + b * w2**2), levels=[0.5, 2, 5, 10, 20, 30],
               colors="0.7", linewidths=0.8, zorder=0.2)
    ax.plot([0], [0], "+", color="0.3", ms=10, zorder=0.3)
    ax.set(xlim=(-ex, ex), ylim=(-ey, ey), xlabel="w₁ (curvature 1)", ylabel="w₂ (curvature 10)")
    _frame_below(ax)
    path_line, = ax.plot([], [], "o-", color="C0", lw=1, ms=3, zorder=3)
    last, = ax.plot([], [], "o", color="C3", ms=7, zorder=4)
    title = ax.text(0.5, 1.04, "", transform=ax.transAxes, ha="center", va="bottom",
                    fontsize="medium")
    return dict(fig=fig, path=path_line, last=last, title=title)


def _gd2_moving(state):
    return [state["path"], state["last"], state["title"]]


def _gd2_update(state, lr=0.1, steps=10):
    curvatures = torch.tensor(_BOWL_2D["curvatures"], dtype=torch.float64)
    path = gradient_descent_path(lambda w: curvatures * w, _BOWL_2D["start"], lr, steps)
    loss = 0.5 * (curvatures * path[-1] ** 2).sum().item()
    ex, ey = _BOWL_2D["extent"]
    shown = torch.stack([path[:, 0].clamp(-ex, ex), path[:, 1].clamp(-ey, ey)], dim=1).numpy()
    state["path"].set_data(shown[:, 0], shown[:, 1])
    state["last"].set_data(shown[-1:, 0], shown[-1:, 1])
    state["title"].set_text(f"lr = {float(lr):g}, {int(steps)} steps: L = {loss:.3g}  "
                            f"(factors per step: w₁ × {abs(1 - float(lr)):.2f}, "
                            f"w₂ × {abs(1 - 10 * float(lr)):.2f})")
    return state["fig"]


def gradient_descent_2d(lr=0.1, steps=10, *, figsize=(6.4, 3.4), dpi=80):
    r"""Gradient descent on the bowl :math:`L(w) = \tfrac12 (w_1^2 + 10\,w_2^2)` from (−4, 1.5).

    The gradient is :math:`(w_1, 10\,w_2)`, so one step multiplies :math:`w_1` by
    :math:`1 - \text{lr}` and :math:`w_2` by :math:`1 - 10\,\text{lr}`: the steep direction
    oscillates from :math:`\text{lr} > 0.1` and diverges from :math:`\text{lr} > 0.2`, while the
    shallow one still crawls. Grey lines are contours of equal loss; points beyond the plot are
    drawn at its edge. The title gives the loss and both factors.
    """
    return _gd2_update(_gd2_build(figsize, dpi), lr, steps)


gradient_descent_2d.redraw = Redraw(shape=("figsize", "dpi"), build=_gd2_build, update=_gd2_update,
                                    moving=_gd2_moving)


def _flow_build(flows, figsize, dpi):
    if not flows:
        raise ValueError("flows must map each setting to gradient_flow's (signal, weights)")
    everything = [norm for signal, weights in flows.values() for _, norm in [*signal, *weights]]
    if not all(norm > 0 for norm in everything):
        raise ValueError("gradient norms must be positive to be drawn on a log scale")
    low, high = min(everything) / 3, max(everything) * 3
    signal, weights = next(iter(flows.values()))
    fig = Figure(figsize=figsize, dpi=dpi)
    signal_ax = fig.add_axes((0.09, 0.17, 0.50, 0.66))
    weight_ax = fig.add_axes((0.70, 0.17, 0.27, 0.66))
    for ax, items, what in ((signal_ax, signal, "‖∂L/∂ output of each layer‖"),
                            (weight_ax, weights, "‖∂L/∂W‖")):
        ax.set(yscale="log", ylim=(low, high), xlim=(-0.6, len(items) - 0.4))
        ax.set_xticks(range(len(items)), [label for label, _ in items])
        ax.set_ylabel(what, fontsize="small")
        ax.grid(alpha=0.3, axis="y")
    signal_ax.set_xlabel("← backward pass: from the logits towards the input", fontsize="small")
    weight_ax.set_xlabel("weights, last layer first", fontsize="small")
    _frame_below(signal_ax, weight_ax)
    line, = signal_ax.plot([], [], "o-", color="C0", zorder=3)
    bars = weight_ax.bar(range(len(weights)), [high] * len(weights), bottom=low, color="C1",
                         zorder=2)
    title = signal_ax.text(0.5, 0.93, "", transform=fig.transFigure, ha="center", va="center",
                           fontsize="medium")
    return dict(fig=fig, flows=flows, line=line, bars=bars, low=low, title=title)


def _flow_moving(state):
    return [state["line"], *state["bars"], state["title"]]


def _flow_update(state, setting):
    try:
        signal, weights = state["flows"][setting]
    except KeyError:
        raise ValueError(f"no gradient flow for {setting!r}; choose from "
                         f"{list(state['flows'])}") from None
    state["line"].set_data(range(len(signal)), [norm for _, norm in signal])
    for bar, (_, norm) in zip(state["bars"], weights):
        bar.set_height(norm - state["low"])
    state["title"].set_text(f"{setting}: ‖∂L/∂W‖ of the first layer ÷ the last = "
                            f"{weights[-1][1] / weights[0][1]:.2g}")
    return state["fig"]


def gradient_flow_bars(flows, setting, *, figsize=(8.0, 3.2), dpi=80):
    r"""The size of the gradient at each stage of the backward pass of one network.

    ``flows[setting]`` is what :func:`nnbook.backprop.gradient_flow` returns for that setting
    (computed beforehand: this function only draws). Left: the norm of :math:`\partial L/\partial z_l`
    and :math:`\partial L/\partial a_l` from the logits back to the first layer's output; right:
    the norm of each weight gradient. Both on one log scale fixed by every setting given, so
    switching settings compares like with like.
    """
    return _flow_update(_flow_build(flows, figsize, dpi), setting)


gradient_flow_bars.redraw = Redraw(shape=("flows", "figsize", "dpi"), build=_flow_build,
                                   update=_flow_update, moving=_flow_moving)


__all__ += ["computational_graph"]


def computational_graph(x=2.0, w=-1.0, b=3.0, y=1.0, figsize=(7.5, 2.6), dpi=80):
    r"""Draw the graph of :math:`L = (\sigma(w x + b) - y)^2` with its forward values and gradients.

    Nodes :math:`u = w x`, :math:`z = u + b`, :math:`a = \sigma(z)`, :math:`d = a - y`,
    :math:`L = d^2`; each carries its forward value (black) and :math:`\partial L/\partial(\text{node})`
    (red), computed by the chain rule backwards: :math:`\partial L/\partial d = 2d`,
    :math:`\partial L/\partial z = \partial L/\partial d\,\sigma(z)(1 - \sigma(z))`,
    :math:`\partial L/\partial w = x\,\partial L/\partial z`, :math:`\partial L/\partial b = \partial L/\partial z`.
    The values are attached to the figure as ``fig.graph_values`` (name -> (value, gradient)).
    """
    u = w * x
    z = u + b
    a = 1.0 / (1.0 + math.exp(-z))
    d = a - y
    loss = d * d
    g_d = 2 * d
    g_z = g_d * a * (1 - a)
    values = {"w": (w, g_z * x), "x": (x, None), "b": (b, g_z), "u = wx": (u, g_z),
              "z = u + b": (z, g_z), "a = σ(z)": (a, g_d), "d = a − y": (d, g_d),
              "L = d²": (loss, 1.0)}
    where = {"w": (0, 1.6), "x": (0, 0.4), "u = wx": (1.5, 1.0), "b": (1.5, -0.2),
             "z = u + b": (3.0, 0.4), "a = σ(z)": (4.5, 0.4), "d = a − y": (6.0, 0.4),
             "L = d²": (7.5, 0.4)}
    edges = [("w", "u = wx"), ("x", "u = wx"), ("u = wx", "z = u + b"), ("b", "z = u + b"),
             ("z = u + b", "a = σ(z)"), ("a = σ(z)", "d = a − y"), ("d = a − y", "L = d²")]
    fig = Figure(figsize=figsize, dpi=dpi)
    ax = fig.add_subplot()
    for start, end in edges:
        (x0, y0), (x1, y1) = where[start], where[end]
        ax.annotate("", xy=(x1 - 0.45, y1), xytext=(x0 + 0.45, y0),
                    arrowprops={"arrowstyle": "->", "color": "0.3"})
    for name, (px, py) in where.items():
        value, grad = values[name]
        ax.text(px, py, name, ha="center", va="center", fontsize=9,
                bbox={"boxstyle": "round", "fc": "#eef3fb", "ec": "0.4"})
        ax.text(px, py - 0.32, f"{value:.4g}", ha="center", va="top", fontsize=8)
        if grad is not None:
            ax.text(px, py + 0.3, f"∂L: {grad:.4g}", ha="center", va="bottom", fontsize=8,
                    color="tab:red")
    ax.set(xlim=(-0.7, 8.2), ylim=(-0.8, 2.2),
           title="Forward values (black, left to right), gradients ∂L/∂node (red, right to left)")
    ax.axis("off")
    fig.tight_layout()
    fig.graph_values = values
    return fig


# --- Chapter 6: optimizers and learning-rate decay ---
import functools  # noqa: E402  (kept inside this chapter's block)

# race_trajectory and lr_schedule_curve compute what the figures draw; they are not figures, so
# they stay out of __all__ (which lists the figures that benchmarks/bench_plots.py times).
__all__ += ["RACE_SURFACES", "RACE_OPTIMIZERS", "optimizer_race", "SCHEDULES",
            "lr_schedule_explorer"]


def _ill_conditioned(x, y):
    return 0.5 * (x**2 + 20 * y**2)


def _rosenbrock(x, y):
    return (1 - x) ** 2 + 10 * (y - x**2) ** 2


def _saddle(x, y):
    return 0.5 * (x**2 - y**2) + 0.25 * y**4


#: name -> (f(x, y), start, minimum, plot window (x0, x1, y0, y1), base learning rates by optimizer)
RACE_SURFACES = {
    "ill-conditioned quadratic": (_ill_conditioned, (-4.0, 1.0), (0.0, 0.0), (-4.5, 1.5, -1.5, 1.5),
                                  dict(SGD=0.04, Nesterov=0.04, RMSprop=0.05, Adam=0.2)),
    "Rosenbrock valley": (_rosenbrock, (-1.5, 1.5), (1.0, 1.0), (-2.0, 2.0, -0.8, 3.0),
                          dict(SGD=0.01, Nesterov=0.01, RMSprop=0.02, Adam=0.2)),
    "saddle point": (_saddle, (-2.0, 0.001), (0.0, 1.0), (-2.5, 1.0, -1.6, 1.6),
                     dict(SGD=0.05, Nesterov=0.05, RMSprop=0.02, Adam=0.05)),
}
RACE_OPTIMIZERS = ("SGD", "Nesterov", "RMSprop", "Adam")


def race_trajectory(surface, optimizer, lr, beta=0.0, steps=100):
    r"""The points :math:`(x_t, y_t)`, :math:`t = 0, \dots,` ``steps``, that ``torch.optim``
    visits on one of :data:`RACE_SURFACES`, as a ``(steps + 1, 2)`` float64 tensor.

    ``beta`` is the momentum :math:`\mu` of ``SGD``, ``Nesterov`` (plain SGD when 0) and
    ``RMSprop``, and :math:`\beta_1` of ``Adam`` (with :math:`\beta_2 = 0.999`). A run that
    diverges stops at its last finite point.
    """
    return _race_path(surface, optimizer, float(lr), float(beta), int(steps)).clone()


@functools.lru_cache(maxsize=256)  # frames of the figure ask for the same runs again and again
def _race_path(surface, optimizer, lr, beta, steps):
    f, start = RACE_SURFACES[surface][:2]
    if optimizer not in RACE_OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {RACE_OPTIMIZERS}, got {optimizer!r}")
    if not lr > 0 or not 0 <= beta < 1:
        raise ValueError(f"need lr > 0 and 0 <= beta < 1, got lr={lr}, beta={beta}")
    point = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    make = {"SGD": lambda p: torch.optim.SGD(p, lr=lr, momentum=beta),
            "Nesterov": lambda p: torch.optim.SGD(p, lr=lr, momentum=beta, nesterov=beta > 0),
            "RMSprop": lambda p: torch.optim.RMSprop(p, lr=lr, momentum=beta),
            "Adam": lambda p: torch.optim.Adam(p, lr=lr, betas=(beta, 0.999))}[optimizer]
    opt = make([point])
    path = [point.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        f(point[0], point[1]).backward()
        opt.step()
        if not torch.isfinite(point).all() or point.detach().abs().max() > 1e3:
            break
        path.append(point.detach().clone())
    return torch.stack(path)


def _race_build(surface, figsize, dpi):
    f, start, minimum, (x0, x1, y0, y1), _ = RACE_SURFACES[surface]
    xs = torch.linspace(x0, x1, 90, dtype=torch.float64)
    ys = torch.linspace(y0, y1, 70, dtype=torch.float64)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    z = f(gx, gy)
    fig = Figure(figsize=figsize, dpi=dpi)
    ax = fig.add_axes((0.09, 0.13, 0.62, 0.75))
    levels = np.quantile(z.numpy(), np.linspace(0.02, 0.98, 14))
    ax.contour(xs.numpy(), ys.numpy(), z.numpy(), levels=np.unique(levels), colors="0.75",
               linewidths=0.7, zorder=1)
    ax.plot(*start, "ko", ms=5, zorder=2)
    ax.plot(*minimum, "*", color="C2", ms=11, zorder=2)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x", ylabel="y")
    _frame_below(ax)
    loss_ax = fig.add_axes((0.80, 0.13, 0.18, 0.75))
    loss_ax.set(yscale="log", xlabel="step", title="f(x, y) − f*", xlim=(0, 100),
                ylim=(1e-10, 1e3))
    loss_ax.title.set_fontsize("small")
    _frame_below(loss_ax)
    lines = {}
    for name, colour, width in (("reference", "0.55", 1.2), ("chosen", "C3", 1.8)):
        lines[name] = (ax.plot([], [], ".-", color=colour, lw=width, ms=2.5, zorder=3)[0],
                       loss_ax.plot([], [], color=colour, lw=width, zorder=3)[0])
    title = ax.text(0.5, 0.96, "", transform=fig.transFigure, ha="center", va="center",
                    fontsize="medium")
    legend_text = ax.text(0.02, 0.02, "", transform=ax.transAxes, fontsize="small", zorder=4)
    return dict(fig=fig, ax=ax, loss_ax=loss_ax, lines=lines, title=title, legend=legend_text,
                surface=surface)


def _race_moving(state):
    return [line for pair in state["lines"].values() for line in pair] + [
        state["title"], state["legend"]]


def _race_update(state, optimizer="Adam", lr_scale=1.0, beta=0.9):
    surface = state["surface"]
    f, _, minimum, _, base = RACE_SURFACES[surface]
    lr = base[optimizer] * float(lr_scale)
    f_min = float(f(torch.tensor(minimum[0]), torch.tensor(minimum[1])))
    runs = {"reference": race_trajectory(surface, "SGD", base["SGD"], 0.0),
            "chosen": race_trajectory(surface, optimizer, lr, float(beta))}
    for name, path in runs.items():
        gap = (f(path[:, 0], path[:, 1]) - f_min).clamp_min(1e-10)  # the panel's floor
        path_line, loss_line = state["lines"][name]
        path_line.set_data(path[:, 0].numpy(), path[:, 1].numpy())
        loss_line.set_data(np.arange(len(gap)), gap.numpy())
    chosen_gap = float((f(*runs["chosen"][-1]) - f_min))
    end = "diverged" if len(runs["chosen"]) < 101 else f"after 100 steps f − f* = {chosen_gap:.2g}"
    state["title"].set_text(f"{surface}: {optimizer}, lr = {lr:g}, "
                            f"{'β₁' if optimizer == 'Adam' else 'μ'} = {float(beta):g}  ({end})")
    state["legend"].set_text(f"grey: plain SGD, lr = {base['SGD']:g}")
    return state["fig"]


def optimizer_race(surface="ill-conditioned quadratic", optimizer="Adam", lr_scale=1.0, beta=0.9,
                   *, figsize=(8.0, 3.6), dpi=64):
    r"""An optimizer's first 100 steps on a 2-D surface, against plain SGD (grey).

    The surfaces (:data:`RACE_SURFACES`) are the ill-conditioned quadratic
    :math:`\tfrac12(x^2 + 20y^2)`, the Rosenbrock valley :math:`(1 - x)^2 + 10(y - x^2)^2` and
    the saddle :math:`\tfrac12(x^2 - y^2) + \tfrac14 y^4` (a saddle at the origin, minima at
    :math:`(0, \pm 1)`). The learning rate is ``lr_scale`` times a base rate chosen per surface
    and optimizer (printed in the title); ``beta`` is the momentum or Adam's :math:`\beta_1`
    (see :func:`race_trajectory`). Left: the path over the contours; right: :math:`f - f^*`
    on a log scale from 1e-10 (values below are drawn at 1e-10) to 1e3.
    """
    return _race_update(_race_build(surface, figsize, dpi), optimizer, lr_scale, beta)


optimizer_race.redraw = Redraw(shape=("surface", "figsize", "dpi"), build=_race_build,
                               update=_race_update, moving=_race_moving)


SCHEDULES = ("constant", "step", "multi-step", "exponential", "cosine")


def lr_schedule_curve(schedule, warmup=0, epochs=100, lr=0.1):
    r"""The learning rate of each of ``epochs`` epochs under ``schedule`` (one of
    :data:`SCHEDULES`), from ``nnbook.optim.lr_scheduler`` stepped once per epoch.

    step: ×0.5 every 20 epochs; multi-step: ×0.1 at epochs 50 and 75; exponential: ×0.96 per
    epoch; cosine: from ``lr`` to 0 over ``epochs``. ``warmup > 0`` chains a linear warm-up
    (``LinearLR`` from 0.1·lr to lr over ``warmup`` epochs) whose factor multiplies the decay's.
    """
    from nnbook.optim import SGD, lr_scheduler as S

    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if int(warmup) < 0 or int(epochs) < 1:
        raise ValueError(f"need warmup >= 0 and epochs >= 1, got {warmup}, {epochs}")
    opt = SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    make = {"constant": lambda: [], "step": lambda: [S.StepLR(opt, 20, 0.5)],
            "multi-step": lambda: [S.MultiStepLR(opt, [50, 75], 0.1)],
            "exponential": lambda: [S.ExponentialLR(opt, 0.96)],
            "cosine": lambda: [S.CosineAnnealingLR(opt, int(epochs))]}[schedule]
    schedulers = ([S.LinearLR(opt, 0.1, 1.0, int(warmup))] if warmup else []) + make()
    rates = []
    for _ in range(int(epochs)):
        rates.append(opt.param_groups[0]["lr"])
        for scheduler in schedulers:
            scheduler.step()
    return torch.tensor(rates, dtype=torch.float64)


def _schedule_build(figsize, dpi):
    fig = Figure(figsize=figsize, dpi=dpi)
    ax = fig.add_axes((0.1, 0.16, 0.86, 0.7))
    ax.set(xlabel="epoch", ylabel="learning rate", xlim=(0, 100), ylim=(0, 0.105))
    _frame_below(ax)
    line = ax.plot([], [], color="C0", lw=2, zorder=3)[0]
    title = ax.text(0.5, 0.94, "", transform=fig.transFigure, ha="center", va="center")
    return dict(fig=fig, line=line, title=title)


def _schedule_update(state, schedule="cosine", warmup=0):
    rates = lr_schedule_curve(schedule, warmup)
    state["line"].set_data(np.arange(len(rates)), rates.numpy())
    state["title"].set_text(f"{schedule}, warm-up {int(warmup)} epochs: lr at epochs 0, 10, 50, "
                            f"90 = {rates[0]:.3g}, {rates[10]:.3g}, {rates[50]:.3g}, {rates[90]:.3g}")
    return state["fig"]


def lr_schedule_explorer(schedule="cosine", warmup=0, *, figsize=(7.0, 2.8), dpi=72):
    r"""The learning rate over 100 epochs for one of :data:`SCHEDULES`, optionally after a
    linear warm-up of ``warmup`` epochs (see :func:`lr_schedule_curve`)."""
    return _schedule_update(_schedule_build(figsize, dpi), schedule, warmup)


lr_schedule_explorer.redraw = Redraw(shape=("figsize", "dpi"), build=_schedule_build,
                                     update=_schedule_update,
                                     moving=lambda state: [state["line"], state["title"]])


# --- Chapter 7: regularization ---
__all__ += ["regularization_curves", "batchnorm_histograms"]


def _regularization_build(figsize, dpi, epochs):
    fig = Figure(figsize=figsize, dpi=dpi)
    loss_ax = fig.add_axes((0.08, 0.15, 0.40, 0.68))
    acc_ax = fig.add_axes((0.58, 0.15, 0.40, 0.68))
    # Linear, and cut at 1: the early losses (about 2.3) leave the top, and the late rise of
    # the validation loss, a few hundredths, stays visible.
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", xlim=(0, epochs), ylim=(0, 1.0))
    acc_ax.set(xlabel="epoch", ylabel="validation accuracy", xlim=(0, epochs), ylim=(0, 1))
    # The curves move from frame to frame: above the legends (zorder 5), so that a frame can
    # redraw only what moves over a picture of the rest (Redraw.moving).
    above = dict(zorder=6)
    lines = dict(
        base_val=loss_ax.plot([], [], color="0.65", lw=1, ls="--",
                              label="validation, no regularization", **above)[0],
        train=loss_ax.plot([], [], color="C0", lw=1.8, label="training", **above)[0],
        val=loss_ax.plot([], [], color="C1", lw=1.8, label="validation", **above)[0],
        best=loss_ax.plot([], [], "v", color="C3", ms=8, label="lowest validation loss",
                          **above)[0],
        base_acc=acc_ax.plot([], [], color="0.65", lw=1, ls="--", label="no regularization",
                             **above)[0],
        acc=acc_ax.plot([], [], color="C1", lw=1.8, label="this setting", **above)[0],
    )
    loss_ax.legend(loc="upper right", fontsize="small")
    acc_ax.legend(loc="lower right", fontsize="small")
    _frame_below(loss_ax, acc_ax)
    title = loss_ax.text(0.5, 0.93, "", transform=fig.transFigure, ha="center", va="center",
                         fontsize="medium", zorder=6)
    return dict(fig=fig, lines=lines, title=title)


def _regularization_moving(state):
    return [*state["lines"].values(), state["title"]]


def _regularization_update(state, dropout=0.0, weight_decay=0.0, runs=None):
    key = (float(dropout), float(weight_decay))
    if runs is None or key not in runs:
        known = sorted(runs) if runs else []
        raise ValueError(f"no stored run for dropout {dropout} and weight decay {weight_decay}; "
                         f"the runs are {known}")
    run, base = runs[key], runs[(0.0, 0.0)]
    lines, epochs = state["lines"], run["epoch"]
    lines["train"].set_data(epochs, run["train_loss"])
    lines["val"].set_data(epochs, run["val_loss"])
    lines["base_val"].set_data(base["epoch"], base["val_loss"])
    lines["acc"].set_data(epochs, run["val_accuracy"])
    lines["base_acc"].set_data(base["epoch"], base["val_accuracy"])
    best = min(range(len(epochs)), key=run["val_loss"].__getitem__)
    lines["best"].set_data([epochs[best]], [run["val_loss"][best]])
    state["title"].set_text(
        f"dropout p = {key[0]:g}, AdamW weight decay λ = {key[1]:g}: lowest validation loss "
        f"{run['val_loss'][best]:.3f} at epoch {epochs[best]}, last {run['val_loss'][-1]:.3f}")
    return state["fig"]


def regularization_curves(dropout=0.0, weight_decay=0.0, *, runs, epochs=200, figsize=(8.0, 3.4),
                          dpi=80):
    r"""Training and validation curves of one stored run of the dropout × weight-decay grid
    (AdamW's decoupled weight decay; each curve the mean over the stored seeds).

    ``runs`` maps ``(dropout, weight_decay)`` to a dict of lists ``epoch``, ``train_loss``,
    ``val_loss``, ``val_accuracy`` (:func:`nnbook.regularization.load_grid`); it must hold the
    unregularized run ``(0.0, 0.0)``, drawn dashed grey for comparison. Left: both losses (the
    axis stops at 1, so the first epochs leave the top), with a triangle at the lowest
    validation loss; right: the validation accuracy.
    Nothing is trained here.

    ``regularization_curves.redraw`` moves a built figure to another run in place.
    """
    return _regularization_update(_regularization_build(figsize, dpi, epochs), dropout,
                                  weight_decay, runs)


regularization_curves.redraw = Redraw(shape=("figsize", "dpi", "epochs"),
                                      build=_regularization_build, update=_regularization_update,
                                      moving=_regularization_moving)


def _batchnorm_build(edges, figsize, dpi):
    edges = np.asarray(edges, dtype=float)
    fig = Figure(figsize=figsize, dpi=dpi)
    axes = [fig.add_axes((0.08, 0.15, 0.40, 0.66)), fig.add_axes((0.57, 0.15, 0.40, 0.66))]
    steps = {}
    for ax, name in zip(axes, ("without batch norm", "with batch norm")):
        # the moving histogram above everything fixed (the frames redraw only what moves)
        ax.axvline(0.0, color="0.5", lw=1, ls=":", ymax=0.8, zorder=1)
        steps[name] = ax.stairs(np.zeros(len(edges) - 1), edges, fill=True, color="C0", alpha=0.7,
                                zorder=3)
        ax.set(xlabel="pre-activation of hidden layer 2", xlim=(edges[0], edges[-1]),
               ylim=(0, 1.05), yticks=[])
        ax.set_title(name, fontsize="medium")
    axes[0].set_ylabel("share of values (scaled to the peak)")
    _frame_below(*axes)
    notes = {name: ax.text(0.97, 0.95, "", transform=ax.transAxes, ha="right", va="top",
                           fontsize="small", zorder=4)
             for ax, name in zip(axes, steps)}
    title = axes[0].text(0.5, 0.94, "", transform=fig.transFigure, ha="center", va="center",
                         fontsize="medium")
    return dict(fig=fig, steps=steps, notes=notes, title=title)


def _batchnorm_moving(state):
    return [*state["steps"].values(), *state["notes"].values(), state["title"]]


def _batchnorm_update(state, epoch=0, histograms=None):
    if histograms is None or epoch not in histograms["without batch norm"]:
        known = sorted(histograms["without batch norm"]) if histograms else []
        raise ValueError(f"no stored histogram for epoch {epoch}; the epochs are {known}")
    for name, steps in state["steps"].items():
        counts, mean, std = histograms[name][epoch]
        counts = np.asarray(counts, dtype=float)
        peak = counts.max() if counts.size else 0.0
        steps.set_data(counts / peak if peak > 0 else counts)
        state["notes"][name].set_text(f"mean {mean:+.2f}\nstd {std:.2f}")
    state["title"].set_text(f"after {epoch} epochs of SGD at learning rate {histograms['lr']:g}")
    return state["fig"]


def batchnorm_histograms(epoch=0, *, histograms, edges, figsize=(8.0, 3.2), dpi=80):
    r"""The distribution of one layer's pre-activations, without and with batch norm, at an epoch.

    ``histograms`` holds ``"lr"`` and, for ``"without batch norm"`` and ``"with batch norm"``,
    ``{epoch: (counts, mean, std)}``: counts of the values in the bins ``edges``, measured
    beforehand (each panel is scaled to its highest bin; values outside the edges are not drawn,
    but count in the mean and standard deviation printed in the corner). Nothing is trained here.

    ``batchnorm_histograms.redraw`` moves a built figure to another epoch in place.
    """
    return _batchnorm_update(_batchnorm_build(edges, figsize, dpi), epoch, histograms)


batchnorm_histograms.redraw = Redraw(shape=("edges", "figsize", "dpi"), build=_batchnorm_build,
                                     update=_batchnorm_update, moving=_batchnorm_moving)


# --- Chapter 8: tabular classification, phone prices ---

__all__ += ["phone_training_snapshot"]

_PRICE_COLORS = ("#4C72B0", "#55A868", "#DD8452", "#C44E52")   # price classes 0-3


def _phone_snapshot_build(points, extent, figsize, dpi):
    from matplotlib.colors import ListedColormap

    fig = Figure(figsize=figsize, dpi=dpi)
    conf_ax = fig.add_axes((0.07, 0.14, 0.34, 0.70))
    region_ax = fig.add_axes((0.56, 0.14, 0.40, 0.70))
    cmap = ListedColormap(_PRICE_COLORS)
    _frame_below(conf_ax, region_ax)   # frame and ticks under the moving images
    image = conf_ax.imshow(np.zeros((4, 4)), cmap="Blues", vmin=0, vmax=100, zorder=1)
    conf_ax.set(xticks=range(4), yticks=range(4), xlabel="predicted class", ylabel="true class")
    counts = [[conf_ax.text(j, i, "", ha="center", va="center", fontsize="small")
               for j in range(4)] for i in range(4)]
    regions = region_ax.imshow(np.zeros((2, 2)), origin="lower", extent=extent, aspect="auto",
                               cmap=cmap, vmin=-0.5, vmax=3.5, alpha=0.35, interpolation="nearest",
                               zorder=1)
    ram, battery, label = (np.asarray(v) for v in points)
    dots = [region_ax.scatter(ram[label == k], battery[label == k], s=9, color=_PRICE_COLORS[k],
                              edgecolors="none", label=f"class {k}", zorder=2)
            for k in range(4)]
    region_ax.set(xlim=extent[:2], ylim=extent[2:], xlabel="ram (MB)",
                  ylabel="battery_power (mAh)")
    legend = region_ax.legend(loc="upper left", fontsize="x-small", ncol=2, framealpha=0.8)
    # a text at a fixed place, not the axes title (whose place is computed during a full draw)
    conf_title = conf_ax.text(0.24, 0.92, "", transform=fig.transFigure, ha="center",
                              va="center", fontsize="medium", zorder=3)
    region_ax.set_title("predicted class; other features at their mean", fontsize="medium")
    return dict(fig=fig, image=image, counts=counts, regions=regions, title=conf_title,
                above=[*dots, legend])


def _phone_snapshot_moving(state):
    # the regions lie under the dots and the legend, so those are redrawn with them
    return [state["image"], *(t for row in state["counts"] for t in row), state["title"],
            state["regions"], *state["above"]]


def _phone_snapshot_update(state, epoch=0, snapshots=None):
    if snapshots is None or epoch not in snapshots:
        known = sorted(snapshots) if snapshots else []
        raise ValueError(f"no snapshot for epoch {epoch}; the epochs are {known}")
    confusion = np.asarray(snapshots[epoch]["confusion"])
    state["image"].set_data(confusion)
    top = max(float(confusion.max()), 1.0)
    state["image"].set_clim(0, top)
    for i in range(4):
        for j in range(4):
            state["counts"][i][j].set_text(str(int(confusion[i, j])))
            state["counts"][i][j].set_color("white" if confusion[i, j] > 0.6 * top else "black")
    state["regions"].set_data(np.asarray(snapshots[epoch]["regions"]))
    accuracy = np.trace(confusion) / max(confusion.sum(), 1)
    state["title"].set_text(f"validation, epoch {epoch}: accuracy {accuracy:.1%}")
    return state["fig"]


def phone_training_snapshot(epoch=0, *, snapshots, points, extent=(256, 3998, 501, 1998),
                            figsize=(8.4, 3.6), dpi=80):
    """What the phone network predicts after ``epoch`` epochs: confusion matrix and class regions.

    ``snapshots[epoch]`` holds ``"confusion"``, the 4×4 counts on the validation phones (row = true
    class, column = predicted class; the accuracy in the title is its trace over its sum), and
    ``"regions"``, the predicted class on a grid over RAM (columns) and battery power (rows)
    spanning ``extent`` = (ram_min, ram_max, battery_min, battery_max), the other features at their
    training mean (:func:`nnbook.tabular.decision_grid`). ``points`` = (ram, battery_power, class)
    of the phones drawn as dots. Both are measured beforehand; nothing is trained here.

    ``phone_training_snapshot.redraw`` moves a built figure to another epoch in place.
    """
    return _phone_snapshot_update(_phone_snapshot_build(points, extent, figsize, dpi), epoch,
                                  snapshots)


phone_training_snapshot.redraw = Redraw(shape=("points", "extent", "figsize", "dpi"),
                                        build=_phone_snapshot_build,
                                        update=_phone_snapshot_update,
                                        moving=_phone_snapshot_moving)


__all__ += ["features_by_class"]


def features_by_class(values, classes, names, *, units=None, figsize=(8.4, 2.6), dpi=80):
    """One box plot per feature: its values split by class, one box per class 0, 1, ...

    ``values`` is a sequence of equal-length sequences, one per feature (named by ``names``, with
    optional ``units`` for the axis labels), and ``classes`` the integer class of each row. Each
    box spans the class's quartiles, its line is the median and its whiskers reach the most
    extreme values within 1.5 box lengths (matplotlib's default). A feature whose boxes climb from
    class to class moves with the class; boxes at one height mean it does not (one feature at a
    time only).
    """
    classes = np.asarray(classes)
    if len(values) != len(names) or not len(names):
        raise ValueError(f"{len(values)} features but {len(names)} names; give one name each")
    labels = sorted(set(classes.tolist()))
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for k, (ax, column, name) in enumerate(zip(axes, values, names)):
        column = np.asarray(column, dtype=float)
        if len(column) != len(classes):
            raise ValueError(f"{name}: {len(column)} values for {len(classes)} classes")
        boxes = ax.boxplot([column[classes == c] for c in labels], patch_artist=True,
                           medianprops=dict(color="black"), flierprops=dict(markersize=2))
        for patch, c in zip(boxes["boxes"], labels):
            patch.set_facecolor(_PRICE_COLORS[c % len(_PRICE_COLORS)])
            patch.set_alpha(0.6)
        ax.set_xticks(range(1, len(labels) + 1), [str(c) for c in labels])
        unit = f" ({units[k]})" if units and units[k] else ""
        ax.set(xlabel="price class", title=f"{name}{unit}")
        ax.title.set_fontsize("medium")
    return fig


# --- Chapter 9: handwritten digits ---
__all__ += ["confusion_over_training"]

_WRONG_SHOWN = 8  # misclassified digits drawn beside the matrix (2 rows of 4)


def _confusion_build(figsize, dpi):
    fig = Figure(figsize=figsize, dpi=dpi)
    ax = fig.add_axes((0.07, 0.13, 0.42, 0.72))
    image = ax.imshow(np.zeros((10, 10)), cmap="Blues", vmin=0, vmax=1, zorder=1)
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted digit", ylabel="true digit")
    ax.tick_params(labelsize="small")
    _frame_below(ax)
    counts = [[ax.text(j, i, "", ha="center", va="center", fontsize=7, zorder=2)
               for j in range(10)] for i in range(10)]
    cells, pictures, labels = [], [], []
    for k in range(_WRONG_SHOWN):
        cell = fig.add_axes((0.56 + 0.11 * (k % 4), 0.47 - 0.38 * (k // 4), 0.09, 0.27))
        cell.set_axis_off()
        pictures.append(cell.imshow(np.zeros((8, 8)), cmap="gray_r", vmin=0, vmax=1, zorder=1))
        labels.append(cell.text(0.5, 1.04, "", transform=cell.transAxes, ha="center",
                                va="bottom", fontsize="small", zorder=2))
        cells.append(cell)
    fig.text(0.78, 0.92, "misclassified: guess (true)", ha="center", fontsize="small")
    title = ax.text(0.28, 0.92, "", transform=fig.transFigure, ha="center", fontsize="medium",
                    zorder=3)
    return dict(fig=fig, image=image, counts=counts, cells=cells, pictures=pictures,
                labels=labels, title=title)


def _confusion_moving(state):
    return [state["image"], *(t for row in state["counts"] for t in row), *state["pictures"],
            *state["labels"], state["title"]]


def _confusion_update(state, epoch=0, records=None):
    if records is None or epoch not in records:
        known = sorted(records) if records else []
        raise ValueError(f"no stored record for epoch {epoch}; the epochs are {known}")
    record = records[epoch]
    matrix = np.asarray(record["matrix"], dtype=float)
    if matrix.shape != (10, 10):
        raise ValueError(f"the confusion matrix must be 10×10, got {matrix.shape}")
    # each row as a share of its true digit's images: the diagonal is the per-digit accuracy
    totals = matrix.sum(axis=1, keepdims=True)
    state["image"].set_data(np.divide(matrix, totals, out=np.zeros_like(matrix),
                                      where=totals > 0))
    for i in range(10):
        for j in range(10):
            count = int(matrix[i, j])
            text = state["counts"][i][j]
            text.set_text(str(count) if count else "")
            text.set_color("white" if i == j and totals[i, 0] and count > 0.5 * totals[i, 0]
                           else ("C3" if i != j else "black"))
    wrong = list(zip(record["wrong_images"], record["wrong_guess"], record["wrong_true"]))
    for k in range(_WRONG_SHOWN):
        if k < len(wrong):
            pixels, guess, true = wrong[k]
            pixels = np.asarray(pixels, dtype=float).reshape(8, 8)
            low, high = pixels.min(), pixels.max()
            state["pictures"][k].set_data((pixels - low) / (high - low) if high > low else
                                          np.zeros((8, 8)))
            state["labels"][k].set_text(f"{guess} ({true})")
        else:
            state["pictures"][k].set_data(np.zeros((8, 8)))
            state["labels"][k].set_text("")
    state["title"].set_text(f"after {epoch} epoch{'' if epoch == 1 else 's'}: validation "
                            f"accuracy {record['accuracy']:.1%}")
    return state["fig"]


def confusion_over_training(epoch=0, *, records, figsize=(8.0, 3.6), dpi=80):
    r"""The validation confusion matrix and the first misclassified digits, after ``epoch`` epochs.

    ``records[epoch]`` holds ``"matrix"`` (10×10 counts: row :math:`i`, column :math:`j` = images
    of true digit :math:`i` predicted as :math:`j`), ``"accuracy"`` (the trace over the total),
    and up to eight misclassified images as ``"wrong_images"`` (64 pixels each),
    ``"wrong_guess"`` and ``"wrong_true"``, measured beforehand (nothing is trained here). Each
    row is coloured by its share of that digit's images, so the diagonal shows the per-digit
    accuracy; off-diagonal counts are printed in red.

    ``confusion_over_training.redraw`` moves a built figure to another epoch in place.
    """
    return _confusion_update(_confusion_build(figsize, dpi), epoch, records)


confusion_over_training.redraw = Redraw(shape=("figsize", "dpi"), build=_confusion_build,
                                        update=_confusion_update, moving=_confusion_moving)
