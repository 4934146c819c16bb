"""Every plotting function at its defaults and at the extremes of the sliders the book gives it."""

import itertools

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from nnbook import plots

# The ranges Chapter 1's sliders cover, and a little beyond.
WEIGHTS = [-3.0, 0.0, 3.0]
BIASES = [-3.0, 3.0]


def image_of(fig):
    (ax, _colorbar) = fig.axes
    (image,) = ax.get_images()
    return ax, np.asarray(image.get_array())


@pytest.mark.parametrize("activation", sorted(plots.ACTIVATIONS))
@pytest.mark.parametrize("w1, w2, b", list(itertools.product(WEIGHTS, WEIGHTS, BIASES)))
def test_neuron_output_map_draws_the_neuron_at_slider_extremes(w1, w2, b, activation):
    fig = plots.neuron_output_map(w1, w2, b, activation, resolution=11)
    assert isinstance(fig, Figure)
    ax, values = image_of(fig)
    # The colours are exactly f(w1·x1 + w2·x2 + b) on the grid (rows follow x2).
    grid = np.linspace(-3, 3, 11)
    z = w1 * grid[None, :] + w2 * grid[:, None] + b
    fn = plots.ACTIVATIONS[activation][0]
    np.testing.assert_allclose(values, fn(torch.from_numpy(z)).numpy(), atol=1e-12)
    boundary = [line for line in ax.get_lines() if line.get_label() == "boundary z = 0"]
    if w1 == w2 == 0:
        assert not boundary and "everywhere" in ax.get_title()
    else:
        (line,) = boundary
        xs, ys = line.get_data()
        # Both ends of the dashed line satisfy z = 0.
        np.testing.assert_allclose(w1 * np.asarray(xs) + w2 * np.asarray(ys) + b, 0, atol=1e-9)


def test_neuron_output_map_title_uses_true_minus_signs():
    ax, _ = image_of(plots.neuron_output_map(-1.5, 3, -1))
    assert ax.get_title() == "z = −1.5·x₁ + 3·x₂ − 1"


@pytest.mark.parametrize("kwargs, message", [
    (dict(activation="softplus"), "unknown activation"),
    (dict(extent=0), "extent"),
    (dict(resolution=1), "resolution"),
])
def test_neuron_output_map_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plots.neuron_output_map(**kwargs)


@pytest.mark.parametrize("sizes", [[1, 1], [3, 4, 2], [784, 128, 128, 128, 10]])
def test_network_diagram_labels_every_layer_and_parameter_count(sizes):
    fig = plots.network_diagram(sizes)
    texts = [t.get_text() for t in fig.axes[0].texts]
    for i in range(len(sizes) - 1):
        assert f"{sizes[i] * sizes[i + 1] + sizes[i + 1]:,}\nparams" in texts
    assert texts.count("⋮") == sum(n > 8 for n in sizes)
    assert any(t.startswith("input") for t in texts) and any(t.startswith("output") for t in texts)


@pytest.mark.parametrize("sizes", [[5], [3, 0], []])
def test_network_diagram_rejects_degenerate_networks(sizes):
    with pytest.raises(ValueError):
        plots.network_diagram(sizes)


# --------------------------------------------------------------------------- relu_network_boundary

def boundary_parts(fig):
    ax, colorbar = fig.axes  # the map and its colour bar
    (image,) = ax.get_images()
    hidden = [line for line in ax.get_lines() if line.get_label() == "hidden unit"]
    return ax, np.asarray(image.get_array()), hidden


def random_net(width, n_out, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(width, 2, generator=g), torch.randn(width, generator=g),
            torch.randn(n_out, width, generator=g), torch.randn(n_out, generator=g))


# The chapter's sliders: 3 to 8 hidden units, from the untrained start to the trained net.
@pytest.mark.parametrize("width", [1, 3, 8])
@pytest.mark.parametrize("n_out", [1, 2])
def test_relu_network_boundary_draws_the_score_and_every_unit_line(width, n_out):
    W, b, V, c = random_net(width, n_out, seed=width)
    fig = plots.relu_network_boundary(W, b, V, c, resolution=11, extent=2.0)
    assert isinstance(fig, Figure)
    ax, colours, hidden = boundary_parts(fig)
    grid = torch.linspace(-2, 2, 11, dtype=torch.float64)
    x2, x1 = torch.meshgrid(grid, grid, indexing="ij")
    xy = torch.stack([x1.reshape(-1), x2.reshape(-1)], dim=1)
    logits = torch.relu(xy @ W.double().T + b.double()) @ V.double().T + c.double()
    score = logits[:, 0] if n_out == 1 else logits[:, 1] - logits[:, 0]
    np.testing.assert_allclose(colours, torch.sigmoid(score).reshape(11, 11).numpy(), atol=1e-12)
    assert len(hidden) == width
    for line, (w1, w2), bias in zip(hidden, W.tolist(), b.tolist()):
        xs, ys = (np.asarray(v) for v in line.get_data())
        np.testing.assert_allclose(w1 * xs + w2 * ys + bias, 0, atol=1e-9)
    assert ax.get_title() == f"{width} hidden units"
    assert fig.axes[1].get_ylabel() == "probability of class 1"  # the colour bar


def test_relu_network_boundary_points_an_arrow_to_each_units_on_side():
    W = torch.tensor([[1.0, 0.0], [0.0, -2.0], [1.0, 1.0]])
    b = torch.tensor([0.5, 0.0, -10.0])  # the third unit's line lies outside the view
    fig = plots.relu_network_boundary(W, b, torch.ones(1, 3), torch.zeros(1), extent=2.0,
                                      colorbar_label="P(inside)")
    texts = fig.axes[0].texts
    arrows = [t for t in texts if t.get_label() != "unit label"]
    labels = [t.get_text() for t in texts if t.get_label() == "unit label"]
    assert len(arrows) == 2 and fig.axes[1].get_ylabel() == "P(inside)"
    assert labels == ["0", "1"]  # each line in view is labelled with its unit's index
    for arrow, (w1, w2), bias in zip(arrows, W.tolist(), b.tolist()):
        (x0, y0), (x1, y1) = arrow.xyann, arrow.xy  # tail on the line, head on the on side
        assert w1 * x0 + w2 * y0 + bias == pytest.approx(0.0)
        assert max(abs(x0), abs(y0)) <= 2.0       # the tail is in view
        assert w1 * x1 + w2 * y1 + bias > 0


def test_relu_network_boundary_labels_a_line_whose_nearest_point_is_off_view():
    # x₁ + x₂ = 3.5: its point nearest the origin, (1.75, 1.75), lies outside [-2, 2]², but the
    # line crosses the corner, so it gets an arrow and a label with its on-share of the points.
    W, b = torch.tensor([[1.0, 1.0]]), torch.tensor([-3.5])
    points = torch.tensor([[1.9, 1.9], [0.0, 0.0], [-1.0, 1.0], [1.0, -1.0]])
    fig = plots.relu_network_boundary(W, b, torch.ones(1, 1), torch.zeros(1), points=points,
                                      labels=torch.tensor([1, 0, 0, 0]))
    texts = fig.axes[0].texts
    (arrow,) = [t for t in texts if t.get_label() != "unit label"]
    assert [t.get_text() for t in texts if t.get_label() == "unit label"] == ["0: on 25%"]
    (x0, y0), (x1, y1) = arrow.xyann, arrow.xy
    assert x0 + y0 - 3.5 == pytest.approx(0.0) and max(abs(x0), abs(y0)) <= 2.0
    assert x1 + y1 - 3.5 > 0


def test_relu_network_boundary_draws_the_boundary_only_where_the_score_changes_sign():
    W, b, V, c = random_net(3, 1, seed=0)
    one_class = plots.relu_network_boundary(W, b, torch.zeros(1, 3), torch.ones(1), title="flat")
    ax = one_class.axes[0]
    assert not ax.collections and ax.get_title() == "flat"  # no contour, no warning
    zero_unit = plots.relu_network_boundary(torch.zeros(2, 2), torch.ones(2), V[:, :2], c)
    assert not boundary_parts(zero_unit)[2]  # units with zero weights have no line


def test_relu_network_boundary_draws_points_with_their_labels():
    W, b, V, c = random_net(4, 2, seed=1)
    points = torch.tensor([[0.0, 0.0], [1.0, -1.0], [-1.5, 1.5]])
    fig = plots.relu_network_boundary(W, b, V, c, points=points, labels=torch.tensor([1, 0, 0]))
    (scatter,) = fig.axes[0].collections[-1:]
    np.testing.assert_allclose(scatter.get_offsets(), points.numpy())
    np.testing.assert_allclose(scatter.get_edgecolors()[:, :3], 0.0)  # outlined in black


@pytest.mark.parametrize("args, message", [
    ((torch.zeros(3, 3), torch.zeros(3), torch.zeros(1, 3), torch.zeros(1)), "hidden_weight"),
    ((torch.zeros(3, 2), torch.zeros(4), torch.zeros(1, 3), torch.zeros(1)), "hidden_bias"),
    ((torch.zeros(3, 2), torch.zeros(3), torch.zeros(3, 3), torch.zeros(3)), "output_weight"),
    ((torch.zeros(3, 2), torch.zeros(3), torch.zeros(2, 3), torch.zeros(1)), "output_bias"),
])
def test_relu_network_boundary_rejects_bad_shapes(args, message):
    with pytest.raises(ValueError, match=message):
        plots.relu_network_boundary(*args)


# --- Shared: training curves (nnbook.train) ---

def test_training_curves_draws_what_the_history_holds():
    import math

    from nnbook.train import History

    full = History(train_loss=[1.0, 0.5, 0.4], val_loss=[1.1, 0.7, 0.8], val_accuracy=[0.5, 0.7, 0.6],
                   train_accuracy=[0.4, 0.8, 0.9], lr=[0.1] * 3, best_epoch=2, stopped_epoch=3)
    fig = plots.training_curves(full, title="run")
    loss_ax, acc_ax = fig.axes
    assert [len(line.get_xdata()) for line in loss_ax.get_lines()] == [3, 3, 2]  # 2 curves + kept
    assert list(acc_ax.get_lines()[1].get_ydata()) == [0.5, 0.7, 0.6]
    regression = History(train_loss=[2.0, 1.0], train_accuracy=[math.nan] * 2)
    fig = plots.training_curves(regression)
    assert not fig.axes[1].axison and "no accuracy" in fig.axes[1].texts[0].get_text()
    empty = plots.training_curves(History())
    assert "no epoch" in empty.axes[0].texts[0].get_text()


# --- Chapter 2: activation functions ---

@pytest.mark.parametrize("activation", sorted(plots.EXPLORER_ACTIVATIONS))
@pytest.mark.parametrize("slope", [0.0, 0.01, 0.3])
def test_activation_explorer_draws_the_function_and_its_derivative(activation, slope):
    fig = plots.activation_explorer(activation, slope, extent=4.0)
    value_ax, slope_ax = fig.axes
    (value_line,) = [l for l in value_ax.get_lines() if l.get_label() == "activation"]
    (slope_line,) = [l for l in slope_ax.get_lines() if l.get_label() == "activation"]
    (reference,) = [l for l in slope_ax.get_lines() if l.get_label() == "leaky ReLU reference"]
    assert reference.get_visible() == (activation != "leaky_relu")
    if activation != "leaky_relu":  # the dashed comparison: leaky ReLU's slope, α then 1
        assert set(np.unique(reference.get_ydata())) == {slope, 1.0} or slope == 1.0
    z = torch.as_tensor(value_line.get_xdata())
    torch_fn = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
                "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, slope),
                "elu": torch.nn.functional.elu, "gelu": torch.nn.functional.gelu,
                "silu": torch.nn.functional.silu}[activation]
    zg = z.clone().requires_grad_(True)
    torch_fn(zg).sum().backward()
    np.testing.assert_allclose(value_line.get_ydata(), torch_fn(z).numpy(), atol=1e-12)
    np.testing.assert_allclose(slope_line.get_ydata(), zg.grad.numpy(), atol=1e-12)
    assert z.min() == -4.0 and z.max() == 4.0


def test_activation_explorer_names_the_slope_and_rejects_unknown_names():
    fig = plots.activation_explorer("leaky_relu", 0.3)
    assert "0.3" in fig.axes[0].get_title()
    assert "0.25" in plots.activation_explorer("sigmoid").axes[1].texts[0].get_text()
    with pytest.raises(ValueError, match="unknown activation"):
        plots.activation_explorer("softplus")
    with pytest.raises(ValueError, match="extent"):
        plots.activation_explorer("relu", extent=0)


NORMS = {"sigmoid": {2: torch.tensor([1e-3, 1e-2, 1e-1]), 4: torch.tensor([1e-6, 1e-5, 1e-4, 1e-3, 1e-1])},
         "relu": {2: torch.tensor([0.5, 0.6, 0.7]), 4: torch.tensor([0.5, 0.5, 0.6, 0.6, 0.7])}}


@pytest.mark.parametrize("depth", [2, 4])
def test_gradient_norms_by_layer_draws_one_line_per_activation_on_fixed_axes(depth):
    fig = plots.gradient_norms_by_layer(NORMS, depth)
    (ax,) = fig.axes
    lines = {l.get_label(): l for l in ax.get_lines()}
    for name in NORMS:
        np.testing.assert_allclose(lines[name].get_ydata(), NORMS[name][depth].numpy())
        np.testing.assert_array_equal(lines[name].get_xdata(), np.arange(1, depth + 2))
    assert ax.get_yscale() == "log" and ax.get_xlim() == (0.5, 5.5)
    assert ax.get_ylim() == pytest.approx((1e-7, 7.0), rel=1e-6)  # min / 10, max · 10
    assert f"{depth} hidden layers" in ax.get_title()


def test_gradient_norms_by_layer_rejects_missing_depths_and_zero_norms():
    with pytest.raises(ValueError, match="depth 3"):
        plots.gradient_norms_by_layer(NORMS, 3)
    with pytest.raises(ValueError, match="positive"):
        plots.gradient_norms_by_layer({"relu": {1: torch.tensor([0.0, 1.0])}}, 1)


@pytest.mark.parametrize("temperature", [0.1, 1.0, 10.0])
def test_softmax_temperature_bars_are_the_softmax_of_the_scaled_logits(temperature):
    logits = torch.tensor([2.0, 1.0, 0.1, -1.0])
    fig = plots.softmax_temperature(logits, temperature)
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    np.testing.assert_allclose(heights, torch.softmax(logits.double() / temperature, 0).numpy())
    assert f"T = {temperature:g}" in fig.axes[0].get_title()


def test_softmax_temperature_rejects_bad_input():
    with pytest.raises(ValueError, match="temperature"):
        plots.softmax_temperature(torch.tensor([1.0, 2.0]), 0.0)
    with pytest.raises(ValueError, match="logits"):
        plots.softmax_temperature(torch.tensor([1.0]))


@pytest.mark.parametrize("plot, controls, fixed", [
    (plots.activation_explorer,
     dict(activation=["sigmoid", "leaky_relu", "gelu", "relu"], negative_slope=[0.01, 0.3]), {}),
    (plots.gradient_norms_by_layer, dict(depth=[2, 4]), {"norms": NORMS}),
    (plots.softmax_temperature, dict(temperature=[0.1, 1.0, 10.0]),
     {"logits": torch.tensor([2.0, 1.0, 0.1, -1.0])}),
], ids=["activation_explorer", "gradient_norms_by_layer", "softmax_temperature"])
def test_chapter_2_figures_moved_in_place_draw_what_a_fresh_call_draws(monkeypatch, plot, controls, fixed):
    from nnbook.widgets import Dropdown, InteractiveFigure, Slider
    from nnbook.widgets.frames import encode_image, rasterize

    monkeypatch.setenv("NNBOOK_FRAME_WORKERS", "1")
    assert plot.redraw is not None
    wired = {name: (Dropdown if isinstance(values[0], str) else Slider)(values)
             for name, values in controls.items()}
    figure = InteractiveFigure(plot, wired, alt="test", fixed=fixed, max_bytes=1e9)
    frames = figure.frames()
    assert len(set(frames)) == len(frames)  # every control changes the picture
    for position, frame in zip(figure.positions(), frames):
        assert frame == encode_image(rasterize(plot(**figure.kwargs_at(position))), "webp", 70)


# --- Chapter 3: parameter initialization ---

import math  # noqa: E402  (this chapter's block keeps its imports to itself)

@pytest.fixture(scope="module")
def probe_stats():
    from nnbook import depth
    return depth.statistics_grid(["normal(0, 1)", "normal(0, 0.01)", "xavier", "kaiming"],
                                 ["tanh", "relu", "sigmoid"], [1, 5, 30], width=16, batch=16,
                                 sample=200)


@pytest.mark.parametrize("initializer", ["normal(0, 1)", "normal(0, 0.01)", "kaiming"])
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("depth", [1, 5, 30])
def test_layer_histograms_draw_the_sampled_values_at_every_extreme(probe_stats, initializer,
                                                                    activation, depth):
    fig = plots.layer_histograms(initializer, activation, depth, statistics=probe_stats)
    stats = probe_stats[initializer, activation, depth]
    shown = plots._shown_layers(depth)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2 * len(shown)
    for ax, layer in zip(visible[:len(shown)], shown):
        (stairs,) = ax.patches
        data = stairs.get_data()
        values, edges = data.values, data.edges
        assert math.isclose(values.sum(), 1.0)            # every sampled entry counted once
        sample = stats["activations"][layer - 1].numpy()
        assert edges[0] <= sample.min() and sample.max() <= edges[-1]
        assert ax.get_title().startswith(f"layer {layer}: std ")
    assert f"{initializer} weights, {activation}, {depth} layers" == fig._suptitle.get_text()


def test_layer_histograms_moved_in_place_equal_a_fresh_figure(probe_stats):
    state = plots.layer_histograms.redraw.build(figsize=(9.0, 4.2), dpi=72)
    plots.layer_histograms.redraw.update(state, "normal(0, 1)", "tanh", 30, probe_stats)
    moved = plots.layer_histograms.redraw.update(state, "kaiming", "relu", 1, probe_stats)
    fresh = plots.layer_histograms("kaiming", "relu", 1, statistics=probe_stats)
    assert [ax.get_visible() for ax in moved.axes] == [ax.get_visible() for ax in fresh.axes]
    for a, b in zip(moved.axes, fresh.axes):
        assert a.get_title() == b.get_title()
        if b.get_visible():  # hidden panels keep their old limits; nobody sees them
            assert a.get_xlim() == b.get_xlim() and a.get_ylim() == b.get_ylim()


def test_std_by_layer_draws_one_line_per_initializer(probe_stats):
    inits = ["normal(0, 1)", "normal(0, 0.01)", "xavier", "kaiming"]
    fig = plots.std_by_layer(probe_stats, activations=["tanh", "relu", "sigmoid"],
                             initializers=inits, depth=30)
    assert len(fig.axes) == 6
    for ax in fig.axes:
        assert ax.get_yscale() == "log" and len(ax.get_lines()) == len(inits)
    (line,) = [l for l in fig.axes[0].get_lines() if l.get_label() == "kaiming"]
    np.testing.assert_allclose(line.get_ydata(), probe_stats["kaiming", "tanh", 30]["activation_std"])


# --- Chapter 4: loss functions ---

@pytest.mark.parametrize("p", [0.001, 0.01, 0.1, 0.5, 0.99, 1.0])
def test_true_class_loss_curves_marks_the_losses_and_gradients_at_p(p):
    fig = plots.true_class_loss_curves(p)
    loss_ax, grad_ax = fig.axes
    dots = [line for line in loss_ax.get_lines() + grad_ax.get_lines() if line.get_marker() == "o"]
    values = [float(np.asarray(line.get_data()[1])[0]) for line in dots]
    # order: BCE loss, MSE loss (left panel), then BCE gradient, MSE gradient (right panel)
    np.testing.assert_allclose(values, [min(-np.log(p), 6.9), (1 - p) ** 2, 1 - p, 2 * p * (1 - p) ** 2])
    assert any(f"p = {p:g}:" in t.get_text() for t in loss_ax.texts)
    # Confidently wrong: BCE's gradient is near 1, MSE's near 0.
    if p <= 0.01:
        assert values[2] > 0.98 and values[3] < 0.02


def test_true_class_loss_curves_rejects_p_outside_0_1():
    with pytest.raises(ValueError, match="p must lie"):
        plots.true_class_loss_curves(0.0)


@pytest.mark.parametrize("delta", [0.25, 1.0, 3.0])
def test_regression_loss_curves_draws_huber_and_smooth_l1_for_delta(delta):
    fig = plots.regression_loss_curves(delta)
    loss_ax, grad_ax = fig.axes
    lines = {line.get_label(): line for line in loss_ax.get_lines()}
    r, huber = (np.asarray(a) for a in lines["Huber δ"].get_data())
    _, smooth = (np.asarray(a) for a in lines["Smooth L1 β = δ"].get_data())
    expected = np.where(np.abs(r) < delta, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta))
    np.testing.assert_allclose(huber, expected, atol=1e-12)
    np.testing.assert_allclose(huber, delta * smooth, atol=1e-12)   # Huber = δ · Smooth L1
    grads = {line.get_label(): np.asarray(line.get_data()[1]) for line in grad_ax.get_lines()
             if line.get_label() == "Huber δ"}
    assert np.abs(grads["Huber δ"]).max() == pytest.approx(delta)   # clipped at δ
    assert any(f"δ = {delta:g}:" in t.get_text() for t in loss_ax.texts)


@pytest.mark.parametrize("kwargs", [dict(delta=0.0), dict(extent=0.0)])
def test_regression_loss_curves_rejects_bad_input(kwargs):
    with pytest.raises(ValueError):
        plots.regression_loss_curves(**kwargs)


@pytest.mark.parametrize("plot, control", [
    (plots.true_class_loss_curves, dict(p=[0.001, 0.01, 0.1, 0.3, 0.5, 0.9, 0.99])),
    (plots.regression_loss_curves, dict(delta=[0.25, 0.5, 1.0, 2.0, 3.0])),
])
def test_chapter_4_frames_moved_in_place_equal_fresh_figures(plot, control, monkeypatch):
    """Frames drawn by moving one figure (and redrawing only what moves) are byte for byte the
    frames of fresh calls, at every value of the chapter's slider."""
    from nnbook.widgets import InteractiveFigure, Slider
    from nnbook.widgets.frames import encode_image, rasterize

    monkeypatch.setenv("NNBOOK_FRAME_WORKERS", "1")
    (name, values), = control.items()
    figure = InteractiveFigure(plot, {name: Slider(values)}, alt="chapter 4", max_bytes=1e9)
    for position, frame in zip(figure.positions(), figure.frames()):
        fresh = rasterize(plot(**figure.kwargs_at(position)))
        assert frame == encode_image(fresh, "webp", 70), figure.kwargs_at(position)


# --- Chapter 5: backpropagation and gradient descent ---

def test_gradient_descent_path_takes_plain_steps():
    path = plots.gradient_descent_path(lambda w: 2 * (w - 2), [-2.0], 0.25, 3)
    # the distance to the minimum, 4, is multiplied by 1 - 2 * 0.25 = 0.5 at every step
    torch.testing.assert_close(path[:, 0], torch.tensor([-2.0, 0.0, 1.0, 1.5], dtype=torch.float64))
    with pytest.raises(ValueError, match="steps"):
        plots.gradient_descent_path(lambda w: w, [1.0], 0.1, -1)


def test_gradient_descent_path_stops_growing_when_it_diverges():
    path = plots.gradient_descent_path(lambda w: w, [1.0], 5.0, 100)   # × (1 - 5) = −4 per step
    assert torch.isfinite(path).all() and path.abs().max() < 1e8


@pytest.mark.parametrize("lr, steps, verdict", [
    (0.02, 1, "creeps towards the minimum"), (0.1, 20, "converges"), (0.5, 1, "converges"),
    (0.8, 20, "oscillates and converges"), (1.0, 5, "oscillates forever"), (1.05, 20, "diverges"),
])
def test_gradient_descent_1d_names_the_regime(lr, steps, verdict):
    fig = plots.gradient_descent_1d(lr, steps)
    ax = fig.axes[0]
    assert any(t.get_text().endswith(f"{verdict})") for t in ax.texts)
    dots = next(line for line in ax.get_lines() if line.get_marker() == "o")
    assert len(dots.get_xdata()) == steps + 1
    assert all(-6 <= x <= 10 for x in dots.get_xdata())      # diverging points stay on the plot


@pytest.mark.parametrize("lr, steps", [(0.01, 1), (0.1, 10), (0.19, 50), (0.21, 50)])
def test_gradient_descent_2d_draws_every_step_and_both_factors(lr, steps):
    ax = plots.gradient_descent_2d(lr, steps).axes[0]
    path = next(line for line in ax.get_lines() if line.get_linestyle() == "-")
    assert len(path.get_xdata()) == steps + 1
    assert any(f"w₂ × {abs(1 - 10 * lr):.2f}" in t.get_text() for t in ax.texts)


def _flows():
    import nnbook.backprop as bp
    torch.manual_seed(0)
    x, y = torch.randn(64, 20), torch.randint(0, 3, (64,))
    return {name: bp.gradient_flow(bp.make_mlp(activations=acts), x, y)
            for name, acts in [("relu, sigmoid", ("relu", "sigmoid")), ("tanh, tanh", ("tanh", "tanh"))]}


def test_gradient_flow_bars_draws_the_norms_of_the_chosen_setting():
    flows = _flows()
    for setting, (signal, weights) in flows.items():
        fig = plots.gradient_flow_bars(flows, setting)
        signal_ax, weight_ax = fig.axes
        np.testing.assert_allclose(signal_ax.get_lines()[0].get_ydata(), [n for _, n in signal])
        low = weight_ax.patches[0].get_y()
        np.testing.assert_allclose([low + p.get_height() for p in weight_ax.patches],
                                   [n for _, n in weights])
        assert any(t.get_text().startswith(setting) for t in signal_ax.texts)
    with pytest.raises(ValueError, match="no gradient flow"):
        plots.gradient_flow_bars(flows, "gelu")
    with pytest.raises(ValueError, match="flows"):
        plots.gradient_flow_bars({}, "relu")


@pytest.mark.parametrize("plot, controls", [
    (plots.gradient_descent_1d, dict(lr=[0.02, 0.8, 1.05], steps=[1, 20])),
    (plots.gradient_descent_2d, dict(lr=[0.01, 0.15, 0.21], steps=[1, 50])),
])
def test_chapter_5_frames_moved_in_place_equal_fresh_figures(plot, controls, monkeypatch):
    from nnbook.widgets import InteractiveFigure, Slider
    from nnbook.widgets.frames import encode_image, rasterize

    monkeypatch.setenv("NNBOOK_FRAME_WORKERS", "1")
    figure = InteractiveFigure(plot, {k: Slider(v) for k, v in controls.items()}, alt="chapter 5",
                               max_bytes=1e9)
    for position, frame in zip(figure.positions(), figure.frames()):
        fresh = rasterize(plot(**figure.kwargs_at(position)))
        assert frame == encode_image(fresh, "webp", 70), figure.kwargs_at(position)


def test_chapter_5_gradient_flow_frames_moved_in_place_equal_fresh_figures(monkeypatch):
    from nnbook.widgets import Dropdown, InteractiveFigure
    from nnbook.widgets.frames import encode_image, rasterize

    monkeypatch.setenv("NNBOOK_FRAME_WORKERS", "1")
    flows = _flows()
    figure = InteractiveFigure(plots.gradient_flow_bars, {"setting": Dropdown(list(flows))},
                               fixed={"flows": flows}, alt="chapter 5", max_bytes=1e9)
    for position, frame in zip(figure.positions(), figure.frames()):
        fresh = rasterize(plots.gradient_flow_bars(**figure.kwargs_at(position)))
        assert frame == encode_image(fresh, "webp", 70), figure.kwargs_at(position)


def test_computational_graph_draws_the_chain_rule_values():
    fig = plots.computational_graph()
    values = fig.graph_values
    assert abs(values["L = d²"][0] - 0.0723) < 1e-4
    assert abs(values["w"][1] - (-0.2115)) < 1e-4 and abs(values["b"][1] - (-0.1058)) < 1e-4
    assert values["x"][1] is None
    w = torch.tensor(0.5, requires_grad=True)
    ((torch.sigmoid(w * 3.0 + 0.2) - 0.0) ** 2).backward()
    other = plots.computational_graph(x=3.0, w=0.5, b=0.2, y=0.0).graph_values
    assert abs(other["w"][1] - w.grad.item()) < 1e-6
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "L = d²" in texts and any(t.startswith("∂L") for t in texts)


# --- Chapter 6: optimizers and learning-rate decay ---

@pytest.mark.parametrize("surface", list(plots.RACE_SURFACES))
@pytest.mark.parametrize("optimizer", plots.RACE_OPTIMIZERS)
@pytest.mark.parametrize("lr_scale, beta", [(0.5, 0.0), (2.0, 0.9)])
def test_optimizer_race_draws_the_trajectory_it_computes(surface, optimizer, lr_scale, beta):
    fig = plots.optimizer_race(surface, optimizer, lr_scale, beta)
    ax, loss_ax = fig.axes
    base = plots.RACE_SURFACES[surface][4]
    path = plots.race_trajectory(surface, optimizer, lr_scale * base[optimizer], beta)
    drawn = [line for line in ax.get_lines() if line.get_color() == "C3"][0]
    np.testing.assert_allclose(np.asarray(drawn.get_xdata()), path[:, 0].numpy())
    np.testing.assert_allclose(np.asarray(drawn.get_ydata()), path[:, 1].numpy())
    title = next(t.get_text() for t in ax.texts if surface in t.get_text())
    assert f"lr = {lr_scale * base[optimizer]:g}" in title
    assert ("diverged" in title) == (len(path) < 101)


def test_race_trajectory_matches_torch_optim_by_hand():
    """Plain SGD on the quadratic: x_t = (1 - lr)^t x_0 and y_t = (1 - 20 lr)^t y_0."""
    path = plots.race_trajectory("ill-conditioned quadratic", "SGD", 0.04, 0.0, steps=10)
    t = torch.arange(11, dtype=torch.float64)
    torch.testing.assert_close(path[:, 0], -4.0 * 0.96**t)
    torch.testing.assert_close(path[:, 1], 1.0 * 0.2**t)


def test_race_trajectory_stops_when_it_diverges_and_rejects_bad_input():
    path = plots.race_trajectory("ill-conditioned quadratic", "SGD", 0.5, 0.0)
    assert len(path) < 101 and torch.isfinite(path).all()
    with pytest.raises(ValueError):
        plots.race_trajectory("ill-conditioned quadratic", "Lion", 0.1)
    with pytest.raises(ValueError):
        plots.race_trajectory("ill-conditioned quadratic", "SGD", 0.1, beta=1.0)


@pytest.mark.parametrize("schedule", plots.SCHEDULES)
@pytest.mark.parametrize("warmup", [0, 10])
def test_lr_schedule_curve_follows_the_closed_forms(schedule, warmup):
    import math

    rates = plots.lr_schedule_curve(schedule, warmup)
    t = torch.arange(100, dtype=torch.float64)
    decay = {"constant": torch.ones(100, dtype=torch.float64), "step": 0.5 ** (t // 20),
             "multi-step": 0.1 ** ((t >= 50).double() + (t >= 75).double()),
             "exponential": 0.96**t, "cosine": (1 + torch.cos(math.pi * t / 100)) / 2}[schedule]
    warm = 0.1 + 0.9 * t.clamp(max=warmup) / warmup if warmup else torch.ones_like(t)
    torch.testing.assert_close(rates, 0.1 * warm * decay.double(), rtol=1e-10, atol=1e-15)
    fig = plots.lr_schedule_explorer(schedule, warmup)
    (line,) = fig.axes[0].get_lines()
    np.testing.assert_allclose(np.asarray(line.get_ydata()), rates.numpy())


def test_lr_schedule_curve_rejects_unknown_schedules():
    with pytest.raises(ValueError):
        plots.lr_schedule_curve("one-cycle")
    with pytest.raises(ValueError):
        plots.lr_schedule_curve("step", warmup=-1)


@pytest.mark.parametrize("plot, controls", [
    (plots.optimizer_race, dict(optimizer=["SGD", "Adam"], lr_scale=[0.5, 2.0])),
    (plots.lr_schedule_explorer, dict(schedule=list(plots.SCHEDULES), warmup=[0, 10])),
])
def test_chapter_6_frames_moved_in_place_equal_fresh_figures(plot, controls, monkeypatch):
    """Frames drawn by moving one figure (and redrawing only what moves) are byte for byte the
    frames of fresh calls."""
    from nnbook.widgets import Dropdown, InteractiveFigure
    from nnbook.widgets.frames import encode_image, rasterize

    monkeypatch.setenv("NNBOOK_FRAME_WORKERS", "1")
    figure = InteractiveFigure(plot, {name: Dropdown(values) for name, values in controls.items()},
                               alt="chapter 6", max_bytes=1e9)
    for position, frame in zip(figure.positions(), figure.frames()):
        fresh = rasterize(plot(**figure.kwargs_at(position)))
        assert frame == encode_image(fresh, "webp", 70), figure.kwargs_at(position)


def test_race_claims_hold_only_at_the_stated_rates():
    def gap(surface, optimizer, beta, lr):
        f, _, minimum, _, _ = plots.RACE_SURFACES[surface]
        path = plots.race_trajectory(surface, optimizer, lr, beta)
        return len(path) - 1, (f(*path[-1]) - f(torch.tensor(minimum[0]),
                                                  torch.tensor(minimum[1]))).item()
    quad = "ill-conditioned quadratic"
    assert 20 * gap(quad, "SGD", 0.9, 0.04)[1] < gap(quad, "SGD", 0.0, 0.04)[1]
    assert 100 * gap(quad, "SGD", 0.0, 0.08)[1] < gap(quad, "SGD", 0.9, 0.04)[1]
    assert gap(quad, "Nesterov", 0.9, 0.08)[0] < 100
    assert gap(quad, "SGD", 0.4026, 0.1336)[1] < 1e-6 * gap(quad, "SGD", 0.0, 2 / 21)[1]
    assert gap("saddle point", "SGD", 0.0, 0.1)[1] < gap("saddle point", "Adam", 0.9, 0.05)[1]


# --- Chapter 7: regularization ---

def _chapter_7_histograms():
    edges = tuple(np.linspace(-6, 6, 61).tolist())
    histograms = {"lr": 0.5, "without batch norm": {}, "with batch norm": {}}
    for epoch in (0, 5, 20):
        for k, name in enumerate(("without batch norm", "with batch norm")):
            counts = np.exp(-0.5 * (np.linspace(-6, 6, 60) / (1 + epoch / 10 + k)) ** 2)
            histograms[name][epoch] = (counts.tolist(), 0.1 * epoch, 1.0 + epoch / 10)
    return histograms, edges


@pytest.mark.parametrize("dropout", [0.0, 0.5])
@pytest.mark.parametrize("weight_decay", [0.0, 3.0])
def test_regularization_curves_draw_the_stored_run_and_mark_its_lowest_validation_loss(
        dropout, weight_decay):
    from nnbook.regularization import load_grid

    runs = load_grid()
    run = runs[(dropout, weight_decay)]
    fig = plots.regularization_curves(dropout, weight_decay, runs=runs)
    loss_ax, acc_ax = fig.axes
    lines = {line.get_label(): line for line in loss_ax.get_lines()}
    np.testing.assert_allclose(lines["training"].get_ydata(), run["train_loss"])
    np.testing.assert_allclose(lines["validation"].get_ydata(), run["val_loss"])
    np.testing.assert_allclose(lines["validation, no regularization"].get_ydata(),
                               runs[(0.0, 0.0)]["val_loss"])
    best = np.argmin(run["val_loss"])
    assert lines["lowest validation loss"].get_xdata()[0] == run["epoch"][best]
    acc = {line.get_label(): line for line in acc_ax.get_lines()}
    np.testing.assert_allclose(acc["this setting"].get_ydata(), run["val_accuracy"])
    assert any(f"p = {dropout:g}, AdamW weight decay λ = {weight_decay:g}" in t.get_text()
               for t in loss_ax.texts)


def test_regularization_curves_reject_a_run_that_was_not_stored():
    from nnbook.regularization import load_grid

    with pytest.raises(ValueError, match="no stored run"):
        plots.regularization_curves(0.3, 0.0, runs=load_grid())


@pytest.mark.parametrize("epoch", [0, 5, 20])
def test_batchnorm_histograms_draw_each_panel_scaled_to_its_peak(epoch):
    histograms, edges = _chapter_7_histograms()
    fig = plots.batchnorm_histograms(epoch, histograms=histograms, edges=edges)
    for ax, name in zip(fig.axes, ("without batch norm", "with batch norm")):
        (steps,) = [p for p in ax.patches if hasattr(p, "get_data")]
        values = np.asarray(steps.get_data().values)
        counts = np.asarray(histograms[name][epoch][0])
        np.testing.assert_allclose(values, counts / counts.max())
        assert any(f"std {histograms[name][epoch][2]:.2f}" in t.get_text() for t in ax.texts)


def test_batchnorm_histograms_reject_an_epoch_that_was_not_recorded():
    histograms, edges = _chapter_7_histograms()
    with pytest.raises(ValueError, match="no stored histogram"):
        plots.batchnorm_histograms(3, histograms=histograms, edges=edges)


def test_chapter_7_frames_moved_in_place_equal_fresh_figures(monkeypatch):
    """Frames drawn by moving one figure (and redrawing only what moves) are byte for byte the
    frames of fresh calls, at every value of the chapter's sliders."""
    from nnbook.regularization import load_grid
    from nnbook.widgets import InteractiveFigure, Slider
    from nnbook.widgets.frames import encode_image, rasterize

    monkeypatch.setenv("NNBOOK_FRAME_WORKERS", "1")
    histograms, edges = _chapter_7_histograms()
    figures = [
        (plots.regularization_curves, dict(dropout=Slider([0.0, 0.2, 0.5]),
                                           weight_decay=Slider([0.0, 0.3, 1.0, 3.0])),
         {"runs": load_grid()}),
        (plots.batchnorm_histograms, dict(epoch=Slider([0, 5, 20])),
         {"histograms": histograms, "edges": edges}),
    ]
    for plot, controls, fixed in figures:
        figure = InteractiveFigure(plot, controls, alt="chapter 7", fixed=fixed, max_bytes=1e9)
        for position, frame in zip(figure.positions(), figure.frames()):
            fresh = rasterize(plot(**figure.kwargs_at(position)))
            assert frame == encode_image(fresh, "webp", 70), figure.kwargs_at(position)


# --- Chapter 8: tabular classification, phone prices ---

def _phone_snapshots():
    """Two made-up snapshots in the shape nnbook.tabular.train_phones records (cheap to build)."""
    g = torch.Generator().manual_seed(8)
    snapshots = {}
    for epoch in (0, 50):
        confusion = torch.randint(0, 120, (4, 4), generator=g)
        regions = torch.randint(0, 4, (41, 41), generator=g)
        snapshots[epoch] = dict(confusion=confusion.tolist(), regions=regions.tolist())
    points = ([256.0, 2000.0, 3998.0], [501.0, 1200.0, 1998.0], [0, 2, 3])
    return snapshots, points


@pytest.mark.parametrize("epoch", [0, 50])
def test_phone_training_snapshot_draws_the_matrix_its_accuracy_and_the_regions(epoch):
    snapshots, points = _phone_snapshots()
    fig = plots.phone_training_snapshot(epoch, snapshots=snapshots, points=points)
    conf_ax, region_ax = fig.axes
    confusion = np.asarray(snapshots[epoch]["confusion"])
    np.testing.assert_array_equal(conf_ax.images[0].get_array(), confusion)
    shown = [int(t.get_text()) for t in conf_ax.texts if t.get_text().isdigit()]
    assert sorted(shown) == sorted(confusion.flatten().tolist())
    accuracy = np.trace(confusion) / confusion.sum()
    assert any(f"epoch {epoch}: accuracy {accuracy:.1%}" in t.get_text() for t in conf_ax.texts)
    np.testing.assert_array_equal(region_ax.images[0].get_array(),
                                  np.asarray(snapshots[epoch]["regions"]))
    assert sum(len(c.get_offsets()) for c in region_ax.collections) == 3


def test_phone_training_snapshot_handles_an_all_zero_matrix_and_rejects_unknown_epochs():
    snapshots, points = _phone_snapshots()
    snapshots[0]["confusion"] = [[0] * 4 for _ in range(4)]
    fig = plots.phone_training_snapshot(0, snapshots=snapshots, points=points)
    assert any("accuracy 0.0%" in t.get_text() for t in fig.axes[0].texts)
    with pytest.raises(ValueError, match="no snapshot for epoch 7"):
        plots.phone_training_snapshot(7, snapshots=snapshots, points=points)


def test_phone_training_snapshot_frames_moved_in_place_equal_fresh_figures(monkeypatch):
    from nnbook.widgets import InteractiveFigure, Slider
    from nnbook.widgets.frames import encode_image, rasterize

    monkeypatch.setenv("NNBOOK_FRAME_WORKERS", "1")
    snapshots, points = _phone_snapshots()
    figure = InteractiveFigure(plots.phone_training_snapshot, dict(epoch=Slider([0, 50])),
                               alt="chapter 8", fixed={"snapshots": snapshots, "points": points},
                               max_bytes=1e9)
    for position, frame in zip(figure.positions(), figure.frames()):
        fresh = rasterize(plots.phone_training_snapshot(**figure.kwargs_at(position)))
        assert frame == encode_image(fresh, "webp", 70), figure.kwargs_at(position)


def test_features_by_class_draws_one_box_per_class_at_the_class_medians():
    classes = np.repeat([0, 1, 2, 3], 5)
    ram = np.arange(20.0)
    flat = np.ones(20)
    fig = plots.features_by_class([ram, flat], classes, ["ram", "talk_time"], units=["MB", None])
    ram_ax, flat_ax = fig.axes
    medians = [line.get_ydata()[0] for line in ram_ax.lines[4::6]]  # whiskers, caps, median, fliers
    assert len(ram_ax.patches) == len(flat_ax.patches) == 4
    assert ram_ax.get_title() == "ram (MB)" and flat_ax.get_title() == "talk_time"
    assert sorted(medians) == medians  # the boxes climb with the class


def test_features_by_class_handles_one_class_and_rejects_mismatched_inputs():
    fig = plots.features_by_class([[1.0, 2.0, 3.0]], [2, 2, 2], ["x"])
    assert len(fig.axes[0].patches) == 1
    with pytest.raises(ValueError, match="one name each"):
        plots.features_by_class([[1.0], [2.0]], [0], ["x"])
    with pytest.raises(ValueError, match="2 values for 3 classes"):
        plots.features_by_class([[1.0, 2.0]], [0, 1, 2], ["x"])


# --- Chapter 9: handwritten digits ---

def _chapter_9_records():
    g = torch.Generator().manual_seed(0)
    records = {}
    for epoch, n_wrong in ((0, 8), (1, 3), (20, 0)):
        matrix = torch.diag(torch.full((10,), 30 - n_wrong))
        matrix[3, 8] += n_wrong
        if epoch == 0:
            matrix[2] = 0  # a digit with no images: its row stays blank
        total = matrix.sum().item()
        records[epoch] = dict(matrix=matrix.tolist(), accuracy=matrix.trace().item() / total,
                              wrong_images=torch.rand(n_wrong, 64, generator=g).tolist(),
                              wrong_guess=[8] * n_wrong, wrong_true=[3] * n_wrong)
    return records


@pytest.mark.parametrize("epoch", [0, 1, 20])
def test_confusion_over_training_draws_the_stored_matrix_and_mistakes(epoch):
    records = _chapter_9_records()
    fig = plots.confusion_over_training(epoch, records=records)
    ax = fig.axes[0]
    matrix = np.array(records[epoch]["matrix"], dtype=float)
    shown = ax.images[0].get_array()
    for i in range(10):
        total = matrix[i].sum()
        np.testing.assert_allclose(shown[i], matrix[i] / total if total else 0 * matrix[i])
    texts = [t.get_text() for t in ax.texts]
    assert f"validation accuracy {records[epoch]['accuracy']:.1%}" in " ".join(texts)
    n_wrong = len(records[epoch]["wrong_guess"])
    labels = [t.get_text() for cell in fig.axes[1:] for t in cell.texts]
    assert labels.count("8 (3)") == n_wrong and labels.count("") == 8 - n_wrong
    counts = {t.get_text() for t in ax.texts}
    assert (str(n_wrong) in counts) == (n_wrong > 0)


def test_confusion_over_training_rejects_an_epoch_that_was_not_recorded():
    with pytest.raises(ValueError, match="no stored record"):
        plots.confusion_over_training(5, records=_chapter_9_records())


def test_chapter_9_frames_moved_in_place_equal_fresh_figures(monkeypatch):
    """Frames drawn by moving one figure are byte for byte those of fresh calls."""
    from nnbook.widgets import InteractiveFigure, Slider
    from nnbook.widgets.frames import encode_image, rasterize

    monkeypatch.setenv("NNBOOK_FRAME_WORKERS", "1")
    records = _chapter_9_records()
    figure = InteractiveFigure(plots.confusion_over_training, dict(epoch=Slider([0, 1, 20])),
                               alt="chapter 9", fixed={"records": records}, max_bytes=1e9)
    for position, frame in zip(figure.positions(), figure.frames()):
        fresh = rasterize(plots.confusion_over_training(**figure.kwargs_at(position)))
        assert frame == encode_image(fresh, "webp", 70), figure.kwargs_at(position)
