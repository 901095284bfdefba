"""The second probe of vae_utils: silent wrong results, NaN weights, unverified bytes, unbounded work.

One test (or one parametrised case) per defect, named after it; each failed before its fix.
"""
import json
import math
import re

import numpy as np
import pytest
import torch

from vae_utils import checkpoints, data, dial, elbo, ensemble, explore, latent, metrics, pictures, plotting, set_seed
from vae_utils.models import VAE
from vae_utils.training import TrainingDiverged, _divergence, train_vae


@pytest.fixture(scope="module")
def x(digits):
    (images, _), _ = digits
    return images


def small(seed=0, **kw):
    set_seed(seed)
    return VAE(hidden=(32, 16), **kw)


# --- silent wrong results -----------------------------------------------------------------


def test_1_static_explorer_keeps_the_order_of_number_like_names():
    a, b = small(0).eval(), small(1).eval()
    page = explore.static_explorer({"4": a, "1": b}, grid=3).data
    entries = json.loads(re.search(r"const data = (\{.*?\});\n", page, re.S).group(1))["models"]
    assert [e["name"] for e in entries] == ["4", "1"]  # an array: the button k shows model k
    first = pictures.grid_sprite(a, explore.PRIOR_BOX, 3)
    np.testing.assert_array_equal(first, pictures.grid_sprite(a, tuple(entries[0]["box"]), 3))


def test_2_bernoulli_training_has_finite_gradients_at_saturated_pixels(x):
    model = small()
    with torch.no_grad():  # decoded pixels exactly 0 or 1 in float32: a saturated sigmoid
        model.decoder[-3].bias.copy_(torch.where(torch.arange(784) % 2 == 0, 60.0, -60.0))
    binary = data.binarize(x[:256])
    history = train_vae(model, binary, epochs=2, likelihood="bernoulli", device="cpu", progress=False)
    assert all(math.isfinite(v) for v in history["loss"])
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("epochs", [1, 2])
def test_3a_nan_weights_after_finite_losses_are_divergence(x, monkeypatch, epochs):
    model = small()
    real_step, calls = torch.optim.Adam.step, []

    def poisoned_step(self, *a, **k):  # the last step of the last epoch overflows a weight
        out = real_step(self, *a, **k)
        calls.append(1)
        if len(calls) == 2 * epochs:
            with torch.no_grad():
                self.param_groups[0]["params"][0][0, 0] = float("nan")
        return out

    monkeypatch.setattr(torch.optim.Adam, "step", poisoned_step)
    with pytest.raises(TrainingDiverged, match="weights became NaN or infinite"):
        train_vae(model, x[:256], epochs=epochs, batch_size=128, device="cpu", progress=False)
    assert all(torch.isfinite(p).all() for p in model.parameters()), "restored weights must be finite"


def test_3b_huge_finite_losses_accumulate_without_overflow(x, monkeypatch):
    from vae_utils import training

    real = training.vae_loss
    monkeypatch.setattr(training, "vae_loss", lambda *a, **k: tuple(t * 1e35 for t in real(*a, **k)))
    history = train_vae(small(), x[:512], epochs=1, batch_size=64, device="cpu", progress=False)
    assert math.isfinite(history["loss"][0]) and history["loss"][0] > 1e36  # the float32 sum over the epoch would be inf
    message = _divergence(0, [1.0, 2.0], "the model", 1e-3, weights_ok=True)  # never StopIteration
    assert "overflowed" in message


def test_5_explorer_page_survives_hostile_names():
    a, b = small(0).eval(), small(1).eval()
    names = {"<!--<script>": a, "$data BUTTONS </script>": b}
    page = explore.static_explorer(names, grid=3).data
    script = page.split("<script>", 1)[1]
    assert "<!--" not in script and "</script>" not in script[:-len("</script>\n")]
    entries = json.loads(re.search(r"const data = (\{.*?\});\n", page, re.S).group(1))["models"]
    assert [e["name"] for e in entries] == list(names)


def test_6_train_together_refuses_a_repeated_model_mixed_dtypes_and_frozen_weights(x):
    m = small()
    with pytest.raises(ValueError, match=r"^models\[1\] is the same object"):
        ensemble.train_together([m, m], x[:64], betas=[0.0, 1.0], epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"^models\[1\] has torch.float64 weights"):
        ensemble.train_together([small(), small().double()], x[:64], betas=[0.0, 1.0], epochs=1, progress=False)
    frozen = small()
    frozen.encoder[1].weight.requires_grad_(False)
    with pytest.raises(ValueError, match=r"^models\[0\] has frozen weights"):
        ensemble.train_together([frozen, small()], x[:64], betas=[0.0, 1.0], epochs=1, progress=False)
    before = frozen.encoder[1].weight.detach().clone()
    train_vae(frozen, x[:64], epochs=1, device="cpu", progress=False)  # alone, frozen weights stay
    assert torch.equal(frozen.encoder[1].weight, before)


def test_7_load_or_train_compares_the_architecture_and_every_training_argument(tmp_path, x, capsys):
    path = tmp_path / "m.pt"
    other = small(latent_dim=5)
    wanted = checkpoints.training_config(x[:128], beta=1.0, epochs=1, seed=0)
    checkpoints.save_checkpoint(path, other, {}, {**wanted, "model": other.config})
    found = checkpoints.load_or_train(path, x[:128], beta=1.0, epochs=1, progress=False, use_published=False)
    assert found.model.latent_dim == 2 and "model:" in capsys.readouterr().out
    for key, value in (("lr", 1e-2), ("batch_size", 64), ("likelihood", "bernoulli")):
        assert found.config[key] != value
        checkpoints.load_or_train(path, x[:128], beta=1.0, epochs=1, progress=False, use_published=False,
                                  **{key: value})
        assert f"{key}:" in capsys.readouterr().out


def test_8_a_bit_flipped_checkpoint_is_refused(tmp_path):
    path = checkpoints.save_checkpoint(tmp_path / "m.pt", small(), {}, {})
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["decoder.0.weight"][0, 0] = -1e36  # the file altered, its digest kept
    torch.save(payload, path)
    with pytest.raises(ValueError, match="do not match their digest"):
        checkpoints.load_checkpoint(path)


def test_9_float64_is_accepted_everywhere(x, digits):
    (_, y), _ = digits
    images = x[:64].double()
    classifier = metrics.train_digit_classifier(images, y[:64], epochs=1)
    assert 0 <= metrics.classifier_accuracy(classifier.double(), images, y[:64]) <= 1
    model = small().double().eval()
    assert metrics.completeness(model, classifier, n_samples=20)["histogram"]
    out, _, _ = small().eval()(x[:4])  # requires grad
    assert latent.tile_images(out, 2).shape == (56, 56)
    plotting.show_images(out, ncol=2)


@pytest.mark.parametrize("where", ["file", "under a file"])
def test_10_an_unusable_root_falls_back_to_the_offline_digits(tmp_path, monkeypatch, capsys, where):
    monkeypatch.setattr(data, "network_reachable", lambda timeout=0: True)
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    root = blocker if where == "file" else blocker / "sub"
    images, _ = data.load_mnist("test", source="auto", root=root)
    assert images.shape[0] == 1000 and "cannot write the cache folder" in capsys.readouterr().out
    with pytest.raises(data.DownloadFailed, match="cannot write"):
        data.load_mnist("test", source="torchvision", root=root)


# --- unbounded work is refused up front ---------------------------------------------------


@pytest.mark.parametrize("call, name", [
    (lambda m: latent.latent_grid((0, 1), (0, 1), 40_000), "n"),
    (lambda m: latent.tile_images(torch.zeros(1, 1, 28, 28, dtype=torch.uint8).expand(10**6, 1, 28, 28), 10), "images"),
    (lambda m: plotting.decode_grid(m, (0, 1), (0, 1), n=1500), "n"),
    (lambda m: pictures.grid_sprite(m, ((0, 1), (0, 1)), 1500), "grid"),
    (lambda m: metrics.completeness(m, m.encoder, n_samples=3_000_000), "n_samples"),
    (lambda m: metrics.continuity(m, torch.rand(4, 1, 28, 28), n_pairs=30_000), "n_pairs"),
    (lambda m: elbo.vae_log_likelihood(m, torch.rand(2, 1, 28, 28), K=10**7), "K"),
])
def test_11_unbounded_work_is_refused_naming_the_limit(call, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        call(small().eval())


def test_11_importance_sampling_and_the_linear_gaussian_model_stay_small_at_scale():
    g = torch.Generator().manual_seed(0)
    big = elbo.LinearGaussian(torch.randn(30_000, 2, generator=g, dtype=torch.float64),
                              torch.zeros(30_000, dtype=torch.float64), 1.0)
    x = big.W @ torch.tensor([0.3, -0.2], dtype=torch.float64)
    m, S = big.posterior(x)
    assert abs(float(big.log_evidence(x) - big.elbo(x, m, S))) < 1e-6  # no D x D matrix: seconds, not 7 GB
    mid = elbo.LinearGaussian(torch.randn(784, 2, generator=g, dtype=torch.float64),
                              torch.zeros(784, dtype=torch.float64), 1.0)
    value, se = mid.importance_weighted_bound(mid.W @ torch.ones(2, dtype=torch.float64), torch.zeros(2).double(),
                                             torch.eye(2).double(), K=1000, n_estimates=40)  # chunked
    assert math.isfinite(value) and se >= 0


def test_11_dial_stops_rendering_at_the_page_budget(monkeypatch, digits):
    (_, _), (xt, yt) = digits
    models = {b: small(k).eval() for k, b in enumerate((0.0, 1.0, 2.0))}
    summary = {"recon": 1.0, "kl": 1.0, "information": 0.5, "mismatch": 0.5, "prior_coverage": 0.9,
               "completeness": {"label_entropy": 0.9}, "continuity": 0.05}
    rendered = []
    real = dial.render_density
    monkeypatch.setattr(dial, "render_density", lambda *a, **k: rendered.append(1) or real(*a, **k))
    monkeypatch.setattr(dial, "MAX_STATIC_BYTES", 16_384 + 1000)
    with pytest.raises(ValueError, match=r"^models: the first 1 of 3 frames"):
        dial.dial_frames(models, xt[:50], yt[:50], {b: summary for b in models}, grid=3, n_strip=2)
    assert rendered == [1]


def test_11_a_checkpoint_cannot_make_load_allocate_a_huge_model(tmp_path):
    payload = {"format": checkpoints.FORMAT, "model_config": {"latent_dim": 2, "arch": "mlp", "hidden": [40000, 40000]},
               "state_dict": {"w": torch.zeros(1)}, "digest": "0", "history": {}, "config": {}}
    torch.save(payload, tmp_path / "huge.pt")
    with pytest.raises(ValueError, match="more than 50,000,000 weights"):
        checkpoints.load_checkpoint(tmp_path / "huge.pt")


@pytest.mark.parametrize("scale, sigma, ok", [(1e8, 1.0, True), (1.0, 1e-8, True), (1.0, 1e-200, False),
                                              (1.0, 1e160, False)])
def test_12_the_linear_gaussian_model_keeps_its_identity_or_refuses(scale, sigma, ok):
    g = torch.Generator().manual_seed(1)
    W = torch.randn(5, 2, generator=g, dtype=torch.float64) * scale
    if not ok:
        with pytest.raises(ValueError, match="^sigma"):
            elbo.LinearGaussian(W, torch.zeros(5, dtype=torch.float64), sigma)
        return
    model = elbo.LinearGaussian(W, torch.zeros(5, dtype=torch.float64), sigma)
    x = W @ torch.tensor([0.5, -1.0], dtype=torch.float64) + sigma * torch.randn(5, generator=g, dtype=torch.float64)
    m, S = model.posterior(x)
    log_px, at_posterior = float(model.log_evidence(x)), float(model.elbo(x, m, S))
    assert math.isfinite(log_px) and abs(log_px - at_posterior) <= 1e-6 * max(1.0, abs(log_px))


# --- unclear errors -----------------------------------------------------------------------


def test_unclear_errors_are_named_value_errors(tmp_path, x):
    metrics.report_claims({"numpy says": np.bool_(True)}, measured={})  # prints True, so it is one
    torch.save({"format": checkpoints.FORMAT, "model_config": {"latent_dim": 2}}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="^path: .* not a usable checkpoint"):
        checkpoints.load_checkpoint(tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="^lr must be at most"):
        train_vae(small(), x[:16], epochs=1, lr=1e39, progress=False)
    from vae_utils.book import checkpoint_path

    with pytest.raises(ValueError, match="^name must"):
        checkpoint_path("a" * 300)
    with pytest.raises(ValueError, match="^models' names must"):
        explore.static_explorer({"n" * 700_000: small().eval()}, grid=3)
    with pytest.raises(ValueError, match=r"^paths\[1.0\]: .* is a folder"):
        checkpoints.load_or_train(tmp_path, x[:16], beta=1.0, epochs=1, progress=False)
    with pytest.raises(ValueError, match="^classifier must"):
        metrics.completeness(small().eval(), lambda images: images, n_samples=4)
    with pytest.raises(ValueError, match="^classifier must"):
        metrics.classifier_accuracy(None, x[:4], torch.zeros(4, dtype=torch.int64))
    with pytest.raises(ValueError, match="^history must"):
        plotting.plot_history(None)
    for channels in (2, 5):
        with pytest.raises(ValueError, match="^array must"):
            pictures.png_bytes(np.zeros((4, 4, channels), dtype=np.uint8))


def test_a_raw_cache_file_that_is_a_folder_is_named(tmp_path, digits):
    (xs, ys), (xt, yt) = digits
    raw = data.write_torchvision_cache(tmp_path, (xs[:20], ys[:20]), (xt[:10], yt[:10]))
    (raw / "t10k-labels-idx1-ubyte").unlink()
    (raw / "t10k-labels-idx1-ubyte").mkdir()
    with pytest.raises(RuntimeError, match="t10k-labels-idx1-ubyte is not a file"):
        data.load_mnist("test", source="torchvision", root=tmp_path)


# --- cosmetic -----------------------------------------------------------------------------


def test_degenerate_boxes_grids_claims_and_dials_are_refused(digits):
    with pytest.raises(ValueError, match="^means must lie within"):
        latent.latent_box(torch.full((4, 2), 1e17))
    with pytest.raises(ValueError, match="^x_range .* too narrow"):
        latent.latent_grid((1e8, 1e8 + 1), (0, 1), 40)
    with pytest.raises(ValueError, match="^without_kl"):
        metrics.kl_claims({"latent_std": []}, {"latent_std": []})
    summary = {"completeness": {"label_entropy": 0.5}, "continuity": 0.05, "kl": 1.0, "mismatch": 1.0,
               "information": 1.0}
    with pytest.raises(ValueError, match="^sweep must have non-negative betas"):
        metrics.sweep_claims({-1.0: summary, 0.0: summary, 1.0: summary})
    frame = dial.Frame(1.0, b"", b"", b"", b"", b"", b"", {})
    with pytest.raises(ValueError, match="^frames must have one frame per beta"):
        dial.beta_dial([frame, frame])
