"""Interactive figures that move everywhere: live sliders in Jupyter and Colab, and sliders that
still move on the static site.

One call turns a plotting function of :mod:`nnbook.plots` into an interactive figure::

    from nnbook import plots
    from nnbook.widgets import interactive_figure, Slider, Dropdown

    interactive_figure(
        plots.neuron_output_map,
        w1=Slider([-2, -1, 0, 1, 2], default=1, label="weight w₁"),
        w2=Slider([-2, -1, 0, 1, 2], default=1, label="weight w₂"),
        b=Slider([-1, 0, 1], default=0, label="bias b"),
        activation=Dropdown(["sigmoid", "tanh"], label="activation"),
        fixed={"extent": 3},
        alt="Heat map of one neuron's output over the (x₁, x₂) plane ...",
    )

How one output serves both worlds
---------------------------------
The figure displays itself as **one** ``display_data`` output whose MIME bundle carries two
versions of the same figure, and each frontend picks the one it can run:

``application/vnd.jupyter.widget-view+json`` (only when a kernel is running)
    ipywidgets controls (``SelectionSlider``/``Dropdown``) over the picture; moving one calls
    the plotting function in Python. JupyterLab and Notebook 7 rank this MIME type above HTML
    (the widget renderer is registered at rank -10) for trusted outputs, i.e. those made in the
    current session; VS Code and Colab render it too. In Colab the figure first calls
    ``google.colab.output.enable_custom_widget_manager()`` and shows itself through
    ``IPython.display.display`` (Colab's widget metadata is added by a hook on the display
    publisher), so the reader does nothing.

``text/html``
    The same controls as HTML form elements (``<input type="range">`` and ``<select>`` with
    ``<label>``\\s and an ``<output>`` readout), the frames of the whole control grid as
    ``data:`` URIs rendered when the notebook was executed to store its outputs (see below), and
    a few lines of inline JavaScript that swap them. No kernel, no network. This is what the
    static site shows (with the frames moved to image files), and what JupyterLab shows
    (sanitized: the default frame, no script) for a notebook opened but not yet run.

``text/plain``
    A one-line description.

myst-nb picks one MIME type per output by priority; by default ``widget-view`` outranks
``text/html`` for the html builders and would render as an empty ``<script>`` tag (the book
loads no widget manager: ``nb_ipywidgets_js: {}``). The book's ``_config.yml`` therefore sets
``nb_mime_priority_overrides`` so that ``text/html`` wins on html builders. Plain ipywidgets
outputs are unaffected (they carry no ``text/html``).

When the frames are rendered: ``NNBOOK_STATIC_FRAMES``
------------------------------------------------------
A reader running a chapter in Jupyter or Colab wants the live figure, not a minute of
pre-rendering, so by default ``interactive_figure`` renders only the default frame and the
``text/html`` part is a preview of it (the live widget renders each frame when first asked for).
The static version with every frame is made only when the notebook is being *executed to store
its outputs*, which the environment variable ``NNBOOK_STATIC_FRAMES=1`` says (the kernel inherits
it):

- ``tools/execute_notebooks.py`` sets it, so committed outputs carry every frame;
- the test suite sets it (the repository's top-level ``conftest.py``), so nbval re-renders every
  frame and compares the outputs with the committed ones;
- to store outputs some other way, e.g. ``jupyter nbconvert --execute``, set it yourself:
  ``NNBOOK_STATIC_FRAMES=1 jupyter nbconvert --to notebook --execute --inplace chapters/NN.ipynb``.

Weight and speed
----------------
Every combination of control values is one frame, so the site carries
``len(values₁) × len(values₂) × ...`` pictures. Frames are WebP (quality 70) by default: a
400×320-pixel ``neuron_output_map`` frame is 5 to 7 kB. The notebook output carries them as
``data:`` URIs; the built site does not: ``book/_ext/site_fixes.py`` writes each frame to
``_images/nnbook/<hash>.webp`` (a content hash, so a browser may cache it forever) and the page
loads only the default frame with the page, the others once the figure scrolls into view or a
control moves. A figure's frames may weigh at most ``max_bytes`` (1.5 MB of data-URI text by
default); :class:`FrameBudgetError` says so, early, when a grid is too big, and names the ways
out. To trade:

- fewer values per control: the grid is a product, so 5 × 5 × 3 × 4 = 300 frames (2.4 MB) but
  5 × 5 × 3 × 2 = 150 (1.1 to 1.3 MB);
- smaller frames: ``fixed={"dpi": 72}`` (-20 %, smaller text) or a smaller ``figsize``;
- a lower ``quality`` (50 saves about 10 % and still reads well for heat maps);
- ``image_format="png"`` (lossless): right for a few line plots, six times heavier for smooth
  colour.

Rendering: a plotting function that offers ``plot.redraw`` (:class:`nnbook.plots.Redraw`) builds
its figure once and moves it from frame to frame (the pixels are those of a fresh call, tested),
and a grid of 16 frames or more is split over forked worker processes, one per core
(``NNBOOK_FRAME_WORKERS=1`` renders in the kernel's own process; Linux only, elsewhere always
one process). ``benchmarks/bench_frames.py`` measures both.

Deterministic output
--------------------
The HTML depends only on the figure's description and its frames: ids are a hash of the
description (with a counter for a repeat in the same kernel), and there is no timestamp, so
nbval compares the whole output except the frame bytes, which ``tests/nbval_sanitize.cfg``
masks (they legitimately differ across matplotlib and Pillow versions). The widget view is
not compared by nbval (its model id is random).
"""

from nnbook.widgets.controls import Dropdown, Slider
from nnbook.widgets.figure import (MAX_FIGURE_BYTES, STATIC_FRAMES_ENV, FrameBudgetError, InteractiveFigure,
                                   interactive_figure, static_frames_wanted)

__all__ = ["interactive_figure", "Slider", "Dropdown", "InteractiveFigure", "FrameBudgetError",
           "MAX_FIGURE_BYTES", "STATIC_FRAMES_ENV", "static_frames_wanted"]
