"""Render one frame: call a plotting function, rasterize its Figure, encode it small.

A frame is the encoded image (bytes) of one point of the control grid. The Agg canvas is drawn
once and its pixels encoded with Pillow, instead of ``Figure.savefig``, because savefig would
draw the figure a second time and cannot write WebP or palette images.
"""

import base64
import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, features

__all__ = ["IMAGE_FORMATS", "render_frame", "encode_image", "data_uri"]

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
    """The figure's pixels, an (height, width, 4) uint8 array, drawn once with Agg."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def render_frame(plot, kwargs: dict, image_format: str, quality: int):
    """Call ``plot(**kwargs)`` and return ``(encoded bytes, (width, height))``."""
    try:
        figure = plot(**kwargs)
    except Exception as exc:
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise RuntimeError(f"{getattr(plot, '__name__', plot)}({args}) failed: {exc}") from exc
    if not isinstance(figure, Figure):
        raise TypeError(f"{getattr(plot, '__name__', plot)} must return a matplotlib Figure, "
                        f"got {type(figure).__name__}")
    pixels = rasterize(figure)
    height, width = pixels.shape[:2]
    return encode_image(pixels, image_format, quality), (width, height)


def data_uri(frame: bytes, image_format: str) -> str:
    """``data:image/...;base64,...``: how a frame is embedded in a page (and masked by nbval)."""
    return f"data:{IMAGE_FORMATS[image_format][1]};base64,{base64.b64encode(frame).decode('ascii')}"
