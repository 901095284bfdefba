"""The latent explorers: the live sliders and toggle, the path explorer, and the static page
(self-contained, exact, within its byte budget, decided before decoding, safe with any names)."""
import base64
import io
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from vae_utils import set_seed
from vae_utils._checks import LIMITS
from vae_utils.book import pictures
from vae_utils.book.explore import latent_explorer, path_explorer, static_explorer
from vae_utils.book.pictures import decode_uint8
from vae_utils.book.pictures import enlarge as _enlarge
from vae_utils.latent import latent_grid
from vae_utils.models import VAE


def png_array(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


@pytest.fixture(scope="module")
def models():
    set_seed(0)
    a = VAE(hidden=(64, 32)).eval()
    set_seed(1)
    b = VAE(hidden=(64, 32)).eval()
    return {"with KL": a, "without KL": b}


@pytest.fixture(scope="module")
def boxes():
    return {"with KL": ((-2.0, 2.0), (-1.5, 2.5)), "without KL": ((0.0, 20.0), (-7.5, 7.5))}


def test_live_sliders_show_the_decoder_output_at_z(models, boxes, small_batch):
    x, y = small_batch
    ui = latent_explorer(models, x, y, ranges=boxes)
    before = ui.scatter.value
    ui.z1.value, ui.z2.value = 1.25, -0.5
    expected = _enlarge(decode_uint8(models["with KL"], torch.tensor([[1.25, -0.5]]))[0])
    np.testing.assert_array_equal(png_array(ui.digit.value), expected)
    assert ui.scatter.value != before  # the marker moved


def test_toggle_switches_ranges_and_decoder(models, boxes):
    ui = latent_explorer(models, ranges=boxes)
    assert (ui.z1.min, ui.z1.max, ui.z2.min, ui.z2.max) == (-2.0, 2.0, -1.5, 2.5)
    ui.model_toggle.value = "without KL"
    assert (ui.z1.min, ui.z1.max, ui.z2.min, ui.z2.max) == (0.0, 20.0, -7.5, 7.5)
    assert (ui.z1.value, ui.z2.value) == (10.0, 0.0)
    ui.z1.value = 17.0
    expected = _enlarge(decode_uint8(models["without KL"], torch.tensor([[17.0, 0.0]]))[0])
    np.testing.assert_array_equal(png_array(ui.digit.value), expected)


def test_data_box_follows_the_encoded_images(models, small_batch):
    x, y = small_batch
    ui = latent_explorer(models, x, y)
    from vae_utils.latent import encode_means, latent_box

    (x0, x1), _ = latent_box(encode_means(models["with KL"], x))
    assert (ui.z1.min, ui.z1.max) == pytest.approx((x0, x1))


def test_path_explorer_walks_between_the_two_means(models, small_batch):
    x, _ = small_batch
    ui = path_explorer(models, x, start=3, end=7)
    ui.t.value = 0.25
    from vae_utils.latent import encode_means

    for name, model in models.items():
        mu = encode_means(model, x[[3, 7]])
        z = mu[:1] + 0.25 * (mu[1:] - mu[:1])
        np.testing.assert_array_equal(png_array(ui.decoded[name].value), _enlarge(decode_uint8(model, z)[0]))


def parse_static(html: str) -> dict:
    return json.loads(re.search(r"const data = (\{.*?\});\n", html, re.S).group(1))


def test_static_html_is_self_contained_small_and_exact(models, boxes, small_batch):
    x, y = small_batch
    html = static_explorer(models, grid=9, images=x, labels=y, ranges=boxes).data
    assert len(html.encode()) <= LIMITS["page_bytes"]
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # no other hosts
    assert "<script src" not in html and "http" not in html
    data = parse_static(html)
    assert data["grid"] == 9 and [m["name"] for m in data["models"]] == list(models)
    for entry, (name, model) in zip(data["models"], models.items()):
        sprite = png_array(base64.b64decode(entry["sprite"].split(",", 1)[1]))
        assert sprite.shape == (9 * 28, 9 * 28)
        z = latent_grid(*boxes[name], 9)
        decodes = decode_uint8(model, z)
        # Slider position (i, j) shows the tile at column i, row 8 - j (see the page's script).
        for i, j in [(0, 0), (8, 8), (2, 6), (4, 4)]:
            tile = sprite[(8 - j) * 28:(9 - j) * 28, i * 28:(i + 1) * 28]
            x0, x1 = boxes[name][0]
            y0, y1 = boxes[name][1]
            expected = decode_uint8(model, torch.tensor([[x0 + (x1 - x0) * i / 8, y0 + (y1 - y0) * j / 8]]))[0]
            np.testing.assert_array_equal(tile, expected)
            np.testing.assert_array_equal(tile, decodes[(8 - j) * 9 + i])


def test_static_html_within_budget_at_the_default_grid(models, small_batch):
    x, y = small_batch
    assert len(static_explorer(models, images=x, labels=y).data.encode()) <= LIMITS["page_bytes"]


def test_static_html_is_deterministic_and_has_no_element_ids(models, boxes):
    first, second = (static_explorer(models, grid=5, ranges=boxes).data for _ in range(2))
    assert first == second
    assert 'id="' not in first, "no element ids: the same explorer shown twice must start twice"


def test_static_html_over_budget_is_refused(models):
    set_seed(3)
    noisy = {"noise": VAE(hidden=(64, 32)).eval()}
    with torch.no_grad():
        noisy["noise"].decoder[-3].bias.copy_(torch.randn(784) * 4)  # speckled decodes compress badly
    with pytest.raises(ValueError, match="^grid"):
        static_explorer(noisy, grid=120)


nan = float("nan")
X = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("make, message", [
    (lambda m: latent_explorer({}), "^models must"),
    (lambda m: latent_explorer(None), "^models must"),
    (lambda m: latent_explorer([m["with KL"]]), "^models must"),
    (lambda m: static_explorer({"a": "x"}), r"^models\['a'\] must be a vae_utils.models.VAE"),
    (lambda m: path_explorer({"a": torch.nn.Linear(2, 2)}, X), r"^models\['a'\] must be a vae_utils.models.VAE"),
    (lambda m: latent_explorer({"a": VAE(latent_dim=3).eval()}), r"latent_dim=2"),
    (lambda m: latent_explorer(m, images=X * 255), "^images .*divide raw pixels by 255"),
    (lambda m: static_explorer(m, images=torch.full((4, 1, 28, 28), nan)), "^images"),
    (lambda m: latent_explorer(m, images=X.flatten(1)), "^images"),
    (lambda m: path_explorer(m, None), "^images"),
    (lambda m: latent_explorer(m, labels=torch.zeros(3, dtype=torch.int64)), "^labels need images"),
    (lambda m: latent_explorer(m, X, labels=torch.zeros(3, dtype=torch.int64)), "^labels"),  # 3 labels, 4 images
    (lambda m: static_explorer(m, images=X, labels=torch.zeros(4)), "^labels"),
    (lambda m: latent_explorer(m, X, labels=torch.full((4,), 12)), "^labels"),
    (lambda m: latent_explorer(m, ranges={"with KL": ((0, float("inf")), (0, 1))}), r"^ranges\['with KL'\]\[0\]"),
    (lambda m: static_explorer(m, ranges={"with KL": ((0, 1), (1, 0))}), r"^ranges\['with KL'\]\[1\]"),
    (lambda m: latent_explorer(m, ranges={"with KL": "ab"}), r"^ranges\['with KL'\]"),
    (lambda m: latent_explorer(m, ranges={"With KL": ((0, 1), (0, 1))}), "^ranges names no model"),
    (lambda m: latent_explorer(m, ranges="with KL"), "^ranges"),
    (lambda m: static_explorer(m, grid=1), "^grid"),
    (lambda m: static_explorer(m, grid=2.5), "^grid"),
    (lambda m: static_explorer(m, grid=True), "^grid"),
    (lambda m: path_explorer(m, X, start=4), "^start"),
    (lambda m: path_explorer(m, X, start=-1), "^start"),
    (lambda m: path_explorer(m, X, start=True), "^start"),
    (lambda m: path_explorer(m, X, end=1.5), "^end"),
])
def test_bad_input_is_refused_clearly(models, make, message):
    with pytest.raises(ValueError, match=message):
        make(models)


@pytest.fixture(scope="module")
def noisy_models():
    out = {}
    for k, name in enumerate(("a", "<b>&amp;</b>")):
        set_seed(10 + k)
        model = VAE(hidden=(64, 32)).eval()
        with torch.no_grad():
            model.decoder[-3].bias.copy_(torch.randn(784) * 4)  # speckled decodes compress badly
        out[name] = model
    return out


def test_explorer_size_is_decided_before_any_decoding(noisy_models, monkeypatch):
    from vae_utils.book import explore

    calls = []
    real = pictures.grid_sprite
    monkeypatch.setattr(pictures, "grid_sprite", lambda *a, **k: calls.append(1) or real(*a, **k))
    with pytest.raises(ValueError, match=r"^grid=80 cannot fit"):
        explore.static_explorer(noisy_models, grid=80)
    assert calls == []
    page = explore.static_explorer(noisy_models).data  # the default fits any two models
    assert len(page.encode()) <= LIMITS["page_bytes"]
    assert re.search(r"on a \d+ × \d+ grid per model, (16|256) grey levels", page)


def test_explorer_escapes_names_and_checks_ranges(noisy_models):
    page = static_explorer(noisy_models, grid=5).data
    assert "<b>" not in page and "\\u003cb\\u003e\\u0026amp;\\u003c/b\\u003e" in page  # names are escaped data
    with pytest.raises(ValueError, match="^ranges names no model"):
        static_explorer(noisy_models, grid=5, ranges={"c": ((0, 1), (0, 1))})


def test_static_explorer_page_survives_hostile_names(small_vae):
    a, b = small_vae(0).eval(), small_vae(1).eval()
    names = {"<!--<script>": a, "$data BUTTONS </script>": b}
    page = static_explorer(names, grid=3).data
    script = page.split("<script>", 1)[1]
    assert "<!--" not in script and "</script>" not in script[:-len("</script>\n")]
    entries = parse_static(page)["models"]
    assert [e["name"] for e in entries] == list(names)


def test_static_explorer_keeps_the_order_of_number_like_names(small_vae):
    from vae_utils.book.explore import PRIOR_BOX

    a, b = small_vae(0).eval(), small_vae(1).eval()
    page = static_explorer({"4": a, "1": b}, grid=3).data
    entries = parse_static(page)["models"]
    assert [e["name"] for e in entries] == ["4", "1"]  # an array: the button k shows model k
    first = pictures.grid_sprite(a, PRIOR_BOX, 3)
    np.testing.assert_array_equal(first, pictures.grid_sprite(a, tuple(entries[0]["box"]), 3))


def test_overlong_model_names_are_a_named_value_error(small_vae):
    with pytest.raises(ValueError, match="^models: 1 models with these names cannot fit"):
        static_explorer({"n" * 700_000: small_vae().eval()}, grid=3)


def test_degenerate_boxes_and_broken_models(train_x, noisy_models):
    from vae_utils.latent import latent_box

    x = train_x
    ui = latent_explorer({"a": noisy_models["a"]}, x[:1])  # one image: a box of width 0
    assert ui.z1.max - ui.z1.min == pytest.approx(0.5)
    static_explorer({"a": noisy_models["a"]}, grid=5, images=x[:1].repeat(5, 1, 1, 1))  # identical images
    assert latent_box(torch.zeros(4, 2)) == [(-0.25, 0.25), (-0.25, 0.25)]
    broken = VAE(hidden=(64, 32)).eval()
    with torch.no_grad():
        broken.decoder[0].weight.fill_(float("nan"))
    with pytest.raises(ValueError, match=r"^models\['n'\] has non-finite weights"):
        latent_explorer({"n": broken})
