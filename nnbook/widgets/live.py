"""The live version of an interactive figure: ipywidgets controls that redraw through Python.

Each control becomes a ``SelectionSlider`` or ``Dropdown`` over exactly the values, labels and
default of its description, so the live figure offers what the static one offers. Frames already
rendered for the static version are reused, so moving a slider in Jupyter is instant; anything
else is rendered on demand (in Colab, where nothing is pre-rendered).
"""

import sys

__all__ = ["WIDGET_VIEW_MIME", "in_colab", "in_kernel", "enable_colab_widgets", "build_widget"]

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"


def in_colab() -> bool:
    return "google.colab" in sys.modules


def in_kernel() -> bool:
    """True inside a Jupyter kernel, where a frontend may show widgets."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return getattr(get_ipython(), "kernel", None) is not None


def enable_colab_widgets() -> None:
    """Switch on Colab's full ipywidgets support so the reader never has to.

    Colab renders widgets through its "custom widget manager" once it is enabled; it adds its
    metadata to widget outputs through a hook on IPython's *display publisher*, which is why
    ``InteractiveFigure`` displays itself with ``display()`` rather than as an execute result.
    Older Colab images without this function render core ipywidgets on their own.
    """
    try:
        from google.colab import output
    except ImportError:
        return
    enable = getattr(output, "enable_custom_widget_manager", None)
    if enable is not None:
        enable()


def build_widget(figure):
    """An ipywidgets ``VBox`` (controls over the picture) wired to ``figure``'s frames.

    Returns ``(box, controls, image)``: ``controls`` maps parameter name -> widget, ``image`` is
    the ``HTML`` widget holding the ``<img>`` (an ``<img>`` rather than ``ipywidgets.Image``
    because it carries the alt text).
    """
    import ipywidgets

    controls = {}
    for name, control in figure.controls.items():
        kwargs = dict(options=list(zip(control.labels, control.values)), index=control.default_index,
                      description=figure.labels[name], style={"description_width": "initial"})
        if control.kind == "slider":
            controls[name] = ipywidgets.SelectionSlider(continuous_update=True, **kwargs)
        else:
            controls[name] = ipywidgets.Dropdown(**kwargs)
    image = ipywidgets.HTML(value=figure.image_tag(figure.default_position))

    def redraw(change):
        image.value = figure.image_tag(tuple(widget.index for widget in controls.values()))

    for widget in controls.values():
        widget.observe(redraw, names="value")
    box = ipywidgets.VBox([*controls.values(), image])
    return box, controls, image
