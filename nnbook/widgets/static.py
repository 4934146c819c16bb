"""The static version of an interactive figure: HTML form controls that swap pre-rendered frames.

Everything the page needs is inline (a ``<style>``, the frames as ``data:`` URIs in a JSON
``<script>``, and a few lines of JavaScript), so it works with the network cut off and with no
kernel. The book's build moves the frames into image files of the site and leaves their URLs in
the JSON (``book/_ext/site_fixes.py``); the script handles either. The markup is a pure function of the figure's description and its
frames: no random ids and no timestamps, so nbval can compare it (the sanitizer masks only the
base64 bytes of the frames).
"""

import html
import json

__all__ = ["image_tag", "static_html", "preview_html", "flat_index", "STATIC_NOTE"]

STATIC_NOTE = ("Static version: these controls switch between pictures drawn in advance for the "
               "values shown. Run the notebook in Colab or Jupyter for the live figure.")

_STYLE = """<style>
.nnbook-figure { margin: 0.5em 0; }
.nnbook-figure-controls { display: grid; grid-template-columns: max-content minmax(8em, 18em) 4em;
  gap: 0.3em 0.8em; align-items: center; margin-bottom: 0.4em; }
.nnbook-figure-control { display: contents; }
.nnbook-figure-control select { grid-column: span 2; justify-self: start; }
.nnbook-figure-control output { font-variant-numeric: tabular-nums; }
.nnbook-figure-image { display: block; max-width: 100%; height: auto; }
.nnbook-figure-note { font-size: 0.85em; opacity: 0.8; margin: 0.3em 0 0; }
</style>"""

# Runs once per figure; finds its own figure through document.currentScript, so figures on one
# page never touch each other. Control values are grid positions; the last control varies
# fastest in the frame list (C order), exactly as flat_index below computes it.
# A frame is a data: URI (the notebook output) or, on the built site, the URL of an image file
# (book/_ext/site_fixes.py moves the frames out of the page). The page loads only the default
# frame; the others are fetched once, in the background, when the figure comes within a screen
# of the viewport or a control first moves, so that a later move shows its frame at once.
# Plain <img> loads work from a file:// page too (fetch() would not).
_SCRIPT = """<script>
(function (figure) {
  var frames = JSON.parse(figure.querySelector(".nnbook-figure-frames").textContent);
  var image = figure.querySelector(".nnbook-figure-image");
  var controls = Array.prototype.slice.call(figure.querySelectorAll("[data-nnbook-size]"));
  var loaded = null;
  function preload() {
    if (loaded) return;
    loaded = frames.map(function (src) {
      var img = new Image();
      img.fetchPriority = "low";  // behind the frame on screen, which is asked for first
      img.src = src;
      return img;
    });
  }
  function show() {
    var index = 0;
    controls.forEach(function (control) {
      var position = Number(control.value);
      index = index * Number(control.getAttribute("data-nnbook-size")) + position;
      if (control.type === "range") {
        var text = JSON.parse(control.getAttribute("data-nnbook-labels"))[position];
        control.setAttribute("aria-valuetext", text);
        control.parentNode.querySelector("output").textContent = text;
      }
    });
    if (image.getAttribute("src") !== frames[index]) image.src = frames[index];
  }
  function moved() { show(); preload(); }
  controls.forEach(function (control) {
    control.addEventListener("input", moved);
    control.addEventListener("change", moved);
  });
  if ("IntersectionObserver" in window) {
    var watcher = new IntersectionObserver(function (entries) {
      if (entries.some(function (entry) { return entry.isIntersecting; })) {
        watcher.disconnect();
        preload();
      }
    }, { rootMargin: "100% 0px" });
    watcher.observe(figure);
  } else {
    window.addEventListener("load", preload);
  }
  show();  // a browser may restore form values on "back"; match the picture to them
})(document.currentScript.closest(".nnbook-figure"));
</script>"""


def _attr(value) -> str:
    return html.escape(str(value), quote=True)


def image_tag(src: str, alt: str, size) -> str:
    """The ``<img>`` of a frame; shared by the static and the live version."""
    width, height = size
    return (f'<img class="nnbook-figure-image" src="{src}" alt="{_attr(alt)}" '
            f'width="{width}" height="{height}">')


def _slider(control_id, name, label, control, position) -> str:
    labels = json.dumps(list(control.labels), ensure_ascii=False)
    return (
        f'<div class="nnbook-figure-control">'
        f'<label for="{control_id}">{html.escape(label)}</label>'
        f'<input type="range" id="{control_id}" name="{_attr(name)}" min="0" '
        f'max="{len(control.values) - 1}" step="1" value="{position}" '
        f'aria-valuetext="{_attr(control.labels[position])}" '
        f'data-nnbook-size="{len(control.values)}" data-nnbook-labels="{_attr(labels)}">'
        f'<output for="{control_id}">{html.escape(control.labels[position])}</output></div>')


def _dropdown(control_id, name, label, control, position) -> str:
    options = "".join(
        f'<option value="{i}"{" selected" if i == position else ""}>{html.escape(text)}</option>'
        for i, text in enumerate(control.labels))
    return (
        f'<div class="nnbook-figure-control">'
        f'<label for="{control_id}">{html.escape(label)}</label>'
        f'<select id="{control_id}" name="{_attr(name)}" data-nnbook-size="{len(control.values)}">'
        f'{options}</select></div>')


def static_html(figure_id, controls, labels, default_position, frame_uris, alt, size) -> str:
    """The whole static figure.

    ``controls`` maps parameter name -> Slider or Dropdown, ``labels`` name -> label text,
    ``default_position`` is the default's position on each control, ``frame_uris`` every frame
    as a data URI in grid (C) order, ``size`` the frames' (width, height) in pixels.
    """
    rows = []
    for (name, control), position in zip(controls.items(), default_position):
        make = _slider if control.kind == "slider" else _dropdown
        rows.append(make(f"{figure_id}-{name}", name, labels[name], control, position))
    shape = [len(control.values) for control in controls.values()]
    default_uri = frame_uris[flat_index(default_position, shape)]
    frames_json = json.dumps(frame_uris).replace("</", "<\\/")
    return "\n".join([
        f'<div class="nnbook-figure" id="{figure_id}">',
        _STYLE,
        '<div class="nnbook-figure-controls" role="group" aria-label="Figure controls">',
        *rows,
        "</div>",
        image_tag(default_uri, alt, size),
        f'<p class="nnbook-figure-note">{html.escape(STATIC_NOTE)}</p>',
        f'<script type="application/json" class="nnbook-figure-frames">{frames_json}</script>',
        _SCRIPT,
        "</div>",
    ])


def preview_html(figure_id, default_uri, alt, size) -> str:
    """Only the default frame: the text/html fallback where frames are not pre-rendered (Colab)."""
    note = "Run this cell in Colab or Jupyter to move the controls."
    return "\n".join([
        f'<div class="nnbook-figure" id="{figure_id}">',
        _STYLE,
        image_tag(default_uri, alt, size),
        f'<p class="nnbook-figure-note">{html.escape(note)}</p>',
        "</div>",
    ])


def flat_index(position, shape) -> int:
    """Index of a grid position in the C-ordered frame list (the JavaScript above agrees)."""
    if len(position) != len(shape):
        raise IndexError(f"grid position {tuple(position)} needs one index per control, {len(shape)}")
    index = 0
    for p, n in zip(position, shape):
        if not 0 <= p < n:
            raise IndexError(f"grid position {tuple(position)} is outside the grid {tuple(shape)}")
        index = index * n + p
    return index
