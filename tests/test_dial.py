"""The beta dial: its frames are exactly what the renderers make, live and static agree."""
import base64
import io
import json
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from vae_utils import digit_classifier, set_seed
from vae_utils.book import dial
from vae_utils.book.dial import DIAL_PRIOR_BOX, beta_dial, dial_frames, render_curves, static_beta_dial
from vae_utils._checks import LIMITS
from vae_utils.book.pictures import decode_uint8, grid_sprite, png_bytes, quantize_grey
from vae_utils.latent import tile_images
from vae_utils.metrics import summarize
from vae_utils.models import VAE

BETAS = [0.0, 1.0, 4.0]


def grey(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"))


@pytest.fixture(scope="module")
def sweep(digits):
    (x, y), (xt, yt) = digits
    models = {}
    for k, beta in enumerate(BETAS):
        set_seed(k)
        models[beta] = VAE(hidden=(64, 32)).eval()
    classifier = digit_classifier.train(x[:500], y[:500], epochs=1)
    summaries = {b: summarize(m, xt[:200], classifier, seed=0) for b, m in models.items()}
    frames = dial_frames(models, xt[:200], yt[:200], summaries, grid=6, n_strip=5, seed=3)
    return models, summaries, frames, (xt[:200], yt[:200])


def test_every_frame_shows_its_own_models_decodes(sweep):
    models, summaries, frames, _ = sweep
    assert [f.beta for f in frames] == BETAS
    z = torch.randn(5, 2, generator=torch.Generator().manual_seed(3))
    for frame in frames:
        model = models[frame.beta]
        np.testing.assert_array_equal(grey(frame.grid), quantize_grey(grid_sprite(model, DIAL_PRIOR_BOX, 6), 16))
        strip = tile_images(torch.from_numpy(decode_uint8(model, z)).unsqueeze(1), 5).astype(np.uint8)
        np.testing.assert_array_equal(grey(frame.strip), quantize_grey(strip, 16))
        assert frame.numbers["kl"] == summaries[frame.beta].kl
        assert frame.numbers["label_entropy"] == summaries[frame.beta].completeness.label_entropy
    numbers = [f.numbers for f in frames]
    for k, frame in enumerate(frames):
        assert frame.curves == png_bytes(render_curves(BETAS, numbers, k), smallest=True)
    assert len({f.grid for f in frames}) == len(frames)  # no stale or repeated tile
    assert len({f.scatter_own for f in frames}) == len(frames)


def test_live_dial_swaps_the_frames_bytes(sweep):
    _, _, frames, _ = sweep
    ui = beta_dial(frames)
    assert ui.beta.value == "1" and ui.grid.value == frames[1].grid
    ui.beta.value = "4"
    assert (ui.grid.value, ui.strip.value, ui.curves.value, ui.scatter.value, ui.density.value) == (
        frames[2].grid, frames[2].strip, frames[2].curves, frames[2].scatter_own, frames[2].density)
    assert f"{frames[2].numbers['kl']:.3f}" in ui.numbers.value
    ui.scale.value = "common scale"
    assert ui.scatter.value == frames[2].scatter_common


def test_static_dial_is_self_contained_and_carries_the_same_frames(sweep):
    _, _, frames, _ = sweep
    page = static_beta_dial(frames).data
    assert len(page.encode()) <= LIMITS["page_bytes"]
    assert "http" not in page and "<script src" not in page
    data = json.loads(re.search(r"const data = (\{.*?\});\n", page, re.S).group(1))
    for entry, frame in zip(data["frames"], frames):
        assert base64.b64decode(entry["grid"].split(",", 1)[1]) == frame.grid
        assert base64.b64decode(entry["own"].split(",", 1)[1]) == frame.scatter_own
        assert base64.b64decode(entry["density"].split(",", 1)[1]) == frame.density
        assert entry["numbers"][1] == f"{frame.numbers['kl']:.3f}"
    assert 'id="' not in page, "no element ids: the same dial shown twice must start twice"


def _frames(s, **changes):
    """dial_frames of the sweep, with some of its arguments changed."""
    models, summaries, _, (x, y) = s
    call = {"models": models, "images": x, "labels": y, "summaries": summaries, "grid": 3, "n_strip": 2, **changes}
    return dial_frames(**call)


@pytest.mark.parametrize("make, message", [
    (lambda s: _frames(s, models={1.0: s[0][1.0]}), "^models must be a dict of at least two"),
    (lambda s: _frames(s, models=None), "^models must"),
    (lambda s: _frames(s, models={0.0: s[0][0.0], 1.0: "x"}), r"^models\[1.0\] must be a vae_utils.models.VAE"),
    (lambda s: _frames(s, models={0.0: s[0][0.0], 1.0: VAE(latent_dim=3)}), r"^models\[1.0\] must be a vae_utils.models.VAE with latent_dim=2"),
    (lambda s: _frames(s, models={-1.0: s[0][0.0], 1.0: s[0][1.0]}), "^models key -1.0"),
    (lambda s: _frames(s, models={float("nan"): s[0][0.0], 1.0: s[0][1.0]}), "^models key nan"),
    (lambda s: _frames(s, images=s[3][0] * 255), "^images .*divide raw pixels by 255"),
    (lambda s: _frames(s, images=None), "^images"),
    (lambda s: _frames(s, labels=None), "^labels"),
    (lambda s: _frames(s, labels=s[3][1][:10]), "^labels"),
    (lambda s: _frames(s, summaries={0.0: s[1][0.0]}), "^summaries"),
    (lambda s: _frames(s, summaries={b: {"kl": 1.0} for b in BETAS}), "^summaries"),
    (lambda s: _frames(s, grid=1), "^grid"),
    (lambda s: _frames(s, grid=41), "^grid"),
    (lambda s: _frames(s, n_strip=0), "^n_strip"),
    (lambda s: _frames(s, n_strip=41), "^n_strip"),
    (lambda s: _frames(s, seed=-1), "^seed"),
    (lambda s: beta_dial([]), "^frames"),
    (lambda s: beta_dial(None), "^frames"),
    (lambda s: static_beta_dial(["x", "y"]), "^frames"),
    (lambda s: beta_dial([s[2][0], s[2][0]]), r"^frames must .*one (frame )?per beta"),
    (lambda s: static_beta_dial([s[2][0], s[2][0]]), r"^frames must .*one (frame )?per beta"),
])
def test_bad_input_is_refused_clearly(sweep, make, message):
    with pytest.raises(ValueError, match=message):
        make(sweep)


def test_numbers_show_three_decimals_and_no_negative_zero():
    assert [dial.shown(v) for v in (-2e-4, -0.0, 0.0, 1.23456, -0.0006)] == ["0.000", "0.000", "0.000", "1.235", "-0.001"]


def test_dial_stops_rendering_at_the_page_budget(monkeypatch, digits, small_vae):
    (_, _), (xt, yt) = digits
    models = {b: small_vae(k).eval() for k, b in enumerate((0.0, 1.0, 2.0))}
    summary = SimpleNamespace(recon=1.0, kl=1.0, information=0.5, mismatch=0.5, prior_coverage=0.9,
                              completeness=SimpleNamespace(label_entropy=0.9), continuity=0.05)  # the fields it shows
    rendered = []
    real = dial.render_density
    monkeypatch.setattr(dial, "render_density", lambda *a, **k: rendered.append(1) or real(*a, **k))
    monkeypatch.setitem(LIMITS, "page_bytes", 16_384 + 1000)
    with pytest.raises(ValueError, match=r"^models: the first 1 of 3 frames"):
        dial_frames(models, xt[:50], yt[:50], {b: summary for b in models}, grid=3, n_strip=2)
    assert rendered == [1]
