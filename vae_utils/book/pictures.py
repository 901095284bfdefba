"""Pictures for the explorer and the dial: decodes as bytes, PNG encoding, data URIs, and
matplotlib figures drawn off-screen into pixel arrays. Both the live widgets and the static
pages show these same pictures. The explorers and the dial check what they pass in."""
from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ..latent import decode_latents, encode_means, latent_grid, tile_images


def to_uint8(pixels: torch.Tensor) -> np.ndarray:
    """Pixel values in [0, 1] as ``uint8`` (0 = black, 255 = white)."""
    return (pixels.detach().cpu().numpy() * 255).round().astype(np.uint8)


def decode_uint8(model, z: torch.Tensor) -> np.ndarray:
    """Decoded images for codes ``z`` as ``uint8`` arrays ``[N, 28, 28]``."""
    return to_uint8(decode_latents(model, z)[:, 0])


def enlarge(img: np.ndarray, factor: int = 6) -> np.ndarray:
    """Each pixel repeated ``factor`` times along both axes (sharp edges when shown large)."""
    return img.repeat(factor, axis=0).repeat(factor, axis=1)


def _grey_or_rgb(array: np.ndarray) -> np.ndarray:
    """A ``uint8`` grey ``[H, W]`` or RGB(A) ``[H, W, 3 or 4]`` picture; ``[H, W, 1]`` becomes grey."""
    return array[..., 0] if array.ndim == 3 and array.shape[2] == 1 else array


def quantize_grey(array: np.ndarray, levels: int) -> np.ndarray:
    """The grey values a PNG with ``levels`` evenly spaced grey levels shows for a ``uint8`` picture."""
    step = 255 / (levels - 1)
    return (np.round(np.round(_grey_or_rgb(array) / step) * step)).astype(np.uint8)


def png_bytes(array: np.ndarray, smallest: bool = False, levels: int = 256) -> bytes:
    """Encode a ``uint8`` grey ``[H, W]`` or RGB(A) ``[H, W, C]`` array as PNG.

    Fast by default (live sliders); ``smallest=True`` compresses hardest (precomputed pages), and
    stores colour pictures as a 64-colour palette. ``levels=16`` stores a grey picture with 16
    grey levels (4 bits a pixel): half the bytes, the values of :func:`quantize_grey`.
    """
    array = _grey_or_rgb(array)
    buffer = io.BytesIO()
    if levels == 256 and array.ndim == 3 and smallest:
        image = Image.fromarray(array[..., :3]).quantize(colors=64, method=Image.Quantize.MEDIANCUT,
                                                         dither=Image.Dither.NONE)
        image.save(buffer, format="png", compress_level=9, optimize=True)
    elif levels == 256:
        Image.fromarray(array).save(buffer, format="png", compress_level=9 if smallest else 1, optimize=smallest)
    else:  # a grey [H, W] picture
        index = np.round(array / (255 / (levels - 1))).astype(np.uint8)
        image = Image.fromarray(index)  # mode "L"; the palette below makes it "P" (mode= is deprecated in Pillow 11.3)
        image.putpalette([v for i in range(levels) for v in (round(i * 255 / (levels - 1)),) * 3])
        image.save(buffer, format="png", bits=4, compress_level=9 if smallest else 1, optimize=False)
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    """A PNG as a ``data:`` URI, so a page needs no other file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure_rgb(fig) -> np.ndarray:
    """A matplotlib figure drawn off-screen (whatever the notebook's backend) as ``uint8`` RGB."""
    # deferred: matplotlib (0.3 s) loads only when a picture is drawn
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


@dataclass
class Scatter:
    """A latent scatter as pixels, and where its axes' corners are, in fractions of its size."""

    rgb: np.ndarray  # [H, W, 3] uint8
    left: float  # x_range[0], as a fraction of the width
    right: float
    top: float  # y_range[1], as a fraction of the height
    bottom: float

    def to_pixel(self, z1: float, z2: float, box) -> tuple[float, float]:
        """The pixel (column, row) of the code ``(z1, z2)``."""
        (x0, x1), (y0, y1) = box
        height, width = self.rgb.shape[:2]
        return (width * (self.left + (z1 - x0) / (x1 - x0) * (self.right - self.left)),
                height * (self.bottom - (z2 - y0) / (y1 - y0) * (self.bottom - self.top)))


def scatter_background(model, images, labels, box, size_px: int = 260) -> Scatter:
    """The encoder means of ``images`` over ``box``, coloured by ``labels``, drawn once."""
    from matplotlib.figure import Figure  # deferred: matplotlib (0.3 s) loads only when a picture is drawn

    from ..plotting import DIGIT_CMAP  # deferred: plotting imports matplotlib.pyplot

    dpi = 100
    fig = Figure(figsize=(size_px / dpi, size_px / dpi), dpi=dpi)
    ax = fig.add_axes((0.17, 0.15, 0.78, 0.78))
    if images is not None:
        mu = encode_means(model, images)
        colours = labels if labels is not None else np.zeros(len(mu))
        ax.scatter(mu[:, 0], mu[:, 1], c=colours, cmap=DIGIT_CMAP, vmin=-0.5, vmax=9.5, s=2, alpha=0.7)
    (x0, x1), (y0, y1) = box
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="$z_1$", ylabel="$z_2$")
    ax.tick_params(labelsize=7)
    rgb = figure_rgb(fig)
    (left, bottom), (right, top) = ax.transData.transform([(x0, y0), (x1, y1)])
    height, width = rgb.shape[:2]
    return Scatter(rgb, left / width, right / width, 1 - top / height, 1 - bottom / height)


def grid_sprite(model, box, grid: int) -> np.ndarray:
    """Decodes of a ``grid x grid`` lattice over ``box`` tiled into one ``uint8`` picture.

    The tile in row ``r``, column ``c`` is the decode at ``z = (x_c, y_{grid-1-r})``
    (see :func:`~vae_utils.latent.latent_grid`).
    """
    z = latent_grid(*box, grid)
    return tile_images(torch.from_numpy(decode_uint8(model, z)).unsqueeze(1), grid)


def sprite_bytes_bound(grid: int, levels: int) -> int:
    """An upper bound on the base64 bytes of one ``grid x grid`` sprite PNG, whatever the decodes:
    every row stored raw (a filter byte and the pixels; zlib's worst case adds about 0.1 %), plus
    the PNG's chunks, times 4/3 for base64."""
    side = 28 * grid
    row = (side if levels == 256 else -(-side // 2)) + 1
    return -(-4 * (int(side * row * 1.001) + 2048) // 3)
