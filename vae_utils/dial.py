r"""The :math:`\beta` dial: one slider over a sweep of models, showing how the latent space changes.

:func:`dial_frames` renders, for each :math:`\beta`, the latent scatter of the test means (on the
model's own scale and on one scale common to the sweep), the decoded grid over the prior box
:math:`(-2, 2)^2`, a strip of decodes of the same fixed draws :math:`z \sim \mathcal N(0, I)`, the
sweep's curves with the current :math:`\beta` marked, and the numbers. :func:`beta_dial` (ipywidgets,
in a kernel) and :func:`static_beta_dial` (HTML and a few lines of JavaScript, no kernel) show
the *same* frames, so the two views cannot disagree.
"""
from __future__ import annotations

import base64
import hashlib
import html
import itertools
import json
from dataclasses import dataclass, field

import numpy as np
import torch

from . import _checks
from .explore import MAX_STATIC_BYTES, _check_data, _scatter_background, decode_uint8, grid_sprite, png_bytes
from .latent import encode_means, latent_box, tile_images
from .models import VAE

DIAL_PRIOR_BOX = ((-2.0, 2.0), (-2.0, 2.0))
NUMBERS = (("recon", "reconstruction ½‖x − x̂‖² (nats per image)"), ("kl", "KL (nats per image)"),
           ("label_entropy", "label entropy of prior samples (1 = even)"),
           ("continuity", "largest step's share of a path (lower = smoother)"))
_ids = itertools.count()


@dataclass
class Frame:
    """Everything the dial shows for one :math:`\\beta`: PNG bytes of each picture, and the numbers."""

    beta: float
    scatter_own: bytes
    scatter_common: bytes
    grid: bytes
    strip: bytes
    curves: bytes
    numbers: dict = field(default_factory=dict)


def _numbers(summary: dict) -> dict:
    try:
        return {"recon": float(summary["recon"]), "kl": float(summary["kl"]),
                "label_entropy": float(summary["completeness"]["label_entropy"]),
                "continuity": float(summary["continuity"])}
    except (KeyError, TypeError, ValueError):
        raise ValueError("summaries must map each beta to a vae_utils.metrics.summarize() dict") from None


def render_curves(betas: list[float], numbers: list[dict], current: int, size=(640, 150)) -> np.ndarray:
    """Four small plots of the sweep's numbers against :math:`\\beta`, the ``current`` one marked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] / 100, size[1] / 100), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 4)
    position = list(range(len(betas)))  # even spacing: the betas span several orders of magnitude
    for ax, (key, label) in zip(axes, NUMBERS):
        values = [n[key] for n in numbers]
        ax.plot(position, values, color="#555555", marker="o", markersize=2.5, linewidth=1)
        ax.plot([current], [values[current]], marker="o", markersize=7, color="#CC3311", linestyle="none")
        ax.set_title(label.split(" (")[0], fontsize=7)
        ax.set_xticks(position, [f"{b:g}" for b in betas], fontsize=5)
        ax.tick_params(axis="y", labelsize=5)
        ax.set_xlabel("β", fontsize=6, labelpad=1)
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.25, top=0.85, wspace=0.4)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def dial_frames(models: dict[float, VAE], images: torch.Tensor, labels: torch.Tensor, summaries: dict[float, dict],
                *, grid: int = 10, n_strip: int = 10, seed: int = 0) -> list[Frame]:
    """Render the dial's frames, one per :math:`\\beta` (the keys of ``models``, in increasing order).

    ``images``/``labels`` are the test set (for the scatters); ``summaries[beta]`` is
    :func:`vae_utils.metrics.summarize` of that model (for the numbers). Grid and strip tiles are
    PNGs with 16 grey levels, which keeps a 9-model dial well within a page's budget.
    """
    if not isinstance(models, dict) or len(models) < 2:
        raise ValueError("models must be a dict of at least two beta -> VAE")
    betas = sorted(models)
    for beta in betas:
        _checks.finite_number(beta, f"models key {beta!r}", minimum=0.0)
        model = models[beta]
        if not isinstance(model, VAE) or model.latent_dim != 2:
            raise ValueError(f"models[{beta!r}] must be a vae_utils.models.VAE with latent_dim=2")
        _checks.finite_model(model, f"models[{beta!r}]")
    _checks.images(images, "images")
    _check_data(images, labels)
    if labels is None:
        raise ValueError("labels must be given: the scatter is coloured by digit")
    if not isinstance(summaries, dict) or set(summaries) != set(betas):
        raise ValueError(f"summaries must have one entry per beta {betas}, got {sorted(summaries) if isinstance(summaries, dict) else summaries!r}")
    grid = _checks.positive_int(grid, "grid", minimum=2)
    n_strip = _checks.positive_int(n_strip, "n_strip")
    seed = _checks.seed(seed, "seed")

    numbers = [_numbers(summaries[b]) for b in betas]
    own = {b: latent_box(encode_means(models[b], images), (0.5, 99.5)) for b in betas}
    common = ((min(own[b][0][0] for b in betas), max(own[b][0][1] for b in betas)),
              (min(own[b][1][0] for b in betas), max(own[b][1][1] for b in betas)))
    z = torch.randn(n_strip, 2, generator=torch.Generator().manual_seed(seed))
    frames = []
    for k, beta in enumerate(betas):
        model = models[beta]
        strip = tile_images(torch.from_numpy(decode_uint8(model, z)).unsqueeze(1), n_strip).astype(np.uint8)
        frames.append(Frame(
            beta=beta,
            scatter_own=png_bytes(_scatter_background(model, images, labels, own[beta], size_px=220).rgb, smallest=True),
            scatter_common=png_bytes(_scatter_background(model, images, labels, common, size_px=220).rgb, smallest=True),
            grid=png_bytes(grid_sprite(model, DIAL_PRIOR_BOX, grid), smallest=True, levels=16),
            strip=png_bytes(strip, smallest=True, levels=16),
            curves=png_bytes(render_curves(betas, numbers, k), smallest=True),
            numbers=numbers[k],
        ))
    return frames


def _check_frames(frames) -> list[Frame]:
    if not isinstance(frames, list) or len(frames) < 2 or not all(isinstance(f, Frame) for f in frames):
        raise ValueError("frames must be the list that dial_frames returns (at least two frames)")
    return frames


def _start(frames: list[Frame]) -> int:
    """Start at beta = 1 (the VAE) when the sweep has it, else in the middle."""
    betas = [f.beta for f in frames]
    return betas.index(1.0) if 1.0 in betas else len(betas) // 2


def _numbers_html(frame: Frame) -> str:
    rows = "".join(f"<tr><th scope='row'>{html.escape(label)}</th><td>{frame.numbers[key]:.3f}</td></tr>"
                   for key, label in NUMBERS)
    return f"<table class='bd-numbers'><caption>β = {frame.beta:g}</caption>{rows}</table>"


# --- live ---------------------------------------------------------------------------------


def beta_dial(frames: list[Frame]):
    """The dial in a kernel: a slider over :math:`\\beta` and a scale toggle swap precomputed images.

    Returns an ``ipywidgets.VBox`` with attributes ``beta`` (slider), ``scale`` (toggle),
    ``scatter``, ``grid``, ``strip``, ``curves`` (Image widgets) and ``numbers`` (HTML widget). Works
    with ipywidgets 7 and 8.
    """
    import ipywidgets as widgets

    frames = _check_frames(frames)
    labels = [f"{f.beta:g}" for f in frames]
    beta = widgets.SelectionSlider(options=labels, value=labels[_start(frames)], description="β",
                                   continuous_update=True, layout=widgets.Layout(width="480px"))
    scale = widgets.ToggleButtons(options=["own scale", "common scale"], value="own scale", description="scatter")
    scatter = widgets.Image(format="png", layout=widgets.Layout(width="220px", height="220px"))
    grid = widgets.Image(format="png", layout=widgets.Layout(width="280px", height="280px"))
    strip = widgets.Image(format="png", layout=widgets.Layout(width="560px"))
    curves = widgets.Image(format="png", layout=widgets.Layout(width="640px"))
    numbers = widgets.HTML()

    def update(_=None):
        frame = frames[labels.index(beta.value)]
        scatter.value = frame.scatter_own if scale.value == "own scale" else frame.scatter_common
        grid.value, strip.value, curves.value = frame.grid, frame.strip, frame.curves
        numbers.value = _numbers_html(frame)

    beta.observe(update, "value")
    scale.observe(update, "value")
    update()
    box = widgets.VBox([beta, scale, widgets.HBox([scatter, grid, numbers]), strip, curves])
    box.beta, box.scale, box.scatter, box.grid, box.strip, box.curves, box.numbers = (
        beta, scale, scatter, grid, strip, curves, numbers)
    return box


# --- static -------------------------------------------------------------------------------


def _uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def static_beta_dial(frames: list[Frame]):
    """The dial with no kernel: the frames inlined as data URIs, a range input, a scale button and
    a few lines of JavaScript. No request leaves the page. Returns ``IPython.display.HTML``."""
    from IPython.display import HTML

    frames = _check_frames(frames)
    payload = [{"beta": f.beta, "own": _uri(f.scatter_own), "common": _uri(f.scatter_common), "grid": _uri(f.grid),
                "strip": _uri(f.strip), "curves": _uri(f.curves), "numbers": _numbers_html(f)} for f in frames]
    data = json.dumps(payload)
    size = len(data.encode()) + len(_STATIC_TEMPLATE.encode())
    if size > MAX_STATIC_BYTES:
        raise ValueError(f"frames make the dial {size:,} bytes, over the {MAX_STATIC_BYTES:,}-byte budget; "
                         "use fewer betas or a smaller grid")
    uid = f"bd{next(_ids)}-{hashlib.sha1(data.encode()).hexdigest()[:10]}"
    page = (_STATIC_TEMPLATE.replace("UID", uid).replace("KMAX", str(len(frames) - 1))
            .replace("START", str(_start(frames))).replace("DATA_JSON", data))
    return HTML(page)


_STATIC_TEMPLATE = """
<div id="UID" class="beta-dial" style="font-family: sans-serif; font-size: 14px;">
  <label for="UID-beta">β</label>
  <input id="UID-beta" class="bd-beta" type="range" min="0" max="KMAX" step="1" value="START"
         aria-label="beta, the weight of the KL term" style="width: 320px; vertical-align: middle;">
  <output class="bd-beta-value" for="UID-beta"></output>
  <button type="button" class="bd-scale" aria-pressed="false" style="margin-left: 16px;">show on one common scale</button>
  <div style="display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; margin-top: 8px;">
    <figure style="margin: 0;"><img class="bd-scatter" width="220" height="220" alt="">
      <figcaption class="bd-scatter-caption" style="font-size: 12px;"></figcaption></figure>
    <figure style="margin: 0;"><img class="bd-grid" width="280" height="280" alt="" style="image-rendering: pixelated;">
      <figcaption style="font-size: 12px;">decoded grid over the prior box (−2, 2)²</figcaption></figure>
    <div class="bd-table"></div>
  </div>
  <figure style="margin: 8px 0 0 0;"><img class="bd-strip" width="560" alt="" style="image-rendering: pixelated;">
    <figcaption style="font-size: 12px;">decodes of the same ten draws z ~ N(0, I)</figcaption></figure>
  <img class="bd-curves" width="640" alt="" style="margin-top: 8px;">
</div>
<script>
(function () {
  const root = document.getElementById("UID");
  const frames = DATA_JSON;
  const slider = root.querySelector(".bd-beta"), button = root.querySelector(".bd-scale");
  const q = s => root.querySelector(s);
  let common = false;
  function show() {
    const f = frames[Number(slider.value)], b = "beta = " + f.beta;
    q(".bd-beta-value").textContent = f.beta;
    slider.setAttribute("aria-valuetext", b);
    q(".bd-scatter").src = common ? f.common : f.own;
    q(".bd-scatter").alt = "Latent means of the test digits, coloured by digit, " + b +
      (common ? ", on the scale common to all betas" : ", on this model's own scale");
    q(".bd-scatter-caption").textContent = "test-set means, " + (common ? "one common scale" : "own scale");
    q(".bd-grid").src = f.grid;
    q(".bd-grid").alt = "Decoded 2-D grid over the prior box, " + b;
    q(".bd-strip").src = f.strip;
    q(".bd-strip").alt = "Decodes of ten fixed prior draws, " + b;
    q(".bd-curves").src = f.curves;
    q(".bd-curves").alt = "The sweep's reconstruction, KL, label entropy and largest step against beta, " + b + " marked";
    q(".bd-table").innerHTML = f.numbers;
    button.textContent = common ? "show on each model's own scale" : "show on one common scale";
    button.setAttribute("aria-pressed", String(common));
  }
  slider.addEventListener("input", show);
  button.addEventListener("click", () => { common = !common; show(); });
  show();
})();
</script>
"""
