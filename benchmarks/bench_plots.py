"""Time every plotting function of nnbook.plots, and the frame grid of an interactive figure.

For each function, at its defaults and at the extremes of the controls the book gives it: the
median time to build the Figure, to draw it (Agg), and to encode the frame (WebP, quality 70),
and the frame's weight as page text (base64 data URI). Then every frame of Chapter 1's grid is
rendered through ``nnbook.widgets`` as the notebook does, with its total time and weight
against the budget. Times are wall-clock medians (a busy machine inflates them; CPU seconds are
printed beside the grid's total for that reason).

    python benchmarks/bench_plots.py
    python benchmarks/bench_plots.py --repeat 9 --skip-grid
"""

import argparse
import inspect
import statistics
import time

import torch

from nnbook import plots
from nnbook.widgets import MAX_FIGURE_BYTES, Dropdown, InteractiveFigure, Slider
from nnbook.widgets.frames import data_uri, encode_image, rasterize

def relu_weights(width, seed=0):
    """Random weights of a 2 -> width -> 2 ReLU network, as plots.relu_network_boundary takes them."""
    g = torch.Generator().manual_seed(seed)
    return dict(hidden_weight=torch.randn(width, 2, generator=g), hidden_bias=torch.randn(width, generator=g),
                output_weight=torch.randn(2, width, generator=g), output_bias=torch.randn(2, generator=g))


_g = torch.Generator().manual_seed(0)
POINTS = torch.rand(256, 2, generator=_g) * 4 - 2
LABELS = (POINTS.norm(dim=1) < 1.2).long()

# Each plotting function at its defaults and at its slider extremes. A new function in
# plots.__all__ without cases here stops the benchmark (see check_every_function_has_cases).
CASES = {
    "neuron_output_map": [
        ("defaults", dict()),
        ("w = (3, 3), b = 2, sigmoid", dict(w1=3, w2=3, b=2)),
        ("w = (-3, 3), b = -2, relu", dict(w1=-3, w2=3, b=-2, activation="relu")),
        ("w = (0, 0): no boundary, tanh", dict(w1=0, w2=0, b=2, activation="tanh")),
        ("identity, resolution 201", dict(w1=3, w2=-3, activation="identity", resolution=201)),
    ],
    "network_diagram": [
        ("[3, 4, 2]", dict(layer_sizes=[3, 4, 2])),
        ("[784, 512, 512, 10]", dict(layer_sizes=[784, 512, 512, 10])),
        ("ten layers of 1000", dict(layer_sizes=[1000] * 10)),
    ],
    "relu_network_boundary": [
        ("3 units, 256 points", dict(relu_weights(3), points=POINTS, labels=LABELS)),
        ("8 units, 256 points", dict(relu_weights(8), points=POINTS, labels=LABELS)),
        ("1 unit, no points", dict(relu_weights(1))),
        ("50 units, resolution 241", dict(relu_weights(50), resolution=241)),
    ],
}

# Chapter 1's interactive figure: all four activations (300 frames) and the two-activation grid
# that fits the 1.5 MB budget (150 frames). Keep in step with chapters/01-neurons-and-layers.ipynb.
WEIGHTS = [-3.0, -1.5, 0.0, 1.5, 3.0]


def neuron_grid(activations):
    return (plots.neuron_output_map, dict(
        w1=Slider(WEIGHTS, default=1.5), w2=Slider(WEIGHTS, default=-1.5),
        b=Slider([-2.0, 0.0, 2.0], default=0.0), activation=Dropdown(activations)))


def boundary_grid():
    """Chapter 1's second figure: 3 widths x 6 epochs (random weights stand in for the trained)."""
    weights = {(w, e): relu_weights(w, seed=e) for w in (3, 4, 8) for e in (0, 10, 25, 50, 100, 200)}

    def boundary_at(width, epoch):
        return plots.relu_network_boundary(**weights[width, epoch], points=POINTS, labels=LABELS)
    return boundary_at, dict(width=Slider([3, 4, 8], default=8),
                             epoch=Slider([0, 10, 25, 50, 100, 200], default=200))


GRIDS = {
    "neuron_output_map 5x5x3x4": neuron_grid(["sigmoid", "tanh", "relu", "identity"]),
    "neuron_output_map 5x5x3x2": neuron_grid(["sigmoid", "relu"]),
    "relu_network_boundary 3x6": boundary_grid(),
}


def check_every_function_has_cases():
    functions = [name for name in plots.__all__ if inspect.isfunction(getattr(plots, name))]
    missing = [name for name in functions if name not in CASES]
    if missing:
        raise SystemExit(f"add benchmark cases for {missing} to CASES in {__file__}")
    return functions


def median_ms(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times), result


def time_case(function, kwargs, repeat):
    """(build ms, draw ms, encode ms, frame bytes, (width, height)) for one call."""
    function(**kwargs)  # warm-up: font cache, first-call imports
    build, figure = median_ms(lambda: function(**kwargs), repeat)
    draw, pixels = median_ms(lambda: rasterize(figure), repeat)
    encode, frame = median_ms(lambda: encode_image(pixels, "webp", 70), repeat)
    return build, draw, encode, len(data_uri(frame, "webp")), (pixels.shape[1], pixels.shape[0])


def print_function_table(functions, repeat):
    print(f"{'function':<22} {'case':<32} {'build':>7} {'draw':>7} {'encode':>7} "
          f"{'total':>7} {'frame':>9} {'pixels':>9}")
    for name in functions:
        for label, kwargs in CASES[name]:
            build, draw, encode, weight, (w, h) = time_case(getattr(plots, name), kwargs, repeat)
            print(f"{name:<22} {label:<32} {build:6.1f}ms {draw:6.1f}ms {encode:6.1f}ms "
                  f"{build + draw + encode:6.1f}ms {weight / 1000:7.1f}kB {w:>4}x{h:<4}")


def print_grid_table():
    print(f"\n{'grid':<32} {'frames':>6} {'wall':>8} {'cpu':>8} {'per frame':>10} {'weight':>9} "
          f"{'budget':>9}")
    for label, (function, controls) in GRIDS.items():
        # No budget here: the point is to see the weight, over budget or not.
        figure = InteractiveFigure(function, controls, alt=label, max_bytes=float("inf"))
        wall, cpu = time.perf_counter(), time.process_time()
        frames = figure.frames()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        weight = sum(len(data_uri(frame, figure.image_format)) for frame in frames)
        verdict = "ok" if weight <= MAX_FIGURE_BYTES else "OVER"
        print(f"{label:<32} {len(frames):>6} {wall:7.1f}s {cpu:7.1f}s {1000 * wall / len(frames):8.0f}ms "
              f"{weight / 1e6:7.2f}MB {verdict:>9}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per case (median)")
    parser.add_argument("--skip-grid", action="store_true", help="skip rendering whole frame grids")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    functions = check_every_function_has_cases()
    print_function_table(functions, args.repeat)
    if not args.skip_grid:
        print_grid_table()


# --- Chapter 2: activation functions ---
# (placed just above the __main__ guard, so that main() sees these entries)

from nnbook import probes  # noqa: E402

CH2_LOGITS = torch.tensor([2.0, 1.0, 0.1, -1.0])
CH2_DEPTHS = [2, 5, 10, 20, 30]


def ch2_norms():
    """Chapter 2's precomputed gradient norms: 3 activations x 5 depths."""
    return {a: {d: probes.layer_gradient_norms(a, d) for d in CH2_DEPTHS} for a in probes.ACTIVATION_MODULES}


CH2_NORMS = ch2_norms()
CASES.update({
    "activation_explorer": [
        ("defaults (relu)", dict()),
        ("sigmoid", dict(activation="sigmoid")),
        ("leaky_relu, slope 0.3", dict(activation="leaky_relu", negative_slope=0.3)),
        ("gelu (derivative by autograd)", dict(activation="gelu")),
    ],
    "gradient_norms_by_layer": [
        ("depth 2", dict(norms=CH2_NORMS, depth=2)),
        ("depth 30", dict(norms=CH2_NORMS, depth=30)),
    ],
    "softmax_temperature": [
        ("T = 1", dict(logits=CH2_LOGITS)),
        ("T = 0.1", dict(logits=CH2_LOGITS, temperature=0.1)),
        ("T = 10", dict(logits=CH2_LOGITS, temperature=10.0)),
    ],
})
# Keep in step with chapters/02-activation-functions.ipynb.
GRIDS.update({
    "activation_explorer 7x4": (plots.activation_explorer, dict(
        activation=Dropdown(list(plots.EXPLORER_ACTIVATIONS), default="relu"),
        negative_slope=Slider([0.01, 0.05, 0.1, 0.3], default=0.01))),
    "gradient_norms_by_layer 5": (lambda depth: plots.gradient_norms_by_layer(CH2_NORMS, depth),
                                  dict(depth=Slider(CH2_DEPTHS, default=20))),
    "softmax_temperature 7": (lambda temperature: plots.softmax_temperature(CH2_LOGITS, temperature),
                              dict(temperature=Slider([0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0], default=1.0))),
})


# --- Chapter 3: parameter initialization ---
# Keep in step with chapters/03-parameter-initialization.ipynb: 4 initializers x 3 activations x
# 3 depths = 36 frames of layer_histograms; std_by_layer is a still figure (one frame).
from nnbook import depth as _depth  # noqa: E402

_CH3_INITIALIZERS = ["normal(0, 1)", "normal(0, 0.01)", "xavier", "kaiming"]
_CH3_ACTIVATIONS = ["tanh", "relu", "sigmoid"]
_CH3_STATS = _depth.statistics_grid(_CH3_INITIALIZERS + ["pytorch default"], _CH3_ACTIVATIONS,
                                    [5, 10, 30])
CASES["layer_histograms"] = [
    ("defaults: kaiming, relu, 30 layers", dict(initializer="kaiming", activation="relu", depth=30,
                                                statistics=_CH3_STATS)),
    ("normal(0, 1), tanh, 30 (saturated)", dict(initializer="normal(0, 1)", activation="tanh",
                                                depth=30, statistics=_CH3_STATS)),
    ("normal(0, 0.01), sigmoid, 5", dict(initializer="normal(0, 0.01)", activation="sigmoid",
                                         depth=5, statistics=_CH3_STATS)),
]
CASES["std_by_layer"] = [
    ("5 initializers x 3 activations, 30 layers",
     dict(statistics=_CH3_STATS, activations=_CH3_ACTIVATIONS,
          initializers=_CH3_INITIALIZERS + ["pytorch default"], depth=30)),
]


def _ch3_histogram_grid():
    def histograms(initializer, activation, depth):
        return plots.layer_histograms(initializer, activation, depth, statistics=_CH3_STATS)
    histograms.redraw = plots.Redraw(  # the chapter passes the statistics as a fixed argument
        shape=(), build=lambda: plots.layer_histograms.redraw.build((9.0, 4.2), 72),
        update=lambda state, **values: plots.layer_histograms.redraw.update(
            state, statistics=_CH3_STATS, **values))
    return histograms, dict(initializer=Dropdown(_CH3_INITIALIZERS, default="kaiming"),
                            activation=Dropdown(_CH3_ACTIVATIONS, default="relu"),
                            depth=Slider([5, 10, 30], default=30))


GRIDS["layer_histograms 4x3x3"] = _ch3_histogram_grid()


# --- Chapter 4: loss functions ---
CASES["true_class_loss_curves"] = [
    ("p = 0.1 (default)", dict()),
    ("p = 0.001: confidently wrong", dict(p=0.001)),
    ("p = 1", dict(p=1.0)),
]
CASES["regression_loss_curves"] = [
    ("delta = 1 (default)", dict()),
    ("delta = 0.25", dict(delta=0.25)),
    ("delta = 3", dict(delta=3.0)),
]
# Chapter 4's two interactive figures; keep in step with chapters/04-loss-functions.ipynb.
GRIDS["true_class_loss_curves 7"] = (plots.true_class_loss_curves, dict(
    p=Slider([0.001, 0.01, 0.1, 0.3, 0.5, 0.9, 0.99], default=0.1)))
GRIDS["regression_loss_curves 5"] = (plots.regression_loss_curves, dict(
    delta=Slider([0.25, 0.5, 1.0, 2.0, 3.0], default=2.0)))


# --- Chapter 5: backpropagation and gradient descent ---
CASES["gradient_descent_1d"] = [
    ("lr = 0.1, 10 steps (default)", dict()),
    ("lr = 1.05, 20 steps: diverging", dict(lr=1.05, steps=20)),
]
CASES["gradient_descent_2d"] = [
    ("lr = 0.1, 10 steps (default)", dict()),
    ("lr = 0.21, 50 steps: diverging", dict(lr=0.21, steps=50)),
]
# Chapter 5's gradient-descent figures; keep in step with chapters/05-backpropagation.ipynb.
GRIDS["gradient_descent_1d 7x5"] = (plots.gradient_descent_1d, dict(
    lr=Slider([0.02, 0.1, 0.3, 0.5, 0.8, 1.0, 1.05], default=0.1),
    steps=Slider([1, 2, 5, 10, 20], default=10)))
GRIDS["gradient_descent_2d 6x5"] = (plots.gradient_descent_2d, dict(
    lr=Slider([0.01, 0.05, 0.1, 0.15, 0.19, 0.21], default=0.05),
    steps=Slider([1, 5, 10, 20, 50], default=20)))
CASES["computational_graph"] = [
    ("the chapter's neuron (static)", dict()),
]


# --- Chapter 6: optimizers and learning-rate decay ---
CASES["optimizer_race"] = [
    ("quadratic, Adam (default)", dict()),
    ("Rosenbrock, SGD, lr x 2, momentum 0.9", dict(surface="Rosenbrock valley", optimizer="SGD",
                                                   lr_scale=2.0)),
    ("saddle, Nesterov, lr x 2 (diverges)", dict(surface="saddle point", optimizer="Nesterov",
                                                 lr_scale=2.0)),
]
CASES["lr_schedule_explorer"] = [
    ("cosine (default)", dict()),
    ("multi-step after a 10-epoch warm-up", dict(schedule="multi-step", warmup=10)),
]
# Chapter 6's two interactive figures; keep in step with chapters/06-optimizers.ipynb.
GRIDS["optimizer_race 3x4x3x2"] = (plots.optimizer_race, dict(
    surface=Dropdown(list(plots.RACE_SURFACES), default="ill-conditioned quadratic"),
    optimizer=Dropdown(list(plots.RACE_OPTIMIZERS), default="SGD"),
    lr_scale=Slider([0.5, 1.0, 2.0], default=1.0), beta=Slider([0.0, 0.9], default=0.9)))
GRIDS["lr_schedule_explorer 5x3"] = (plots.lr_schedule_explorer, dict(
    schedule=Dropdown(list(plots.SCHEDULES), default="cosine"),
    warmup=Slider([0, 5, 10], default=0)))


# --- Chapter 7: regularization ---
def _chapter_7_histograms():
    import numpy as np
    edges = tuple(np.linspace(-6, 6, 61).tolist())
    centres = np.linspace(-6, 6, 60)
    histograms = {"lr": 0.5, "without batch norm": {}, "with batch norm": {}}
    for epoch in (0, 1, 2, 5, 10, 20):
        for k, name in enumerate(("without batch norm", "with batch norm")):
            counts = (5000 * np.exp(-0.5 * (centres / (0.2 + epoch / 20 + k)) ** 2)).round()
            histograms[name][epoch] = (counts.tolist(), 0.0, 0.2 + epoch / 20 + k)
    return histograms, edges


def _chapter_7_runs():
    from nnbook.regularization import load_grid
    return load_grid()


CASES["regularization_curves"] = [
    ("no regularization (default)", dict(runs=_chapter_7_runs())),
    ("dropout 0.5, weight decay 3", dict(dropout=0.5, weight_decay=3.0, runs=_chapter_7_runs())),
]
CASES["batchnorm_histograms"] = [
    ("epoch 0 (default)", dict(histograms=_chapter_7_histograms()[0], edges=_chapter_7_histograms()[1])),
    ("epoch 20", dict(epoch=20, histograms=_chapter_7_histograms()[0], edges=_chapter_7_histograms()[1])),
]


_CH7_RUNS = _chapter_7_runs()
_CH7_HISTOGRAMS, _CH7_EDGES = _chapter_7_histograms()


def _ch7_curves(dropout=0.0, weight_decay=0.0):
    """regularization_curves with the stored runs bound, as the chapter's `fixed` binds them."""
    return plots.regularization_curves(dropout, weight_decay, runs=_CH7_RUNS)


_ch7_curves.redraw = plots.Redraw(
    shape=(), build=lambda: plots.regularization_curves.redraw.build((8.0, 3.4), 80, 200),
    update=lambda state, dropout=0.0, weight_decay=0.0: plots.regularization_curves.redraw.update(
        state, dropout, weight_decay, runs=_CH7_RUNS),
    moving=plots.regularization_curves.redraw.moving)


def _ch7_histograms(epoch=0):
    return plots.batchnorm_histograms(epoch, histograms=_CH7_HISTOGRAMS, edges=_CH7_EDGES)


_ch7_histograms.redraw = plots.Redraw(
    shape=(), build=lambda: plots.batchnorm_histograms.redraw.build(_CH7_EDGES, (8.0, 3.2), 80),
    update=lambda state, epoch=0: plots.batchnorm_histograms.redraw.update(
        state, epoch, histograms=_CH7_HISTOGRAMS),
    moving=plots.batchnorm_histograms.redraw.moving)

# Chapter 7's two interactive figures; keep in step with chapters/07-regularization.ipynb.
GRIDS["regularization_curves 3x4"] = (_ch7_curves, dict(
    dropout=Slider([0.0, 0.2, 0.5], default=0.0),
    weight_decay=Slider([0.0, 0.001, 0.01, 0.03], default=0.01)))
GRIDS["batchnorm_histograms 6"] = (_ch7_histograms, dict(
    epoch=Slider([0, 1, 2, 5, 10, 20], default=5)))


# --- Chapter 8: tabular classification, phone prices ---
# The chapter's snapshots come from training (nnbook.tabular.train_phones, a few seconds); the
# benchmark times the drawing only, on made-up snapshots of the same shape.
_CH8_GEN = torch.Generator().manual_seed(8)
_CH8_EPOCHS = (0, 1, 2, 3, 5, 10, 20, 50)
_CH8_SNAPSHOTS = {e: dict(confusion=torch.randint(0, 120, (4, 4), generator=_CH8_GEN).tolist(),
                          regions=torch.randint(0, 4, (41, 41), generator=_CH8_GEN).tolist())
                  for e in _CH8_EPOCHS}
_CH8_POINTS = ((torch.rand(400, generator=_CH8_GEN) * 3742 + 256).tolist(),
               (torch.rand(400, generator=_CH8_GEN) * 1497 + 501).tolist(),
               torch.randint(0, 4, (400,), generator=_CH8_GEN).tolist())


def _ch8_snapshot(epoch=50):
    return plots.phone_training_snapshot(epoch, snapshots=_CH8_SNAPSHOTS, points=_CH8_POINTS)


_ch8_snapshot.redraw = plots.Redraw(
    shape=(), build=lambda: plots.phone_training_snapshot.redraw.build(
        _CH8_POINTS, (256, 3998, 501, 1998), (8.4, 3.6), 80),
    update=lambda state, epoch=50: plots.phone_training_snapshot.redraw.update(
        state, epoch, snapshots=_CH8_SNAPSHOTS),
    moving=plots.phone_training_snapshot.redraw.moving)

CASES["phone_training_snapshot"] = [
    ("epoch 0", dict(epoch=0, snapshots=_CH8_SNAPSHOTS, points=_CH8_POINTS)),
    ("epoch 50 (default)", dict(epoch=50, snapshots=_CH8_SNAPSHOTS, points=_CH8_POINTS)),
]

_CH8_TABLE = [(torch.rand(2000, generator=_CH8_GEN) * 3742 + 256).tolist(),
              (torch.rand(2000, generator=_CH8_GEN) * 1497 + 501).tolist(),
              (torch.rand(2000, generator=_CH8_GEN) * 18 + 2).tolist()]
CASES["features_by_class"] = [
    ("the chapter's three features, 2,000 rows", dict(
        values=_CH8_TABLE, classes=torch.randint(0, 4, (2000,), generator=_CH8_GEN).tolist(),
        names=["ram", "battery_power", "talk_time"], units=["MB", "mAh", "h"])),
]

# Chapter 8's interactive figure; keep in step with chapters/08-phone-prices.ipynb.
GRIDS["phone_training_snapshot 8"] = (_ch8_snapshot, dict(
    epoch=Slider(list(_CH8_EPOCHS), default=50)))


# --- Chapter 9: handwritten digits ---
def _chapter_9_records():
    from nnbook.digits import RECORDED_EPOCHS, training_records
    return training_records(epochs=RECORDED_EPOCHS)


_CH9_RECORDS = _chapter_9_records()
CASES["confusion_over_training"] = [
    ("epoch 0 (untrained)", dict(epoch=0, records=_CH9_RECORDS)),
    ("epoch 3 (default)", dict(epoch=3, records=_CH9_RECORDS)),
    ("epoch 20", dict(epoch=20, records=_CH9_RECORDS)),
]


def _ch9_confusion(epoch=3):
    return plots.confusion_over_training(epoch, records=_CH9_RECORDS)


_ch9_confusion.redraw = plots.Redraw(
    shape=(), build=lambda: plots.confusion_over_training.redraw.build((8.0, 3.6), 80),
    update=lambda state, epoch=3: plots.confusion_over_training.redraw.update(
        state, epoch, records=_CH9_RECORDS),
    moving=plots.confusion_over_training.redraw.moving)

# Chapter 9's interactive figure; keep in step with chapters/09-handwritten-digits.ipynb.
GRIDS["confusion_over_training 7"] = (_ch9_confusion, dict(
    epoch=Slider(list(_CH9_RECORDS), default=3)))


if __name__ == "__main__":
    main()
