r"""The :math:`\beta` dial: one slider over a sweep of models, showing how the latent space changes.

:func:`dial_frames` renders, for each :math:`\beta`, the latent scatter of the test means (on the
model's own scale and on one scale common to the sweep), the aggregate posterior :math:`\bar q(z)`
over :math:`(-3, 3)^2` beside :math:`\mathcal N(0, I)`, the decoded grid over :math:`(-2, 2)^2`, a
strip of decodes of the same fixed draws :math:`z \sim \mathcal N(0, I)`, the sweep's curves with
the current :math:`\beta` marked, and the numbers. :func:`beta_dial` (ipywidgets, in a kernel) and
:func:`static_beta_dial` (HTML and a few lines of JavaScript, no kernel) show the *same* frames,
so the two views cannot disagree. The dial is a door where a reader's models, data and choices
enter: :func:`dial_frames` and the two views check them.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import torch
from IPython.display import HTML

from .. import _checks
from ..latent import encode_means, latent_box, tile_images
from ..metrics import AGGREGATE_IMAGES, Summary
from . import pages, pictures
from .explore import check_models

DIAL_PRIOR_BOX = ((-2.0, 2.0), (-2.0, 2.0))
DENSITY_BOX = ((-3.0, 3.0), (-3.0, 3.0))
NUMBERS = (("recon", "reconstruction ½‖x − x̂‖² (nats per image)"), ("kl", "KL (nats per image)"),
           ("information", "information I_q(x; z) (nats)"), ("mismatch", "mismatch KL(q̄(z) ‖ p(z)) (nats)"),
           ("prior_coverage", "prior draws where q̄(z) has mass (share)"),
           ("label_entropy", "label entropy of decoded prior draws (1 = even)"),
           ("continuity", "largest step's share of a path (lower = smoother)"))
CURVES = {"recon": "reconstruction (nats)", "kl": "KL (nats)", "label_entropy": "label entropy of prior draws",
          "continuity": "largest step's share"}  # short titles: each plot is a quarter of a phone's width


@dataclass
class Frame:
    """Everything the dial shows for one :math:`\\beta`: PNG bytes of each picture, and the numbers."""

    beta: float
    scatter_own: bytes
    scatter_common: bytes
    density: bytes
    grid: bytes
    strip: bytes
    curves: bytes
    numbers: dict = field(default_factory=dict)

    def size(self) -> int:
        """Bytes of its pictures once inlined as base64."""
        return sum(4 * -(-len(p) // 3) for p in (self.scatter_own, self.scatter_common, self.density, self.grid,
                                                  self.strip, self.curves))


def _numbers(summaries: dict, beta: float) -> dict:
    """The numbers of ``NUMBERS`` for one beta, from its :class:`~vae_utils.metrics.Summary`."""
    try:
        summary = summaries[beta]
        return {"recon": float(summary.recon), "kl": float(summary.kl), "information": float(summary.information),
                "mismatch": float(summary.mismatch), "prior_coverage": float(summary.prior_coverage),
                "label_entropy": float(summary.completeness.label_entropy), "continuity": float(summary.continuity)}
    except (AttributeError, KeyError, TypeError, ValueError):
        raise ValueError(f"summaries must map each beta of models to its vae_utils.metrics.summarize(); "
                         f"beta={beta:g} has none") from None


def render_curves(betas: list[float], numbers: list[dict], current: int, size=(640, 300)) -> np.ndarray:
    r"""Four small plots of the sweep's numbers against :math:`\beta`, two by two, the ``current`` one marked."""
    from matplotlib.figure import Figure  # deferred: matplotlib (0.3 s) loads only when a picture is drawn

    fig = Figure(figsize=(size[0] / 100, size[1] / 100), dpi=100)
    axes = fig.subplots(2, 2).flat
    position = list(range(len(betas)))  # even spacing: the betas span several orders of magnitude
    for ax, (key, title) in zip(axes, CURVES.items()):
        values = [n[key] for n in numbers]
        ax.plot(position, values, color="#555555", marker="o", markersize=3, linewidth=1)
        ax.plot([current], [values[current]], marker="o", markersize=7, color="#CC3311", linestyle="none")
        ax.set_title(title, fontsize=9)
        ax.set_xticks(position, [f"{b:g}" for b in betas], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlabel("β", fontsize=8, labelpad=1)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.13, top=0.92, wspace=0.25, hspace=0.75)
    return pictures.figure_rgb(fig)


def render_density(model, images: torch.Tensor, size_px: int = 220) -> np.ndarray:
    """:func:`vae_utils.plotting.aggregate_density` over :math:`(-3, 3)^2`, drawn off-screen as pixels."""
    from matplotlib.figure import Figure  # deferred: matplotlib (0.3 s) loads only when a picture is drawn

    from ..plotting import aggregate_density  # deferred: plotting imports matplotlib.pyplot

    fig = Figure(figsize=(size_px / 100, size_px / 100), dpi=100)
    ax = aggregate_density(model, images, ax=fig.add_axes((0.17, 0.15, 0.78, 0.78)), box=DENSITY_BOX, title="")
    ax.tick_params(labelsize=7)
    return pictures.figure_rgb(fig)


def dial_frames(models: dict[float, object], images: torch.Tensor, labels: torch.Tensor,
                summaries: dict[float, Summary], *, grid: int = 10, n_strip: int = 10, seed: int = 0) -> list[Frame]:
    """Render the dial's frames, one per :math:`\\beta` (the keys of ``models``, in increasing order).

    ``images``/``labels`` are the test set (for the scatters; the first ``AGGREGATE_IMAGES`` of them
    make :math:`\\bar q(z)`, as in :func:`~vae_utils.metrics.summarize`); ``summaries[beta]``
    is :func:`vae_utils.metrics.summarize` of that model (for the numbers). Grid and strip tiles
    are PNGs with 16 grey levels, at most ``LIMITS["dial_tiles"]`` (40) of them per axis. The
    frames must fit one page (``LIMITS["page_bytes"]``, ``vae_utils._checks``): rendering stops
    with a ``ValueError`` as soon as they do not.
    """
    if len(check_models(models)) < 2:
        raise ValueError("models must be a dict of at least two beta -> VAE")
    for beta in models:
        _checks.finite_number(beta, f"models key {beta!r}", minimum=0.0)
    betas = sorted(models)
    _checks.images(images, "images")
    _checks.labels(labels, "labels", images.shape[0])  # the scatter is coloured by digit
    tiles = _checks.LIMITS["dial_tiles"]
    grid = _checks.positive_int(grid, "grid", minimum=2, maximum=tiles)
    n_strip = _checks.positive_int(n_strip, "n_strip", maximum=tiles)
    seed = _checks.seed(seed, "seed")

    numbers = [_numbers(summaries, b) for b in betas]
    own = {b: latent_box(encode_means(models[b], images), (0.5, 99.5)) for b in betas}
    common = ((min(own[b][0][0] for b in betas), max(own[b][0][1] for b in betas)),
              (min(own[b][1][0] for b in betas), max(own[b][1][1] for b in betas)))
    z = torch.randn(n_strip, 2, generator=torch.Generator().manual_seed(seed))
    frames, total, budget = [], 0, _checks.LIMITS["page_bytes"]
    for k, beta in enumerate(betas):
        model = models[beta]
        strip = tile_images(torch.from_numpy(pictures.decode_uint8(model, z)).unsqueeze(1), n_strip)
        scatter = lambda box: pictures.png_bytes(  # noqa: E731
            pictures.scatter_background(model, images, labels, box, size_px=220).rgb, smallest=True)
        frames.append(Frame(
            beta=float(beta), scatter_own=scatter(own[beta]), scatter_common=scatter(common),
            density=pictures.png_bytes(render_density(model, images[:AGGREGATE_IMAGES]), smallest=True),
            grid=pictures.png_bytes(pictures.grid_sprite(model, DIAL_PRIOR_BOX, grid), smallest=True, levels=16),
            strip=pictures.png_bytes(strip, smallest=True, levels=16),
            curves=pictures.png_bytes(render_curves([float(b) for b in betas], numbers, k), smallest=True),
            numbers=numbers[k],
        ))
        total += frames[-1].size()
        if total > budget - 16_384:
            raise ValueError(f"models: the first {k + 1} of {len(betas)} frames are already {total:,} bytes, over "
                             f"the {budget:,}-byte budget of a page; use fewer betas or a smaller grid")
    return frames


def _check_frames(frames) -> list[Frame]:
    if not isinstance(frames, list) or len(frames) < 2 or not all(isinstance(f, Frame) for f in frames) \
            or len({f.beta for f in frames}) != len(frames):  # a repeated beta: the slider would show its first
        raise ValueError("frames must be the list that dial_frames returns: at least two frames, one per beta")
    return frames


def _start(frames: list[Frame]) -> int:
    """Start at beta = 1 (the VAE) when the sweep has it, else in the middle."""
    betas = [f.beta for f in frames]
    return betas.index(1.0) if 1.0 in betas else len(betas) // 2


def shown(value: float) -> str:
    """``value`` to three decimals, as the dial shows it; a Monte Carlo estimate a hair below zero
    (the information at large beta) shows as 0.000, not -0.000."""
    text = f"{value:.3f}"
    return text[1:] if text == "-0.000" else text


def _numbers_html(frame: Frame) -> str:
    rows = "".join(f"<tr><th scope='row'>{html.escape(label)}</th><td>{shown(frame.numbers[key])}</td></tr>"
                   for key, label in NUMBERS)
    return f"<table class='bd-numbers'><caption>β = {frame.beta:g}</caption>{rows}</table>"


# --- live ---------------------------------------------------------------------------------


def beta_dial(frames: list[Frame]):
    """The dial in a kernel: a slider over :math:`\\beta` and a scale toggle swap precomputed images.

    Returns an ``ipywidgets.VBox`` with attributes ``beta`` (slider), ``scale`` (toggle),
    ``scatter``, ``density``, ``grid``, ``strip``, ``curves`` (Image widgets) and ``numbers`` (HTML
    widget). Works with ipywidgets 7 and 8.
    """
    import ipywidgets as widgets  # deferred: ipywidgets is an optional extra, needed by the live views only

    frames = _check_frames(frames)
    labels = [f"{f.beta:g}" for f in frames]
    beta = widgets.SelectionSlider(options=labels, value=labels[_start(frames)], description="β",
                                   continuous_update=True, layout=widgets.Layout(width="480px", max_width="100%"))
    scale = widgets.ToggleButtons(options=["own scale", "common scale"], value="own scale", description="scatter")
    scatter, density = (widgets.Image(format="png", layout=widgets.Layout(width="220px", height="220px"))
                        for _ in range(2))
    grid = widgets.Image(format="png", layout=widgets.Layout(width="280px", height="280px"))
    strip = widgets.Image(format="png", layout=widgets.Layout(width="560px", max_width="100%"))
    curves = widgets.Image(format="png", layout=widgets.Layout(width="640px", max_width="100%"))
    numbers = widgets.HTML()

    def update(_=None):
        frame = frames[labels.index(beta.value)]
        scatter.value = frame.scatter_own if scale.value == "own scale" else frame.scatter_common
        density.value, grid.value, strip.value, curves.value = frame.density, frame.grid, frame.strip, frame.curves
        numbers.value = _numbers_html(frame)

    beta.observe(update, "value")
    scale.observe(update, "value")
    update()
    wrap = widgets.Layout(flex_flow="row wrap")
    box = widgets.VBox([beta, scale, widgets.HBox([scatter, density, grid, numbers], layout=wrap), strip, curves])
    box.beta, box.scale, box.scatter, box.density, box.grid, box.strip, box.curves, box.numbers = (
        beta, scale, scatter, density, grid, strip, curves, numbers)
    return box


# --- static -------------------------------------------------------------------------------


def static_beta_dial(frames: list[Frame]):
    """The dial with no kernel: the frames inlined as data URIs, a range input, a scale button and
    a few lines of JavaScript. No request leaves the page. Returns ``IPython.display.HTML``."""
    frames, budget = _check_frames(frames), _checks.LIMITS["page_bytes"]
    uri = pictures.data_uri
    payload = {"labels": [label for _, label in NUMBERS], "start": _start(frames),
               "frames": [{"beta": f"{f.beta:g}", "own": uri(f.scatter_own), "common": uri(f.scatter_common),
                           "density": uri(f.density), "grid": uri(f.grid), "strip": uri(f.strip),
                           "curves": uri(f.curves), "numbers": [shown(f.numbers[k]) for k, _ in NUMBERS]}
                          for f in frames]}
    page = pages.render("dial", payload, kmax=str(len(frames) - 1), start=str(_start(frames)))
    if len(page.encode()) > budget:
        raise ValueError(f"frames make the dial {len(page.encode()):,} bytes, over the {budget:,}-byte budget; use "
                         "fewer betas or a smaller grid")
    return HTML(page)
