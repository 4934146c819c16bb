"""Loaded into a notebook's kernel by bench_frames.py: measures every interactive figure it makes.

``install()`` wraps ``nnbook.widgets.interactive_figure``; each figure the notebook then makes
is measured on copies of itself (the notebook's own figure is left as a reader's run has it):

- the whole frame grid rendered three ways: a fresh figure per frame in one process (how frames
  were rendered before figures were moved in place; ``fresh_sample`` frames of it), one figure
  moved from frame to frame in one process, and the same split over one worker process per core;
- the live figure's redraw latency: each control moved through all its values (the others at
  their defaults) on a figure that has rendered only its default frame, ``repeat`` times, the
  time from setting the widget's value to the new ``<img>`` being in place.
"""

import os
import resource
import time

from nnbook import widgets
from nnbook.widgets import figure as figure_module
from nnbook.widgets import frames as frames_module
from nnbook.widgets import live

RESULTS = []


def _cpu() -> float:
    own = time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + children.ru_utime + children.ru_stime


def _copy(fig):
    return figure_module.InteractiveFigure(fig.plot, fig.controls, alt=fig.alt, fixed=fig.fixed,
                                           image_format=fig.image_format, quality=fig.quality,
                                           max_bytes=float("inf"))


def _time_grid(fig, workers, reuse, sample=None):
    copy = _copy(fig)
    copy._renderer = frames_module.FrameRenderer(copy.plot, copy.image_format, copy.quality, reuse=reuse)
    positions = copy.positions()[:sample] if sample else copy.positions()
    saved = os.environ.get(frames_module.WORKERS_ENV)
    os.environ[frames_module.WORKERS_ENV] = str(workers)
    try:
        wall, cpu = time.perf_counter(), _cpu()
        missing = list(positions)
        if frames_module.frame_workers(len(missing)) > 1:
            rendered = frames_module.render_many(copy.plot, map(copy.kwargs_at, missing),
                                                 copy.image_format, copy.quality, renderer=copy._renderer)
            for position, (image, size) in zip(missing, rendered):
                copy._store(position, image, size)
        else:
            for position in missing:
                copy.frame(position)
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    finally:
        if saved is None:
            os.environ.pop(frames_module.WORKERS_ENV, None)
        else:
            os.environ[frames_module.WORKERS_ENV] = saved
    frames = [copy._frames[p] for p in positions]
    return {"frames": len(positions), "ms_per_frame": 1000 * wall / len(positions),
            "cpu_ms_per_frame": 1000 * cpu / len(positions)}, frames


def _latency(fig, repeat):
    per_control = {name: [] for name in fig.controls}
    for _ in range(repeat):
        copy = _copy(fig)
        _box, controls, image = live.build_widget(copy)
        for name, widget in controls.items():
            default = widget.value
            for value in [v for v in fig.controls[name].values if v != default] + [default]:
                start = time.perf_counter()
                widget.value = value
                per_control[name].append(1000 * (time.perf_counter() - start))
    return per_control


def measure(fig, fresh_sample=None, repeat=3) -> dict:
    # One process per core, however busy the machine is now (frame_workers would take fewer).
    workers = min(len(os.sched_getaffinity(0)), 8)
    fresh, fresh_frames = _time_grid(fig, 1, reuse=False, sample=fresh_sample)
    moved, frames = _time_grid(fig, 1, reuse=True)
    parallel, parallel_frames = _time_grid(fig, max(workers, 1), reuse=True)
    if frames[:len(fresh_frames)] != fresh_frames or parallel_frames != frames:
        raise AssertionError(f"{fig!r}: the fast paths drew different frames from a fresh call")
    return {
        "figure": repr(fig), "plot": getattr(fig.plot, "__name__", str(fig.plot)),
        "frames": len(fig), "bytes": sum(map(len, frames)),
        "mean_frame_bytes": sum(map(len, frames)) / len(frames),
        "pixels": list(fig.size) if fig.size else None, "workers": workers,
        "fresh_one_process": fresh, "moved_one_process": moved, "moved_in_parallel": parallel,
        "live_ms": _latency(fig, repeat),
    }


def install(fresh_sample=None, repeat=3):
    original = figure_module.interactive_figure

    def probed(plot, **kwargs):
        fig = original(plot, **kwargs)
        RESULTS.append(measure(fig, fresh_sample, repeat))
        return fig

    widgets.interactive_figure = figure_module.interactive_figure = probed
