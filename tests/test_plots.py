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
