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
