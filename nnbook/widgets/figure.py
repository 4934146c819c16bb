"""``InteractiveFigure``: one plotting function, a grid of control values, two displays."""

import hashlib
import inspect
import itertools
import math
import os
from collections import Counter

from nnbook.widgets import live, static
from nnbook.widgets.controls import Dropdown, Slider
from nnbook.widgets.frames import FrameRenderer, check_format, data_uri, frame_workers, render_many

__all__ = ["InteractiveFigure", "FrameBudgetError", "interactive_figure", "MAX_FIGURE_BYTES",
           "STATIC_FRAMES_ENV", "static_frames_wanted"]

# Set (to "1") by whatever executes a notebook to store its outputs; see nnbook.widgets.
STATIC_FRAMES_ENV = "NNBOOK_STATIC_FRAMES"

# What one figure's frames may weigh, counted as the data-URI text the notebook output carries
# (base64 makes that 4/3 of the encoded bytes). On the site the frames are separate image files
# (book/_ext/site_fixes.py writes them), fetched once the figure scrolls into view or a control
# moves, so this bounds what a reader who reaches the figure downloads, not the page's first load.
MAX_FIGURE_BYTES = 1_500_000

# Figure ids are a hash of the figure's description plus, for a repeat of the same description
# in one kernel, a counter: deterministic for a notebook run top to bottom in a fresh kernel.
_ids_seen = Counter()


class FrameBudgetError(ValueError):
    """The frames of a figure would weigh more than its budget."""


class InteractiveFigure:
    """A plotting function over a grid of control values; displays itself.

    Made by :func:`interactive_figure`, which documents the arguments. ``frame(position)`` is
    the encoded image at a grid position (a tuple with one index per control, in the order the
    controls were given); ``frames()`` lists every frame in C order (last control fastest).
    """

    def __init__(self, plot, controls, *, alt, fixed=None, image_format="webp", quality=70,
                 max_bytes=MAX_FIGURE_BYTES):
        self.plot, self.fixed, self.alt = plot, dict(fixed or {}), alt
        self.controls = dict(controls)
        self.image_format, self.quality, self.max_bytes = image_format, quality, max_bytes
        self._check()
        self.labels = {name: control.label or name for name, control in self.controls.items()}
        self.shape = tuple(len(control.values) for control in self.controls.values())
        self.default_position = tuple(control.default_index for control in self.controls.values())
        self.size = None  # (width, height) in pixels, known after the first frame
        self._frames = {}
        self._renderer = FrameRenderer(plot, image_format, quality)
        self.id = _unique_id(self._description())

    # ----------------------------------------------------------------- checks and identity

    def _check(self):
        if not callable(self.plot):
            raise TypeError(f"plot must be a plotting function, got {self.plot!r}")
        if not self.controls:
            raise ValueError("give at least one control, e.g. w=Slider([-1, 0, 1])")
        for name, control in self.controls.items():
            if not isinstance(control, (Slider, Dropdown)):
                raise TypeError(f"control {name!r} must be a Slider or a Dropdown, got {control!r}; "
                                "pass constants through fixed={...}")
        both = set(self.controls) & set(self.fixed)
        if both:
            raise ValueError(f"{sorted(both)} given both as a control and in fixed")
        try:
            inspect.signature(self.plot).bind_partial(**self.controls, **self.fixed)
        except TypeError as exc:
            raise TypeError(f"{self.plot.__name__} does not take these arguments: {exc}") from None
        if not (isinstance(self.alt, str) and self.alt.strip()):
            raise ValueError("alt must describe the figure in words (for screen readers), got "
                             f"{self.alt!r}")
        check_format(self.image_format, self.quality)
        if not self.max_bytes > 0:
            raise ValueError(f"max_bytes must be positive, got {self.max_bytes!r}")

    def _description(self) -> str:
        plot = f"{getattr(self.plot, '__module__', '')}.{getattr(self.plot, '__qualname__', self.plot)}"
        # Control order matters (it orders the frames); fixed values should have stable reprs.
        return repr((plot, list(self.controls.items()), sorted(self.fixed.items()), self.alt,
                     self.image_format, self.quality))

    def __repr__(self):
        grid = " × ".join(self.controls)
        return (f"<interactive figure: {getattr(self.plot, '__name__', 'plot')} over "
                f"{grid} = {len(self)} frames>")

    def __len__(self):
        return math.prod(self.shape)

    # ----------------------------------------------------------------- frames

    def kwargs_at(self, position) -> dict:
        """The plotting function's keyword arguments at a grid position."""
        static.flat_index(position, self.shape)  # checks the position
        values = {name: control.values[i] for (name, control), i in zip(self.controls.items(), position)}
        return {**self.fixed, **values}

    def frame(self, position) -> bytes:
        """The encoded frame at a grid position, rendered on first use."""
        position = tuple(position)
        if position not in self._frames:
            self._store(position, *self._renderer.render(self.kwargs_at(position)))
        return self._frames[position]

    def _store(self, position, image, size):
        if self.size is None:
            self.size = size
        elif size != self.size:
            raise ValueError(f"frames must all have one size: {self.kwargs_at(position)} gave "
                             f"{size}, earlier frames {self.size}")
        self._frames[position] = image

    def positions(self):
        """Every grid position in frame order (C order: the last control varies fastest)."""
        return list(itertools.product(*map(range, self.shape)))

    def frames(self) -> list:
        """Every frame in order, rendered now where needed, within the byte budget.

        A large grid is rendered by several processes at once (``nnbook.widgets.frames.
        render_many``); a small one, or one whose plotting function cannot be pickled, here.
        """
        positions = self.positions()
        # The default frame first: it alone tells whether the grid is clearly too heavy.
        first = len(self.uri(self.default_position))
        if first * len(positions) > 2 * self.max_bytes:
            self._over_budget(f"about {first * len(positions):,} (the default frame, "
                              f"{first:,}, times {len(positions)} frames)")
        missing = [position for position in positions if position not in self._frames]
        if frame_workers(len(missing)) > 1:
            rendered = render_many(self.plot, map(self.kwargs_at, missing), self.image_format,
                                   self.quality, renderer=self._renderer)
            for position, (image, size) in zip(missing, rendered):
                self._store(position, image, size)
        total = 0
        for position in positions:
            total += len(self.uri(position))
            if total > self.max_bytes:
                self._over_budget(f"more than {total:,} (after {len(self._frames)} frames)")
        return [self._frames[position] for position in positions]

    def _over_budget(self, weight):
        raise FrameBudgetError(
            f"the {len(self)} frames of {self.plot.__name__} would weigh {weight} bytes, over the "
            f"budget of {self.max_bytes:,}. Use fewer slider values, smaller frames (e.g. "
            "fixed={'dpi': 64}), a lower quality, or raise max_bytes if the page can afford it.")

    def uri(self, position) -> str:
        return data_uri(self.frame(position), self.image_format)

    def image_tag(self, position) -> str:
        return static.image_tag(self.uri(position), self.alt, self.size)

    # ----------------------------------------------------------------- the two displays

    def static_html(self) -> str:
        """Controls as HTML form elements that swap every pre-rendered frame (for the site)."""
        uris = [data_uri(frame, self.image_format) for frame in self.frames()]
        return static.static_html(self.id, self.controls, self.labels, self.default_position,
                                  uris, self.alt, self.size)

    def widget(self):
        """A fresh ipywidgets ``VBox``: live controls that redraw through the plotting function."""
        return live.build_widget(self)[0]

    def _repr_mimebundle_(self, include=None, exclude=None):
        """text/plain, text/html (static) and, in a kernel, the live widget's view."""
        if len(self._frames) < len(self) and (live.in_colab() or not static_frames_wanted()):
            html = static.preview_html(self.id, self.uri(self.default_position), self.alt, self.size)
        else:
            html = self.static_html()
        bundle = {"text/plain": repr(self), "text/html": html}
        if live.in_kernel():
            bundle[live.WIDGET_VIEW_MIME] = {"version_major": 2, "version_minor": 0,
                                             "model_id": self.widget().model_id}
        return bundle

    def _ipython_display_(self):
        # display() goes through IPython's display publisher, where Colab's widget hook looks.
        from IPython.display import display

        if live.in_colab():
            live.enable_colab_widgets()
        display(self._repr_mimebundle_(), raw=True)


def _unique_id(description: str) -> str:
    digest = hashlib.sha256(description.encode("utf-8")).hexdigest()[:10]
    _ids_seen[digest] += 1
    count = _ids_seen[digest]
    return f"nnbook-fig-{digest}" if count == 1 else f"nnbook-fig-{digest}-{count}"


def interactive_figure(plot, *, alt, fixed=None, image_format="webp", quality=70,
                       max_bytes=MAX_FIGURE_BYTES, **controls) -> InteractiveFigure:
    """Show ``plot`` with a control per keyword argument: live in Jupyter/Colab, frames on the site.

    ``plot`` is a function of :mod:`nnbook.plots` (keyword arguments in, a matplotlib Figure
    out). Each other keyword argument names one of its parameters and gives a :class:`Slider`
    or :class:`Dropdown`; ``fixed`` holds other arguments that do not change (``{"extent": 3}``).
    ``alt`` describes the figure for screen readers.

    When the notebook is executed to store its outputs (``$NNBOOK_STATIC_FRAMES`` is set, as
    ``tools/execute_notebooks.py`` and the test suite do), every frame of the grid is rendered
    now (one per combination of control values, in C order, several processes at once),
    encoded as ``image_format`` ("webp", "png" or "jpeg") at ``quality``, and checked against
    ``max_bytes``, the weight the frames add to the site (:class:`FrameBudgetError` past it).
    Otherwise (a reader in Jupyter, and always in Colab) only the default frame is rendered: the reader gets
    the live figure at once, and it renders each frame when first asked for.

    The result displays itself as the last expression of a cell.
    """
    figure = InteractiveFigure(plot, controls, alt=alt, fixed=fixed, image_format=image_format,
                               quality=quality, max_bytes=max_bytes)
    if static_frames_wanted() and not live.in_colab():
        figure.frames()
    else:
        figure.frame(figure.default_position)
    return figure


def static_frames_wanted() -> bool:
    """Whether figures should carry every frame: ``$NNBOOK_STATIC_FRAMES`` is set to anything
    but "" or "0" (the tools that store a notebook's outputs, and nbval, set it)."""
    return os.environ.get(STATIC_FRAMES_ENV, "").strip() not in ("", "0")
