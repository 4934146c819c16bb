"""nnbook.widgets: one plotting function, a grid of control values, a live and a static display.

Most tests use ``swatch``, a plotting function whose frame is one flat colour set by its
arguments: decoding a frame then says exactly which arguments drew it, so the order of the grid
is checked pixel by pixel and in milliseconds. ``neuron_output_map`` is used where the real
function matters (a frame equals a direct render).
"""

import base64
import configparser
import io
import json
import re
import sys
import types
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import numpy as np
import pytest
from matplotlib.figure import Figure
from nbclient import NotebookClient
from PIL import Image

from nnbook import plots
from nnbook.widgets import (Dropdown, FrameBudgetError, InteractiveFigure, Slider,
                            interactive_figure, live)
from nnbook.widgets.frames import rasterize
from nnbook.widgets.static import flat_index

ROOT = Path(__file__).resolve().parents[1]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def swatch(red=0.0, green=0.0, blue="off", *, pixels=6):
    """A ``pixels``-square figure of one colour: (red, green, 1 if blue == "on" else 0)."""
    fig = Figure(figsize=(pixels / 10, pixels / 10), dpi=10)
    fig.patch.set_facecolor((red, green, 1.0 if blue == "on" else 0.0))
    return fig


def swatch_figure(**overrides):
    controls = dict(red=Slider([0.0, 0.4, 1.0], default=0.4, label="red"),
                    green=Slider([0.0, 1.0], default=0.0, label="green"),
                    blue=Dropdown(["off", "on"], default="on", label="blue light"))
    options = dict(alt="A square of one colour", image_format="png")
    options.update(overrides)
    return interactive_figure(swatch, **options, **controls)


def decode(frame: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(frame)).convert("RGB"))


def decode_uri(uri: str) -> np.ndarray:
    return decode(base64.b64decode(uri.split(",", 1)[1]))


def colour_of(frame: bytes):
    return tuple(int(c) for c in decode(frame)[2, 2])


def expected_colour(red, green, blue):
    return (round(red * 255), round(green * 255), 255 if blue == "on" else 0)


# --------------------------------------------------------------------------- controls

def test_slider_keeps_its_grid_labels_and_default():
    slider = Slider([-3, -1.5, 0, 1.5, 3], default=1.5, label="weight w₁")
    assert slider.values == (-3, -1.5, 0, 1.5, 3)
    assert slider.labels == ("−3", "−1.5", "0", "1.5", "3")  # true minus signs
    assert (slider.default, slider.default_index, slider.label) == (1.5, 3, "weight w₁")


def test_slider_and_dropdown_defaults_when_none_is_given():
    assert Slider([1, 2, 3, 4]).default == 3  # the middle value
    assert Dropdown(["sigmoid", "tanh"]).default == "sigmoid"


def test_slider_range_includes_stop_and_rounds_away_float_drift():
    assert Slider.range(-3, 3, 1.5).values == (-3.0, -1.5, 0.0, 1.5, 3.0)
    assert Slider.range(0, 1, 0.1).values[-1] == 1.0
    assert Slider.range(0, 1, 0.3).values == (0.0, 0.3, 0.6, 0.9)


@pytest.mark.parametrize("make, message", [
    (lambda: Slider([0, 1, 2], default=5), "default 5 is not one of"),
    (lambda: Slider([0, 2, 1]), "strictly increasing"),
    (lambda: Slider([1, 1, 2]), "strictly increasing"),
    (lambda: Slider([1]), "at least 2 values"),
    (lambda: Slider([0, float("nan")]), "finite numbers"),
    (lambda: Slider([False, True]), "finite numbers"),
    (lambda: Slider(["a", "b"]), "finite numbers"),
    (lambda: Slider([0.1, 0.1000001]), "distinct"),
    (lambda: Slider([0, 1], label=""), "label"),
    (lambda: Slider.range(0, 1, 0), "step must be positive"),
    (lambda: Slider.range(1, 0, 0.5), "stop must be larger"),
    (lambda: Dropdown(["relu", "tanh"], default="gelu"), "default 'gelu' is not one of"),
    (lambda: Dropdown(["relu", "relu"]), "distinct"),
])
def test_controls_reject_bad_input(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# --------------------------------------------------------------------------- bad figures

def broken(red=0.0):
    raise ZeroDivisionError("no colour")


def not_a_figure(red=0.0):
    return "a picture"


def grows(red=0.0):
    return swatch(red, pixels=4 if red == 0 else 8)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(plot=swatch, colour=Slider([0, 1])), TypeError, "does not take these arguments"),
    (dict(plot=swatch, red=[0, 1]), TypeError, "must be a Slider or a Dropdown"),
    (dict(plot=swatch, red=Slider([0, 1]), fixed={"red": 1}), ValueError, "both as a control and in fixed"),
    (dict(plot=swatch), ValueError, "at least one control"),
    (dict(plot=swatch, red=Slider([0, 1]), alt=" "), ValueError, "alt must describe"),
    (dict(plot=swatch, red=Slider([0, 1]), image_format="gif"), ValueError, "image_format"),
    (dict(plot=swatch, red=Slider([0, 1]), image_format="webp", quality=0), ValueError, "quality"),
    (dict(plot=swatch, red=Slider([0, 1]), max_bytes=0), ValueError, "max_bytes"),
    (dict(plot="swatch", red=Slider([0, 1])), TypeError, "plotting function"),
    (dict(plot=broken, red=Slider([0, 1])), RuntimeError, r"broken\(red=1\) failed: no colour"),
    (dict(plot=not_a_figure, red=Slider([0, 1])), TypeError, "must return a matplotlib Figure"),
    (dict(plot=grows, red=Slider([0, 1], default=0)), ValueError, "frames must all have one size"),
])
def test_interactive_figure_rejects_bad_input_clearly(kwargs, error, message):
    kwargs.setdefault("alt", "a test figure")
    with pytest.raises(error, match=message):
        interactive_figure(kwargs.pop("plot"), **kwargs)


def test_alt_text_is_required():
    with pytest.raises(TypeError, match="alt"):
        interactive_figure(swatch, red=Slider([0, 1]))


# --------------------------------------------------------------------------- the frame grid

def test_frame_grid_is_complete_and_in_c_order():
    figure = swatch_figure()
    frames = figure.frames()
    assert len(frames) == len(figure) == 3 * 2 * 2
    i = 0
    for red in (0.0, 0.4, 1.0):          # the first control varies slowest ...
        for green in (0.0, 1.0):
            for blue in ("off", "on"):   # ... the last fastest
                assert colour_of(frames[i]) == expected_colour(red, green, blue), (red, green, blue)
                i += 1


@pytest.mark.parametrize("position", [(3, 0, 0), (0, -1, 0), (0, 0)])
def test_a_position_off_the_grid_is_an_error(position):
    with pytest.raises(IndexError, match="grid position"):
        swatch_figure().frame(position)


def test_fixed_arguments_reach_every_frame():
    figure = interactive_figure(swatch, red=Slider([0, 1]), fixed={"pixels": 9}, alt="square",
                                image_format="png")
    assert figure.size == (9, 9)
    assert all(decode(frame).shape == (9, 9, 3) for frame in figure.frames())


def test_a_frame_is_what_the_plotting_function_draws():
    figure = interactive_figure(
        plots.neuron_output_map, w1=Slider([-1.5, 1.5]), activation=Dropdown(["sigmoid", "relu"]),
        fixed={"w2": 1.0, "b": 0.5}, alt="neuron", image_format="webp", quality=90)
    frames = [decode(f).astype(float) for f in figure.frames()]
    direct = rasterize(plots.neuron_output_map(1.5, 1.0, 0.5, "relu"))[..., :3].astype(float)
    assert frames[3].shape == direct.shape
    error = np.abs(frames[3] - direct).mean()
    # Lossy WebP stays within a few grey levels of the direct render; any other frame is far off.
    assert error < 3, error
    assert all(np.abs(other - direct).mean() > 5 * error + 3 for other in frames[:3])


def test_frames_are_rendered_once_and_reused():
    calls = []

    def counting(red=0.0):
        calls.append(red)
        return swatch(red)

    figure = interactive_figure(counting, red=Slider([0, 0.5, 1]), alt="square", image_format="png")
    assert sorted(calls) == [0, 0.5, 1]
    figure.frames(), figure.static_html(), figure.frame((2,))
    assert len(calls) == 3


# --------------------------------------------------------------------------- the weight budget

def test_a_grid_over_budget_raises_early():
    calls = []

    def counting(red=0.0):
        calls.append(red)
        return swatch(red, pixels=40)

    with pytest.raises(FrameBudgetError, match="budget of 5,000") as info:
        interactive_figure(counting, red=Slider.range(0, 1, 0.01), alt="square", image_format="png",
                           max_bytes=5_000)
    assert "fewer slider values" in str(info.value)
    assert len(calls) < 10  # told after a few frames, not after all 101


def test_the_budget_counts_the_text_the_page_carries():
    figure = swatch_figure()
    weight = sum(len(base64.b64encode(frame)) + len("data:image/png;base64,") for frame in figure.frames())
    assert swatch_figure(max_bytes=weight).frames()
    with pytest.raises(FrameBudgetError):
        swatch_figure(max_bytes=weight - 1)


# --------------------------------------------------------------------------- the static version

class StaticFigure(HTMLParser):
    """What a reader of the static HTML gets: controls, readouts, image, note, frames, script."""

    def __init__(self, html):
        super().__init__()
        self.controls, self.labels, self.images, self.ids, self.frames = {}, {}, [], [], None
        self._select = self._label_for = self._script = self._output_for = None
        self.readouts, self.scripts, self.text = {}, [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "label":
            self._label_for = a["for"]
        elif tag == "input" and a.get("type") == "range":
            labels = json.loads(a["data-nnbook-labels"])
            self.controls[a["name"]] = dict(kind="slider", id=a["id"], labels=labels,
                                            default=labels[int(a["value"])], max=int(a["max"]),
                                            valuetext=a["aria-valuetext"])
        elif tag == "select":
            self._select = dict(kind="dropdown", id=a["id"], labels=[], default=None)
            self.controls[a["name"]] = self._select
        elif tag == "option":
            self._option_selected = "selected" in a
        elif tag == "output":
            self._output_for = a["for"]
        elif tag == "img":
            self.images.append(a)
        elif tag == "script":
            self._script = a.get("type", "text/javascript")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "label":
            self._label_for = None
        elif tag == "output":
            self._output_for = None
        elif tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._label_for:
            self.labels[self._label_for] = data
        elif self._output_for:
            self.readouts[self._output_for] = data
        elif self._script == "application/json":
            self.frames = json.loads(data)
        elif self._script:
            self.scripts.append(data)
        elif self._select is not None and data.strip():
            self._select["labels"].append(data)
            if self._option_selected:
                self._select["default"] = data
        elif data.strip():
            self.text.append(data.strip())


def static_controls(parsed):
    """name -> (label, option labels, default label), as the static page shows them."""
    return {name: (parsed.labels[c["id"]], c["labels"], c["default"])
            for name, c in parsed.controls.items()}


def test_static_html_offers_every_control_with_label_values_and_default():
    figure = swatch_figure()
    parsed = StaticFigure(figure.static_html())
    assert static_controls(parsed) == {
        "red": ("red", ["0", "0.4", "1"], "0.4"),
        "green": ("green", ["0", "1"], "0"),
        "blue": ("blue light", ["off", "on"], "on"),
    }
    red = parsed.controls["red"]
    assert (red["max"], red["valuetext"], parsed.readouts[red["id"]]) == (2, "0.4", "0.4")
    (image,) = parsed.images
    assert image["alt"] == "A square of one colour" and (image["width"], image["height"]) == ("6", "6")
    assert colour_of(base64.b64decode(image["src"].split(",")[1])) == expected_colour(0.4, 0.0, "on")
    assert any("Colab or Jupyter" in text for text in parsed.text)


def test_static_html_carries_every_frame_in_order():
    figure = swatch_figure()
    parsed = StaticFigure(figure.static_html())
    assert [tuple(decode_uri(uri)[2, 2]) for uri in parsed.frames] == \
        [colour_of(frame) for frame in figure.frames()]
    assert all(uri.startswith("data:image/png;base64,") for uri in parsed.frames)
    assert "http" not in figure.static_html()  # nothing to fetch from anywhere


def test_two_figures_get_distinct_ids_and_otherwise_identical_html():
    first, second = swatch_figure(), swatch_figure()
    a, b = first.static_html(), second.static_html()
    # The same description hashes to the same id; a repeat in one kernel gets a counter.
    assert first.id != second.id and first.id[:21] == second.id[:21]
    assert re.fullmatch(r"nnbook-fig-[0-9a-f]{10}(-[0-9]+)?", first.id)
    assert a.replace(first.id, "ID") == b.replace(second.id, "ID")
    ids = StaticFigure(a + b).ids
    assert len(ids) == len(set(ids))


def test_static_html_is_stable_once_nbval_masks_the_image_bytes():
    """The sanitizer in tests/nbval_sanitize.cfg must leave nothing run-dependent."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / "tests" / "nbval_sanitize.cfg")
    rule = parser["image-bytes"]
    html = swatch_figure(image_format="webp").static_html()
    masked = re.sub(rule["regex"], rule["replace"], html)
    assert "base64," not in masked.replace("base64,IMAGE-BYTES", "")
    assert masked.count("IMAGE-BYTES") == len(swatch_figure().frames()) + 1  # + the <img>


# --------------------------------------------------------------------------- the live version

def test_live_and_static_versions_offer_the_same_controls():
    figure = swatch_figure()
    _box, widgets, _image = live.build_widget(figure)
    static = static_controls(StaticFigure(figure.static_html()))
    for name, control in figure.controls.items():
        widget = widgets[name]
        kind = "SelectionSlider" if control.kind == "slider" else "Dropdown"
        assert type(widget).__name__ == kind
        labels = [label for label, _ in widget.options]
        assert (widget.description, labels, widget.label) == static[name]
        assert [value for _, value in widget.options] == list(control.values)
        assert widget.value == control.default
    assert list(widgets) == list(static)


def test_moving_a_live_control_redraws_through_the_frames():
    figure = swatch_figure()
    box, widgets, image = live.build_widget(figure)
    assert box.children[-1] is image

    def shown():
        return tuple(decode_uri(re.search(r'src="([^"]+)"', image.value).group(1))[2, 2])

    assert shown() == expected_colour(0.4, 0.0, "on")
    widgets["red"].value = 1.0
    assert shown() == expected_colour(1.0, 0.0, "on")
    widgets["blue"].value = "off"
    widgets["green"].value = 1.0
    assert shown() == expected_colour(1.0, 1.0, "off")
    assert 'alt="A square of one colour"' in image.value


def test_live_figure_renders_frames_it_was_not_given():
    calls = []

    def counting(red=0.0):
        calls.append(red)
        return swatch(red)

    figure = InteractiveFigure(counting, {"red": Slider([0.0, 0.5, 1.0])}, alt="square",
                               image_format="png")
    _box, widgets, image = live.build_widget(figure)
    widgets["red"].value = 1.0
    assert calls == [0.5, 1.0]
    assert colour_of(figure.frame((2,))) == expected_colour(1.0, 0, "off")


# --------------------------------------------------------------------------- display

def test_outside_a_kernel_the_bundle_is_html_and_text(monkeypatch):
    monkeypatch.setattr(live, "in_kernel", lambda: False)
    bundle = swatch_figure()._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert bundle["text/plain"] == "<interactive figure: swatch over red × green × blue = 12 frames>"


def test_in_a_kernel_the_bundle_also_carries_the_live_widget(monkeypatch):
    monkeypatch.setattr(live, "in_kernel", lambda: True)
    bundle = swatch_figure()._repr_mimebundle_()
    view = bundle[WIDGET_VIEW]
    assert view["version_major"] == 2 and re.fullmatch(r"[0-9a-f]{32}", view["model_id"])
    assert bundle["text/html"].startswith('<div class="nnbook-figure"')


@pytest.fixture
def fake_colab(monkeypatch):
    """Pretend to run in Colab; returns the list of calls to enable_custom_widget_manager."""
    enabled = []
    output = types.ModuleType("google.colab.output")
    output.enable_custom_widget_manager = lambda: enabled.append(True)
    colab = types.ModuleType("google.colab")
    colab.output = output
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.output", output)
    sys.modules["google"].colab = colab
    return enabled


def test_in_colab_nothing_is_prerendered_and_widgets_are_switched_on(fake_colab, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append((obj, raw)))
    figure = swatch_figure()
    assert len(figure._frames) == 1  # the default frame only, for the HTML fallback
    figure._ipython_display_()
    assert fake_colab == [True]
    ((bundle, raw),) = shown
    assert raw and "nnbook-figure-frames" not in bundle["text/html"]
    assert 'alt="A square of one colour"' in bundle["text/html"]


def test_in_a_real_kernel_the_cell_output_carries_both_versions():
    """What Jupyter stores for the cell: one display_data with the widget view and the HTML."""
    source = "\n".join([
        "from matplotlib.figure import Figure",
        "from nnbook.widgets import interactive_figure, Slider",
        "def swatch(red=0.0):",
        "    fig = Figure(figsize=(0.6, 0.6), dpi=10)",
        "    fig.patch.set_facecolor((red, 0, 0))",
        "    return fig",
        "interactive_figure(swatch, red=Slider([0, 0.5, 1], label='red'), alt='A red square',",
        "                   image_format='png')",
    ])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    (output,) = nb.cells[0].outputs
    assert output.output_type == "display_data"
    assert set(output.data) == {"text/plain", "text/html", WIDGET_VIEW}
    assert re.fullmatch(r"[0-9a-f]{32}", output.data[WIDGET_VIEW]["model_id"])
    parsed = StaticFigure(output.data["text/html"])
    assert static_controls(parsed) == {"red": ("red", ["0", "0.5", "1"], "0.5")}
    assert len(parsed.frames) == 3


# --------------------------------------------------------------------------- when and how fast

def test_without_the_switch_a_reader_gets_the_live_figure_and_one_frame(monkeypatch):
    """A reader's own run in Jupyter: no pre-rendering, the live widget and a preview."""
    monkeypatch.delenv("NNBOOK_STATIC_FRAMES", raising=False)
    monkeypatch.setattr(live, "in_kernel", lambda: True)
    figure = swatch_figure()
    assert len(figure._frames) == 1
    bundle = figure._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and "nnbook-figure-frames" not in bundle["text/html"]
    assert len(figure._frames) == 1  # displaying it rendered nothing more
    monkeypatch.setenv("NNBOOK_STATIC_FRAMES", "1")
    assert "nnbook-figure-frames" in figure._repr_mimebundle_()["text/html"]
    assert len(figure._frames) == len(figure)


@pytest.mark.parametrize("value, wanted", [("1", True), ("yes", True), ("0", False), ("", False)])
def test_the_switch_reads_the_environment(monkeypatch, value, wanted):
    from nnbook.widgets import static_frames_wanted

    monkeypatch.setenv("NNBOOK_STATIC_FRAMES", value)
    assert static_frames_wanted() is wanted


NEURON_GRID = dict(w1=Slider([-3.0, 0.0, 3.0]), w2=Slider([-3.0, 0.0, 3.0], default=3.0),
                   b=Slider([-2.0, 2.0]), activation=Dropdown(sorted(plots.ACTIVATIONS)))


def test_moved_figures_draw_byte_for_byte_what_the_plotting_function_draws(monkeypatch):
    """Every frame made by moving one figure equals a fresh call of the plotting function,
    encoded the same way: the same bytes, for every activation, both signs and w = 0."""
    from nnbook.widgets.frames import FrameRenderer, encode_image

    monkeypatch.setenv("NNBOOK_FRAME_WORKERS", "1")
    assert plots.neuron_output_map.redraw is not None
    figure = InteractiveFigure(plots.neuron_output_map, NEURON_GRID, alt="neuron", max_bytes=1e9)
    assert figure._renderer.redraw is plots.neuron_output_map.redraw
    frames = figure.frames()
    assert len(figure._renderer._states) == len(plots.ACTIVATIONS)  # one built figure each
    for position, frame in zip(figure.positions(), frames):
        fresh = rasterize(plots.neuron_output_map(**figure.kwargs_at(position)))
        assert frame == encode_image(fresh, "webp", 70), figure.kwargs_at(position)
    assert FrameRenderer(plots.neuron_output_map, "webp", 70, reuse=False).redraw is None


def test_frames_rendered_by_worker_processes_equal_those_rendered_here(monkeypatch):
    from nnbook.widgets import frames as frames_module

    monkeypatch.setenv("NNBOOK_FRAME_WORKERS", "2")
    assert frames_module.frame_workers(72) == 2 and frames_module.frame_workers(8) == 1
    parallel = InteractiveFigure(plots.neuron_output_map, NEURON_GRID, alt="neuron",
                                 fixed={"resolution": 21}, max_bytes=1e9).frames()
    monkeypatch.setenv("NNBOOK_FRAME_WORKERS", "1")
    serial = InteractiveFigure(plots.neuron_output_map, NEURON_GRID, alt="neuron",
                               fixed={"resolution": 21}, max_bytes=1e9).frames()
    assert parallel == serial and len(set(serial)) == len(serial)


def test_a_bad_worker_count_is_a_clear_error(monkeypatch):
    from nnbook.widgets.frames import frame_workers

    monkeypatch.setenv("NNBOOK_FRAME_WORKERS", "two")
    with pytest.raises(ValueError, match="NNBOOK_FRAME_WORKERS must be a whole number"):
        frame_workers(100)


def test_an_error_in_a_worker_process_names_the_arguments(monkeypatch):
    monkeypatch.setenv("NNBOOK_FRAME_WORKERS", "2")
    with pytest.raises(RuntimeError, match=r"neuron_output_map\(.*extent=-1.*\) failed"):
        InteractiveFigure(plots.neuron_output_map, NEURON_GRID, alt="neuron",
                          fixed={"extent": -1}, max_bytes=1e9).frames()


# --------------------------------------------------------------------------- on the built site

def test_the_site_extension_moves_frames_into_files_named_by_their_bytes(tmp_path):
    """book/_ext/figure_frames.py: the page keeps URLs, the files hold the very frames."""
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import figure_frames
    finally:
        sys.path.remove(str(ROOT / "book" / "_ext"))
    figure = swatch_figure()
    html = figure.static_html()
    page = figure_frames.extract_frames(html, tmp_path, lambda name: "../" + name)
    assert "data:image" not in page
    parsed = StaticFigure(page)
    files = [tmp_path / url.removeprefix("../") for url in parsed.frames]
    assert [f.read_bytes() for f in files] == figure.frames()
    assert len(set(parsed.frames)) == len(parsed.frames)
    assert all(re.fullmatch(r"\.\./_images/nnbook/[0-9a-f]{20}\.png", url) for url in parsed.frames)
    (image,) = parsed.images
    assert image["src"] == parsed.frames[flat_index(figure.default_position, figure.shape)]
    # Twice over the same output: the same page, no new files.
    assert figure_frames.extract_frames(html, tmp_path, lambda name: "../" + name) == page
    assert len(list((tmp_path / "_images" / "nnbook").iterdir())) == len(figure)
    with pytest.raises(ValueError, match="not a base64 image data URI"):
        figure_frames.frame_file(tmp_path, "data:text/plain;base64,aGk=")
