"""Sliders over a 2-D latent space: live ipywidgets for a kernel, precomputed HTML for the static book.

Both views decode through :func:`decode_uint8` and draw the latent scatter with the same
private renderer, so the pictures in the live and the static explorer are the same maths.
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
from dataclasses import dataclass

import numpy as np
import torch

from . import _checks
from .latent import decode_latents, encode_means, latent_box, latent_grid, tile_images
from .models import VAE
from .plotting import DIGIT_CMAP

PRIOR_BOX = ((-3.0, 3.0), (-3.0, 3.0))
MAX_STATIC_BYTES = 1_500_000  # per explorer: a page must stay light
DEFAULT_GRID = 33
_explorer_ids = itertools.count()  # element ids unique per explorer on a page


def _uint8(pixels: torch.Tensor) -> np.ndarray:
    """Pixel values in [0, 1] as ``uint8`` (0 = black, 255 = white)."""
    return (pixels.numpy() * 255).round().astype(np.uint8)


def decode_uint8(model: VAE, z: torch.Tensor) -> np.ndarray:
    """Decoded images for codes ``z`` as ``uint8`` arrays ``[N, 28, 28]``."""
    return _uint8(decode_latents(model, z)[:, 0])


def quantize_grey(array: np.ndarray, levels: int) -> np.ndarray:
    """The grey values a PNG with ``levels`` evenly spaced grey levels shows for a ``uint8`` picture."""
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8 or array.size == 0:
        raise ValueError(f"array must be a non-empty uint8 numpy array, got "
                         f"{getattr(array, 'dtype', type(array).__name__)} {getattr(array, 'shape', '')}")
    _checks.one_of(levels, "levels", (16, 256))
    step = 255 / (levels - 1)
    return (np.round(np.round(array / step) * step)).astype(np.uint8)


def png_bytes(array: np.ndarray, smallest: bool = False, levels: int = 256) -> bytes:
    """Encode a ``uint8`` grey ``[H, W]`` or RGB(A) ``[H, W, C]`` array as PNG.

    Fast by default (live sliders); ``smallest=True`` compresses hardest (precomputed pages).
    ``levels=16`` stores a grey picture with 16 grey levels (4 bits a pixel): half the bytes,
    the values of :func:`quantize_grey`.
    """
    from PIL import Image

    if not isinstance(array, np.ndarray) or array.dtype != np.uint8 or array.ndim not in (2, 3) or array.size == 0:
        raise ValueError(f"array must be a non-empty uint8 [H, W] or [H, W, C] numpy array, got "
                         f"{getattr(array, 'dtype', type(array).__name__)} {getattr(array, 'shape', '')}")
    _checks.flag(smallest, "smallest")
    _checks.one_of(levels, "levels", (16, 256))
    buffer = io.BytesIO()
    if levels == 256 and array.ndim == 3 and smallest:
        # Precomputed colour pictures (scatters) as a 64-colour palette: a quarter of the bytes.
        image = Image.fromarray(array[..., :3]).quantize(colors=64, method=Image.Quantize.MEDIANCUT,
                                                         dither=Image.Dither.NONE)
        image.save(buffer, format="png", compress_level=9, optimize=True)
    elif levels == 256:
        Image.fromarray(array).save(buffer, format="png", compress_level=9 if smallest else 1, optimize=smallest)
    else:
        if array.ndim != 2:
            raise ValueError(f"array must be a grey [H, W] picture for levels={levels}, got shape {array.shape}")
        index = np.round(array / (255 / (levels - 1))).astype(np.uint8)
        image = Image.fromarray(index, mode="P")
        image.putpalette([v for i in range(levels) for v in (round(i * 255 / (levels - 1)),) * 3])
        image.save(buffer, format="png", bits=4, compress_level=9 if smallest else 1, optimize=False)
    return buffer.getvalue()


# --- inputs -------------------------------------------------------------------------------


def _check_models(models) -> dict[str, VAE]:
    if not isinstance(models, dict) or not models:
        raise ValueError("models must be a non-empty dict of name -> VAE")
    for name, model in models.items():
        if not isinstance(model, VAE):
            raise ValueError(f"models[{name!r}] must be a vae_utils.models.VAE, got {type(model).__name__}")
        if model.latent_dim != 2:
            raise ValueError(f"models[{name!r}] must have latent_dim=2 for the latent plane, got {model.latent_dim}")
        if model.training:
            raise ValueError(f"models[{name!r}] is in training mode; call model.eval() first")
        _checks.finite_model(model, f"models[{name!r}]")
    return models


def _check_data(images, labels) -> None:
    """Optional test images (for the data box and the scatter) and their optional labels."""
    if images is not None:
        _checks.images(images, "images")
    if labels is not None:
        if images is None:
            raise ValueError("labels need images: pass the images they label")
        _checks.labels(labels, "labels", images.shape[0])


def model_boxes(models: dict[str, VAE], images: torch.Tensor | None = None, ranges: dict | None = None) -> dict:
    """Slider ranges per model: ``ranges[name]`` if given, else the model's data box, else the prior's."""
    models = _check_models(models)
    _check_data(images, None)
    if ranges is not None:
        if not isinstance(ranges, dict):
            raise ValueError(f"ranges must be a dict of model name -> ((z1 low, z1 high), (z2 low, z2 high)), got {ranges!r}")
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


@dataclass
class _Scatter:
    rgb: np.ndarray  # [H, W, 3] uint8
    left: float  # pixel column of x_range[0]
    right: float
    top: float  # pixel row of y_range[1]
    bottom: float

    def to_pixel(self, z1: float, z2: float, box) -> tuple[float, float]:
        (x0, x1), (y0, y1) = box
        return (self.left + (z1 - x0) / (x1 - x0) * (self.right - self.left),
                self.bottom - (z2 - y0) / (y1 - y0) * (self.bottom - self.top))


def _scatter_background(model, images, labels, box, size_px: int = 260) -> _Scatter:
    """The test-set means over ``box``, rendered once, with its data-to-pixel mapping."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    fig = Figure(figsize=(size_px / dpi, size_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)  # draws off-screen, whatever the notebook's backend
    ax = fig.add_axes((0.17, 0.15, 0.78, 0.78))
    if images is not None:
        mu = encode_means(model, images)
        colours = labels if labels is not None else np.zeros(len(mu))
        ax.scatter(mu[:, 0], mu[:, 1], c=colours, cmap=DIGIT_CMAP, vmin=-0.5, vmax=9.5, s=2, alpha=0.7)
    (x0, x1), (y0, y1) = box
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="$z_1$", ylabel="$z_2$")
    ax.tick_params(labelsize=7)
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    (left, bottom_mpl), (right, top_mpl) = ax.transData.transform([(x0, y0), (x1, y1)])
    height = rgb.shape[0]
    return _Scatter(rgb, float(left), float(right), float(height - top_mpl), float(height - bottom_mpl))


# --- live ---------------------------------------------------------------------------------


def _enlarge(img: np.ndarray, factor: int = 6) -> np.ndarray:
    return img.repeat(factor, axis=0).repeat(factor, axis=1)


def latent_explorer(models: dict[str, VAE], images: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                    ranges: dict | None = None):
    """Live sliders over :math:`(z_1, z_2)`: the decoded digit and a marker on the latent scatter.

    Returns an ``ipywidgets.VBox`` with attributes ``model_toggle``, ``z1``, ``z2``, ``digit`` and
    ``scatter`` (the widgets) and ``boxes`` (each model's slider ranges). Moving a slider swaps the
    two images' bytes in place; no figure is redrawn.
    """
    import ipywidgets as widgets

    models = _check_models(models)
    _check_data(images, labels)
    boxes = model_boxes(models, images, ranges)
    backgrounds = {name: _scatter_background(m, images, labels, boxes[name]) for name, m in models.items()}

    first = next(iter(models))
    toggle = widgets.ToggleButtons(options=list(models), value=first, description="model")
    sliders = [widgets.FloatSlider(description=f"z{k + 1}", continuous_update=True, readout_format=".2f",
                                   layout=widgets.Layout(width="420px")) for k in range(2)]
    digit = widgets.Image(format="png", layout=widgets.Layout(width="168px", height="168px"))
    scatter = widgets.Image(format="png")

    def set_ranges(name):
        for slider, (low, high) in zip(sliders, boxes[name]):
            slider.min, slider.max = min(slider.min, low), max(slider.max, high)
            slider.value = (low + high) / 2
            slider.min, slider.max = low, high
            slider.step = (high - low) / 200

    def update(_=None):
        name = toggle.value
        z1, z2 = (s.value for s in sliders)
        digit.value = png_bytes(_enlarge(decode_uint8(models[name], torch.tensor([[z1, z2]]))[0]))
        background = backgrounds[name]
        rgb = background.rgb.copy()
        col, row = (int(round(v)) for v in background.to_pixel(z1, z2, boxes[name]))
        rgb[max(row - 6, 0):row + 7, max(col - 1, 0):col + 2] = (220, 0, 0)  # a red cross at z
        rgb[max(row - 1, 0):row + 2, max(col - 6, 0):col + 7] = (220, 0, 0)
        scatter.value = png_bytes(rgb)

    def switch(_=None):
        for s in sliders:
            s.unobserve(update, "value")
        set_ranges(toggle.value)
        for s in sliders:
            s.observe(update, "value")
        update()

    toggle.observe(switch, "value")
    switch()
    box = widgets.VBox([toggle, *sliders, widgets.HBox([digit, scatter])])
    box.model_toggle, box.z1, box.z2, box.digit, box.scatter, box.boxes = toggle, *sliders, digit, scatter, boxes
    return box


def path_explorer(models: dict[str, VAE], images: torch.Tensor, start: int = 0, end: int = 1):
    """A slider :math:`t \\in [0, 1]` along the straight line between the latent means of two
    images, decoded by every model side by side. ``start`` and ``end`` pick the images.

    Returns an ``ipywidgets.VBox`` with attributes ``start``, ``end``, ``t`` and ``decoded``
    (name -> Image widget).
    """
    import ipywidgets as widgets

    models = _check_models(models)
    _checks.images(images, "images")
    n = images.shape[0]
    for value, name in ((start, "start"), (end, "end")):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n:
            raise ValueError(f"{name} must be an image index in [0, {n - 1}], got {value!r}")
    pickers = [widgets.BoundedIntText(value=v, min=0, max=n - 1, description=d, layout=widgets.Layout(width="200px"))
               for v, d in ((start, "start image"), (end, "end image"))]
    ends = [widgets.Image(format="png", layout=widgets.Layout(width="84px", height="84px")) for _ in range(2)]
    t = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.01, description="t", continuous_update=True,
                            layout=widgets.Layout(width="420px"))
    decoded = {name: widgets.Image(format="png", layout=widgets.Layout(width="168px", height="168px")) for name in models}
    means = {}

    def pick(_=None):
        idx = [p.value for p in pickers]
        for widget, i in zip(ends, idx):
            widget.value = png_bytes(_enlarge(_uint8(images[i, 0]), 3))
        for name, model in models.items():
            means[name] = encode_means(model, images[idx])
        walk()

    def walk(_=None):
        for name, model in models.items():
            a, b = means[name][:1], means[name][1:]
            z = a + t.value * (b - a)
            decoded[name].value = png_bytes(_enlarge(decode_uint8(model, z)[0]))

    for p in pickers:
        p.observe(pick, "value")
    t.observe(walk, "value")
    pick()
    panels = [widgets.VBox([widgets.Label(name), image]) for name, image in decoded.items()]
    box = widgets.VBox([widgets.HBox([pickers[0], ends[0], pickers[1], ends[1]]), t, widgets.HBox(panels)])
    box.start, box.end, box.t, box.decoded = pickers[0], pickers[1], t, decoded
    return box


# --- static -------------------------------------------------------------------------------


def grid_sprite(model: VAE, box, grid: int) -> np.ndarray:
    """Decodes of a ``grid x grid`` lattice over ``box`` tiled into one ``uint8`` picture.

    The tile in row ``r``, column ``c`` is the decode at ``z = (x_c, y_{grid-1-r})``
    (see :func:`~vae_utils.latent.latent_grid`).
    """
    grid = _checks.positive_int(grid, "grid", minimum=2)
    try:
        x_range, y_range = box
    except (TypeError, ValueError):
        raise ValueError(f"box must be a pair of (low, high) pairs, got {box!r}") from None
    z = latent_grid(x_range, y_range, grid)
    tiles = torch.from_numpy(decode_uint8(model, z)).unsqueeze(1)
    return tile_images(tiles, grid).astype(np.uint8)


def _data_uri(array: np.ndarray, levels: int = 256) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(array, smallest=True, levels=levels)).decode("ascii")


def sprite_bytes_bound(grid: int, levels: int) -> int:
    """An upper bound on the base64 bytes of one ``grid x grid`` sprite PNG, whatever the decodes:
    every row stored raw (a filter byte and the pixels; zlib's worst case adds about 0.1 %), plus
    the PNG's chunks, times 4/3 for base64."""
    grid = _checks.positive_int(grid, "grid", minimum=2)
    _checks.one_of(levels, "levels", (16, 256))
    side = 28 * grid
    row = (side if levels == 256 else -(-side // 2)) + 1
    return -(-4 * (int(side * row * 1.001) + 2048) // 3)


def _fit(grid, n_models: int, room: int) -> tuple[int, int]:
    """The grid and grey levels for ``n_models`` sprites in ``room`` bytes, decided before decoding."""
    if grid is not None:
        grid = _checks.positive_int(grid, "grid", minimum=2)
        for levels in (256, 16):
            if n_models * sprite_bytes_bound(grid, levels) <= room:
                return grid, levels
        raise ValueError(f"grid={grid} cannot fit {n_models} model(s) in the {MAX_STATIC_BYTES:,}-byte budget "
                         f"even with 16 grey levels; use a grid of at most {_fit(None, n_models, room)[0]}")
    for g in range(DEFAULT_GRID, 1, -1):
        for levels in (256, 16):
            if n_models * sprite_bytes_bound(g, levels) <= room:
                return g, levels
    raise ValueError(f"models: {n_models} models cannot fit in the {MAX_STATIC_BYTES:,}-byte budget; pass fewer")


def static_explorer(models: dict[str, VAE], grid: int | None = None, images: torch.Tensor | None = None,
                    labels: torch.Tensor | None = None, ranges: dict | None = None):
    """Kernel-free sliders: precomputed decodes on a ``grid x grid`` lattice per model.

    Emits self-contained HTML and JavaScript (no external script, no kernel): two range inputs,
    a model toggle, the decoded digit (drawn from one PNG sprite per model) and a marker on a
    small latent scatter. Returns ``IPython.display.HTML``.

    The page must stay within ``MAX_STATIC_BYTES`` for *any* models, so the size is bounded before
    anything is decoded: with ``grid=None`` the explorer uses a 33 x 33 grid with 256 grey levels
    if that always fits, else 16 grey levels, else the largest grid that fits; an explicit ``grid``
    that cannot fit raises at once. The page says which grid and levels it uses.
    """
    from IPython.display import HTML

    models = _check_models(models)
    _check_data(images, labels)
    boxes = model_boxes(models, images, ranges)
    scatters = {name: _scatter_background(model, images, labels, boxes[name]) for name, model in models.items()}
    scatter_uris = {name: _data_uri(sc.rgb) for name, sc in scatters.items()}
    room = MAX_STATIC_BYTES - len(_STATIC_TEMPLATE.encode()) - 4096 - sum(len(u) for u in scatter_uris.values())
    grid, levels = _fit(grid, len(models), room)
    payload = {}
    for name, model in models.items():
        scatter = scatters[name]
        payload[name] = {
            "sprite": _data_uri(grid_sprite(model, boxes[name], grid), levels=levels),
            "scatter": scatter_uris[name],
            "box": boxes[name],
            "px": [scatter.left, scatter.right, scatter.top, scatter.bottom],
        }
    data = json.dumps({"grid": grid, "models": payload}).replace("</", "<\\/")  # no early </script>
    uid = f"lx{next(_explorer_ids)}-{hashlib.sha1(data.encode()).hexdigest()[:10]}"
    note = f"precomputed on a {grid} &times; {grid} grid per model, {levels} grey levels"
    page = (_STATIC_TEMPLATE.replace("UID", uid).replace("GRID_MAX", str(grid - 1)).replace("GRID_NOTE", note)
            .replace("DATA_JSON", data))
    buttons = "".join(f'<button type="button" data-model="{i}">{html.escape(str(name))}</button>'
                      for i, name in enumerate(models))
    page = page.replace("BUTTONS", buttons)
    if len(page.encode()) > MAX_STATIC_BYTES:  # cannot happen: the bound above holds for any decodes
        raise AssertionError(f"the explorer is {len(page.encode()):,} bytes despite its size bound")
    return HTML(page)


_STATIC_TEMPLATE = """
<div id="UID" class="latent-explorer" style="font-family: sans-serif; font-size: 14px;">
  <div class="lx-models" style="margin-bottom: 6px;">model: BUTTONS</div>
  <label>z1 <input class="lx-z1" type="range" min="0" max="GRID_MAX" step="1" style="width: 300px;"
                   aria-label="z1, the first latent coordinate"></label>
  <span class="lx-z1-value"></span><br>
  <label>z2 <input class="lx-z2" type="range" min="0" max="GRID_MAX" step="1" style="width: 300px;"
                   aria-label="z2, the second latent coordinate"></label>
  <span class="lx-z2-value"></span>
  <div style="display: flex; align-items: center; gap: 16px; margin-top: 8px;">
    <canvas class="lx-digit" width="168" height="168" style="border: 1px solid #888; image-rendering: pixelated;"
            role="img" aria-label="decoded digit"></canvas>
    <div style="position: relative;">
      <img class="lx-scatter" alt="latent means of the test digits" style="display: block;">
      <div class="lx-marker" style="position: absolute; width: 10px; height: 10px; margin: -6px 0 0 -6px;
           border: 2px solid #d00; border-radius: 50%; pointer-events: none;"></div>
    </div>
  </div>
</div>
<p class="lx-note" style="font-size: 12px; color: #555;">Decodes GRID_NOTE.</p>
<script>
(function () {
  const root = document.getElementById("UID");
  const data = DATA_JSON;
  const names = Object.keys(data.models);
  const n = data.grid;
  const sprites = names.map(name => { const im = new Image(); im.src = data.models[name].sprite; return im; });
  const z1 = root.querySelector(".lx-z1"), z2 = root.querySelector(".lx-z2");
  const canvas = root.querySelector(".lx-digit"), ctx = canvas.getContext("2d");
  const scatter = root.querySelector(".lx-scatter"), marker = root.querySelector(".lx-marker");
  const buttons = root.querySelectorAll("button[data-model]");
  let current = 0;
  z1.value = z2.value = String((n - 1) / 2);
  function coordinate(box, k) { return box[0] + (box[1] - box[0]) * k / (n - 1); }
  function draw() {
    const m = data.models[names[current]], i = Number(z1.value), j = Number(z2.value);
    const x = coordinate(m.box[0], i), y = coordinate(m.box[1], j);
    root.querySelector(".lx-z1-value").textContent = x.toFixed(2);
    root.querySelector(".lx-z2-value").textContent = y.toFixed(2);
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    // Row 0 of the sprite is the top of the box (highest z2); column i is the i-th z1.
    ctx.drawImage(sprites[current], i * 28, (n - 1 - j) * 28, 28, 28, 0, 0, canvas.width, canvas.height);
    const px = m.px;
    marker.style.left = (px[0] + (px[1] - px[0]) * i / (n - 1)) + "px";
    marker.style.top = (px[3] - (px[3] - px[2]) * j / (n - 1)) + "px";
    buttons.forEach((b, k) => { b.style.fontWeight = k === current ? "bold" : "normal"; });
  }
  function select(k) {
    current = k;
    scatter.src = data.models[names[k]].scatter;
    if (sprites[k].complete) draw(); else sprites[k].onload = draw;
  }
  buttons.forEach((b, k) => b.addEventListener("click", () => select(k)));
  z1.addEventListener("input", draw);
  z2.addEventListener("input", draw);
  select(0);
})();
</script>
"""
