"""Sliders over a 2-D latent space: live ipywidgets for a kernel, a precomputed page for the static book.

Both views decode through :func:`vae_utils.book.pictures.decode_uint8` and draw the same scatter
(:func:`vae_utils.book.pictures.scatter_background`), so the live and the static explorer show the
same maths. The explorers are doors where a reader's models, data and choices enter: they
check them (:func:`check_models`, :func:`check_data`), and the pictures behind them trust that.
"""
from __future__ import annotations

import torch
from IPython.display import HTML

from .. import _checks
from ..latent import encode_means, latent_box
from ..models import VAE
from . import pages, pictures

PRIOR_BOX = ((-3.0, 3.0), (-3.0, 3.0))
DEFAULT_GRID = 33


def check_models(models) -> dict[str, VAE]:
    """A non-empty dict of name -> 2-D VAE with finite weights (the explorers' and the dial's models)."""
    if not isinstance(models, dict) or not models:
        raise ValueError("models must be a non-empty dict of name -> VAE")
    for name, model in models.items():
        if not isinstance(model, VAE) or model.latent_dim != 2:
            raise ValueError(f"models[{name!r}] must be a vae_utils.models.VAE with latent_dim=2 for the latent plane, "
                             f"got {getattr(model, 'config', type(model).__name__)}")
        _checks.finite_model(model, f"models[{name!r}]")
    return models


def check_data(images, labels) -> None:
    """Optional test images (for the data box and the scatter) and their optional labels."""
    if images is not None:
        _checks.images(images, "images")
    if labels is not None:
        if images is None:
            raise ValueError("labels need images: pass the images they label")
        _checks.labels(labels, "labels", images.shape[0])


def model_boxes(models: dict[str, VAE], images: torch.Tensor | None = None, ranges: dict | None = None) -> dict:
    """Slider ranges per model: ``ranges[name]`` if given, else the model's data box, else the prior's.

    ``models`` and ``images`` are checked ones (:func:`check_models`, :func:`check_data`); ``ranges``,
    a dict of model name -> ``((z1 low, z1 high), (z2 low, z2 high))``, is checked here: a name
    that is no model's would be ignored, silently."""
    if ranges is not None:
        unknown = [k for k in ranges if k not in models]
        if unknown:
            raise ValueError(f"ranges names no model: {unknown}; the models are {list(models)}")
    boxes = {}
    for name, model in models.items():
        if ranges and name in ranges:
            try:
                (x, y) = ranges[name]
            except (TypeError, ValueError):
                raise ValueError(f"ranges[{name!r}] must be a pair of (low, high) pairs, got {ranges[name]!r}") from None
            boxes[name] = (_checks.value_range(x, f"ranges[{name!r}][0]"), _checks.value_range(y, f"ranges[{name!r}][1]"))
        elif images is not None:
            boxes[name] = tuple(latent_box(encode_means(model, images)))
        else:
            boxes[name] = PRIOR_BOX
    return boxes


# --- live ---------------------------------------------------------------------------------


def latent_explorer(models: dict[str, VAE], images: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                    ranges: dict | None = None):
    """Live sliders over :math:`(z_1, z_2)`: the decoded digit and a marker on the latent scatter.

    Returns an ``ipywidgets.VBox`` with attributes ``model_toggle``, ``z1``, ``z2``, ``digit`` and
    ``scatter`` (the widgets) and ``boxes`` (each model's slider ranges). Moving a slider swaps the
    two images' bytes in place; no figure is redrawn.
    """
    import ipywidgets as widgets  # deferred: ipywidgets is an optional extra, needed by the live views only

    models = check_models(models)
    check_data(images, labels)
    boxes = model_boxes(models, images, ranges)
    backgrounds = {name: pictures.scatter_background(m, images, labels, boxes[name]) for name, m in models.items()}

    names = list(models)
    toggle = widgets.ToggleButtons(options=names, value=names[0], description="model")
    sliders = [widgets.FloatSlider(description=f"z{k + 1}", continuous_update=True, readout_format=".2f",
                                   layout=widgets.Layout(width="420px", max_width="100%")) for k in range(2)]
    digit = widgets.Image(format="png", layout=widgets.Layout(width="168px", height="168px"))
    scatter = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))

    def set_ranges(name):
        for slider, (low, high) in zip(sliders, boxes[name]):
            slider.min, slider.max = min(slider.min, low), max(slider.max, high)
            slider.value = (low + high) / 2
            slider.min, slider.max = low, high
            slider.step = (high - low) / 200

    def update(_=None):
        name = toggle.value
        z1, z2 = (s.value for s in sliders)
        digit.value = pictures.png_bytes(pictures.enlarge(pictures.decode_uint8(models[name], torch.tensor([[z1, z2]]))[0]))
        background = backgrounds[name]
        rgb = background.rgb.copy()
        col, row = (int(round(v)) for v in background.to_pixel(z1, z2, boxes[name]))
        rgb[max(row - 6, 0):row + 7, max(col - 1, 0):col + 2] = (220, 0, 0)  # a red cross at z
        rgb[max(row - 1, 0):row + 2, max(col - 6, 0):col + 7] = (220, 0, 0)
        scatter.value = pictures.png_bytes(rgb)

    def switch(_=None):
        for s in sliders:
            s.unobserve(update, "value")
        set_ranges(toggle.value)
        for s in sliders:
            s.observe(update, "value")
        update()

    toggle.observe(switch, "value")
    switch()
    box = widgets.VBox([toggle, *sliders, widgets.HBox([digit, scatter], layout=widgets.Layout(flex_flow="row wrap"))])
    box.model_toggle, box.z1, box.z2, box.digit, box.scatter, box.boxes = toggle, *sliders, digit, scatter, boxes
    return box


def path_explorer(models: dict[str, VAE], images: torch.Tensor, start: int = 0, end: int = 1):
    """A slider :math:`t \\in [0, 1]` along the straight line between the latent means of two
    images, decoded by every model side by side. ``start`` and ``end`` pick the images.

    Returns an ``ipywidgets.VBox`` with attributes ``start``, ``end``, ``t`` and ``decoded``
    (name -> Image widget).
    """
    import ipywidgets as widgets  # deferred: ipywidgets is an optional extra, needed by the live views only

    models = check_models(models)
    _checks.images(images, "images")
    n = images.shape[0]
    for value, name in ((start, "start"), (end, "end")):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n:
            raise ValueError(f"{name} must be an image index in [0, {n - 1}], got {value!r}")
    pickers = [widgets.BoundedIntText(value=v, min=0, max=n - 1, description=d, layout=widgets.Layout(width="200px"))
               for v, d in ((start, "start image"), (end, "end image"))]
    ends = [widgets.Image(format="png", layout=widgets.Layout(width="84px", height="84px")) for _ in range(2)]
    t = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.01, description="t", continuous_update=True,
                            layout=widgets.Layout(width="420px", max_width="100%"))
    decoded = {name: widgets.Image(format="png", layout=widgets.Layout(width="168px", height="168px")) for name in models}
    means = {}

    def pick(_=None):
        idx = [p.value for p in pickers]
        for widget, i in zip(ends, idx):
            widget.value = pictures.png_bytes(pictures.enlarge(pictures.to_uint8(images[i, 0]), 3))
        for name, model in models.items():
            means[name] = encode_means(model, images[idx])
        walk()

    def walk(_=None):
        for name, model in models.items():
            a, b = means[name][:1], means[name][1:]
            decoded[name].value = pictures.png_bytes(pictures.enlarge(pictures.decode_uint8(model, a + t.value * (b - a))[0]))

    for p in pickers:
        p.observe(pick, "value")
    t.observe(walk, "value")
    pick()
    panels = [widgets.VBox([widgets.Label(name), image]) for name, image in decoded.items()]
    wrap = widgets.Layout(flex_flow="row wrap")
    box = widgets.VBox([widgets.HBox([pickers[0], ends[0], pickers[1], ends[1]], layout=wrap), t,
                        widgets.HBox(panels, layout=wrap)])
    box.start, box.end, box.t, box.decoded = pickers[0], pickers[1], t, decoded
    return box


# --- static -------------------------------------------------------------------------------


def _fit(grid, n_models: int, room: int) -> tuple[int, int]:
    """The grid and grey levels for ``n_models`` sprites in ``room`` bytes, decided before decoding:
    ``grid`` (a checked one) if it fits, else with ``grid=None`` the largest up to ``DEFAULT_GRID``."""
    for g in range(DEFAULT_GRID, 1, -1) if grid is None else (grid,):
        for levels in (256, 16):
            if n_models * pictures.sprite_bytes_bound(g, levels) <= room:
                return g, levels
    budget = f"the {_checks.LIMITS['page_bytes']:,}-byte budget"
    if grid is not None:
        raise ValueError(f"grid={grid} cannot fit {n_models} model(s) in {budget} even with 16 grey levels; "
                         f"use a grid of at most {_fit(None, n_models, room)[0]}")
    raise ValueError(f"models: {n_models} models with these names cannot fit in {budget}; pass fewer, or shorter names")


def static_explorer(models: dict[str, VAE], grid: int | None = None, images: torch.Tensor | None = None,
                    labels: torch.Tensor | None = None, ranges: dict | None = None):
    """Kernel-free sliders: precomputed decodes on a ``grid x grid`` lattice per model.

    Emits self-contained HTML and JavaScript (no external script, no kernel): two range inputs,
    a model toggle, the decoded digit (drawn from one PNG sprite per model) and a marker on a
    small latent scatter. Returns ``IPython.display.HTML``.

    The page must stay within ``LIMITS["page_bytes"]`` (1.5 MB, ``vae_utils._checks``) for *any*
    models, so the size is bounded before anything is decoded: with ``grid=None`` the explorer uses
    a 33 x 33 grid with 256 grey levels if that always fits, else 16 grey levels, else the largest
    grid that fits; an explicit ``grid`` that cannot fit raises at once. The page says which grid
    and levels it uses.
    """
    models = check_models(models)
    check_data(images, labels)
    grid = None if grid is None else _checks.positive_int(grid, "grid", minimum=2)
    boxes = model_boxes(models, images, ranges)
    scatters = {name: pictures.scatter_background(model, images, labels, boxes[name]) for name, model in models.items()}
    scatter_uris = {name: pictures.data_uri(pictures.png_bytes(sc.rgb, smallest=True)) for name, sc in scatters.items()}
    budget = _checks.LIMITS["page_bytes"]
    room = (budget - 8192 - sum(len(u) for u in scatter_uris.values())
            - sum(len(str(name).encode()) * 6 for name in models))  # a name's worst-case JSON escaping
    grid, levels = _fit(grid, len(models), room)
    entries = [{"name": str(name), "box": boxes[name], "scatter": scatter_uris[name],
                "corners": [scatters[name].left, scatters[name].right, scatters[name].top, scatters[name].bottom],
                "sprite": pictures.data_uri(pictures.png_bytes(pictures.grid_sprite(model, boxes[name], grid),
                                                               smallest=True, levels=levels))}
               for name, model in models.items()]
    page = pages.render("explorer", {"grid": grid, "models": entries}, grid_max=str(grid - 1),
                        grid_note=f"on a {grid} × {grid} grid per model, {levels} grey levels")
    if len(page.encode()) > budget:  # cannot happen: the bound above holds for any decodes
        raise RuntimeError(f"the explorer is {len(page.encode()):,} bytes despite its size bound")
    return HTML(page)
