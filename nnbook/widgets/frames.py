"""Render one frame: call a plotting function, rasterize its Figure, encode it small.

A frame is the encoded image (bytes) of one point of the control grid. The Agg canvas is drawn
once and its pixels encoded with Pillow, instead of ``Figure.savefig``, because savefig would
draw the figure a second time and cannot write WebP or palette images.

:class:`FrameRenderer` renders a grid of frames fast: when the plotting function offers
``plot.redraw`` (a :class:`nnbook.plots.Redraw`), it builds one figure per combination of the
arguments that shape it and moves that figure from frame to frame, reusing its Agg canvas (and
with it matplotlib's cache of text metrics). The pixels are those of a fresh call.
"""

import base64
import concurrent.futures
import inspect
import io
import multiprocessing
import os
import pickle
import sys
import warnings

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, features

__all__ = ["IMAGE_FORMATS", "FrameRenderer", "render_frame", "encode_image", "rasterize", "data_uri", "render_many",
           "frame_workers", "WORKERS_ENV"]

# format -> (Pillow format name, MIME type)
IMAGE_FORMATS = {
    "webp": ("WEBP", "image/webp"),
    "png": ("PNG", "image/png"),
    "jpeg": ("JPEG", "image/jpeg"),
}


def check_format(image_format: str, quality: int) -> None:
    if image_format not in IMAGE_FORMATS:
        raise ValueError(f"image_format must be one of {sorted(IMAGE_FORMATS)}, got {image_format!r}")
    if image_format == "webp" and not features.check("webp"):
        raise RuntimeError("this Pillow was built without WebP support: pass image_format='png'")
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ValueError(f"quality must be an integer from 1 to 100, got {quality!r}")


def encode_image(pixels: np.ndarray, image_format: str, quality: int) -> bytes:
    """Encode an RGB(A) pixel array. WebP and JPEG are lossy at ``quality``; PNG is lossless."""
    image = Image.fromarray(pixels).convert("RGB")
    buffer = io.BytesIO()
    pil_format = IMAGE_FORMATS[image_format][0]
    if image_format == "png":
        image.save(buffer, pil_format, optimize=True)
    elif image_format == "webp":
        # method=4 is Pillow's default speed/size balance, spelled out so sizes stay predictable.
        image.save(buffer, pil_format, quality=quality, method=4)
    else:
        image.save(buffer, pil_format, quality=quality, optimize=True)
    return buffer.getvalue()


def rasterize(figure: Figure) -> np.ndarray:
    """The figure's pixels, an (height, width, 4) uint8 array, drawn once with Agg.

    A figure drawn before keeps its Agg canvas, whose renderer caches text metrics.
    """
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def render_frame(plot, kwargs: dict, image_format: str, quality: int):
    """Call ``plot(**kwargs)`` and return ``(encoded bytes, (width, height))``."""
    return FrameRenderer(plot, image_format, quality, reuse=False).render(kwargs)


class FrameRenderer:
    """Renders frames of one plotting function, reusing figures where the function allows it.

    ``reuse=False`` calls the plotting function afresh for every frame (what
    :func:`render_frame` does, and the reference the faster path is tested against).
    """

    def __init__(self, plot, image_format: str, quality: int, reuse: bool = True):
        self.plot, self.image_format, self.quality = plot, image_format, quality
        redraw = getattr(plot, "redraw", None) if reuse else None
        self.redraw = redraw if redraw is not None and callable(getattr(redraw, "update", None)) else None
        self._states = {}  # shape arguments (repr) -> state of a built figure
        self._backgrounds = {}  # the same key -> pixels of everything that does not move

    def figure(self, kwargs: dict) -> Figure:
        """The plotting function's figure for ``kwargs``: a fresh call, or a built one moved there."""
        return self._moved(kwargs)[0]

    def _moved(self, kwargs: dict):
        if self.redraw is None:
            return self.plot(**kwargs), None, None
        bound = inspect.signature(self.plot).bind(**kwargs)
        bound.apply_defaults()
        shape = {name: bound.arguments[name] for name in self.redraw.shape}
        key = repr(sorted(shape.items()))
        if key not in self._states:
            self._states[key] = self.redraw.build(**shape)
        values = {k: v for k, v in bound.arguments.items() if k not in shape}
        return self.redraw.update(self._states[key], **values), self._states[key], key

    def _pixels(self, figure, state, key) -> np.ndarray:
        """Draw ``figure``; when the plotting function names what moves, draw only that over a
        picture of the rest made once (matplotlib's "blitting"), in the order a full draw uses."""
        if state is None or self.redraw.moving is None:
            return rasterize(figure)
        moving = list(self.redraw.moving(state))
        canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
        if key not in self._backgrounds:
            shown = [artist.get_visible() for artist in moving]
            for artist in moving:
                artist.set_visible(False)
            canvas.draw()
            self._backgrounds[key] = canvas.copy_from_bbox(figure.bbox)
            for artist, visible in zip(moving, shown):
                artist.set_visible(visible)
        canvas.restore_region(self._backgrounds[key])
        renderer = canvas.get_renderer()
        order = {id(artist): i for i, artist in enumerate(moving)}
        for axes in figure.axes:  # a full draw's order: axes by axes, then by zorder, stably
            mine = [a for a in axes.get_children() if id(a) in order]
            for artist in sorted(mine, key=lambda a: a.get_zorder()):
                artist.draw(renderer)
                del order[id(artist)]
        if order:
            raise ValueError("Redraw.moving named artists outside the figure's axes")
        return np.asarray(canvas.buffer_rgba()).copy()

    def render(self, kwargs: dict):
        """``(encoded bytes, (width, height))`` of the frame for ``kwargs``."""
        name = getattr(self.plot, "__name__", self.plot)
        try:
            figure, state, key = self._moved(kwargs)
        except Exception as exc:
            args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
            raise RuntimeError(f"{name}({args}) failed: {exc}") from exc
        if not isinstance(figure, Figure):
            raise TypeError(f"{name} must return a matplotlib Figure, got {type(figure).__name__}")
        pixels = self._pixels(figure, state, key)
        height, width = pixels.shape[:2]
        return encode_image(pixels, self.image_format, self.quality), (width, height)


def data_uri(frame: bytes, image_format: str) -> str:
    """``data:image/...;base64,...``: how a frame is embedded in a page (and masked by nbval)."""
    return f"data:{IMAGE_FORMATS[image_format][1]};base64,{base64.b64encode(frame).decode('ascii')}"


# --------------------------------------------------------------------------- many frames at once

WORKERS_ENV = "NNBOOK_FRAME_WORKERS"
MIN_PARALLEL_FRAMES = 16  # below this, starting processes costs more than it saves


def frame_workers(count: int) -> int:
    """How many processes render ``count`` frames: ``$NNBOOK_FRAME_WORKERS`` if set, else the
    CPU cores this process may use that are idle (cores minus the 1-minute load average, at most
    8: on a machine busy with other work, more processes only take turns on the same cores);
    1 (no processes) for a small grid or without ``fork`` (only Linux forks safely here: macOS's
    system libraries do not survive ``fork``)."""
    setting = os.environ.get(WORKERS_ENV, "").strip()
    if setting:
        if not setting.isdigit():
            raise ValueError(f"{WORKERS_ENV} must be a whole number of processes, got {setting!r}")
        workers = int(setting)
    else:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        workers = min(int((cores or 1) - busy + 0.5), 8)
    if count < MIN_PARALLEL_FRAMES or not sys.platform.startswith("linux"):
        return 1
    return max(1, min(workers, count // 4))


def _picklable(obj) -> bool:
    try:
        pickle.dumps(obj)
    except Exception:  # a lambda, a closure, a function defined in a notebook cell of a spawned kernel
        return False
    return True


def _worker_start():
    # Like torch's DataLoader workers: one intra-op thread per process, so that processes do not
    # fight over the cores (the arrays of a frame are far too small to gain from threads).
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def _render_chunk(plot, kwargs_list, image_format, quality):
    renderer = FrameRenderer(plot, image_format, quality)
    return [renderer.render(kwargs) for kwargs in kwargs_list]


def render_many(plot, kwargs_list, image_format: str, quality: int, renderer=None):
    """``[(encoded bytes, (width, height)), ...]`` for every ``kwargs`` of ``kwargs_list``, in order.

    Contiguous chunks of the list are rendered by forked worker processes (see
    :func:`frame_workers`), each moving its own figures from frame to frame; the bytes are the
    same as one process would make. A plotting function that cannot be pickled (defined in a
    closure, say) is rendered in this process by ``renderer`` (a :class:`FrameRenderer`).
    """
    kwargs_list = list(kwargs_list)
    renderer = renderer or FrameRenderer(plot, image_format, quality)
    workers = frame_workers(len(kwargs_list))
    if workers > 1 and _picklable((plot, kwargs_list)):
        # One contiguous chunk per worker: each chunk builds its figures (and the picture of
        # their unmoving parts) once, which costs about two fresh frames.
        chunks = workers
        bounds = [round(i * len(kwargs_list) / chunks) for i in range(chunks + 1)]
        context = multiprocessing.get_context("fork")
        with warnings.catch_warnings():
            # Python 3.12 warns that fork() in a multi-threaded process (a Jupyter kernel) may
            # deadlock in the child; the workers only draw and encode, and never touch a lock
            # the kernel's threads may hold (no output, no logging).
            warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*fork.*")
            with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context,
                                                        initializer=_worker_start) as pool:
                jobs = [pool.submit(_render_chunk, plot, kwargs_list[lo:hi], image_format, quality)
                        for lo, hi in zip(bounds, bounds[1:])]
                return [frame for job in jobs for frame in job.result()]
    return [renderer.render(kwargs) for kwargs in kwargs_list]
