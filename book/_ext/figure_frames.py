"""Move the frames of interactive figures out of the pages into cacheable image files.

An ``nnbook.widgets`` figure stores every frame in its notebook output as a ``data:`` URI (a
notebook must carry its own pictures). Inlined in a page, 150 frames would be a megabyte of
base64 that every visitor downloads before the first paragraph. While each page is written,
this extension finds each figure's frame list (``<script type="application/json"
class="nnbook-figure-frames">``) and its ``<img class="nnbook-figure-image">``, writes each frame
to ``_images/nnbook/<sha256 prefix>.<ext>`` and puts the file's relative URL in its place. The
file name is a hash of the bytes, so an unchanged frame keeps its URL across builds and a
browser may cache it for as long as it likes; the same frame used twice is stored once.

The page then loads only the default frame (the ``<img>``); the figure's script fetches the
others when the figure nears the viewport or a control moves (``nnbook.widgets.static``). Plain
``<img>`` loads of relative URLs work from a ``file://`` copy of the site as well.
"""

import base64
import hashlib
import json
import re
from pathlib import Path

FRAMES = re.compile(r'(<script type="application/json" class="nnbook-figure-frames">)(.*?)(</script>)',
                    re.S)
DATA_URI = re.compile(r"data:image/(png|jpeg|webp);base64,([A-Za-z0-9+/=]+)")
IMAGE_SRC = re.compile(r'(<img class="nnbook-figure-image" src=")(data:[^"]+)(")')
FOLDER = "_images/nnbook"


def frame_file(outdir: Path, uri: str) -> str:
    """Write the frame of a data URI under FOLDER (once) and return its path in the site."""
    match = DATA_URI.fullmatch(uri)
    if match is None:
        raise ValueError(f"an interactive figure's frame is not a base64 image data URI: {uri[:60]}...")
    kind, payload = match.groups()
    data = base64.b64decode(payload)
    name = f"{FOLDER}/{hashlib.sha256(data).hexdigest()[:20]}.{kind}"
    target = outdir / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return name


def extract_frames(body: str, outdir: Path, url_of) -> str:
    """``body`` with every figure's frames replaced by URLs (``url_of(site path)``) of files."""
    def frames(match):
        uris = json.loads(match.group(2))
        urls = [url_of(frame_file(outdir, uri)) if uri.startswith("data:") else uri for uri in uris]
        return match.group(1) + json.dumps(urls).replace("</", "<\\/") + match.group(3)

    def image(match):
        return match.group(1) + url_of(frame_file(outdir, match.group(2))) + match.group(3)

    return IMAGE_SRC.sub(image, FRAMES.sub(frames, body))


def _page_context(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if app.builder.format != "html" or not body or "nnbook-figure" not in body:
        return
    pathto = context["pathto"]
    context["body"] = extract_frames(body, Path(app.outdir), lambda name: pathto(name, 1))


def setup(app):
    app.connect("html-page-context", _page_context)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
