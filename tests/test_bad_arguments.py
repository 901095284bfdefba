"""The entry points of vae_utils, called with a matrix of bad arguments.

An entry point is where a reader's data or choice enters: loading data, the model's methods,
training, checkpoints, the latent-space helpers a chapter calls, the figures, the metrics, the
explorers and the dial. (The maths inside, e.g. the loss formulas, trusts its callers.) For every
(entry point, parameter, bad value) the call must raise ``ValueError`` (``FileNotFoundError`` for a
missing file) whose message names the parameter: no other exception type and no silent success.
Each case's id names the call and the bad value, e.g. ``latent.straight_path(n_steps=-1)``.
"""
from __future__ import annotations

import importlib
import inspect
import re

import numpy as np
import pytest
import torch


from vae_utils import set_seed
from vae_utils.models import VAE

nan, inf = float("nan"), float("inf")
BAD = {
    "images": [None, "x", torch.rand(4, 784), torch.zeros(0, 1, 28, 28), torch.full((2, 1, 28, 28), nan),
               torch.randint(0, 2, (2, 1, 28, 28)), torch.rand(2, 1, 28, 28) * 255],
    "labels": [None, [1, 2], torch.zeros(2), torch.full((2,), 12, dtype=torch.int64)],
    "model": [None, "x", torch.nn.Linear(2, 2)],
    "models": [None, {}, {"a": "x"}, ["x"]],
    "int": [None, "3", True, 2.5, 0, -1],
    "seed": [None, "1", True, -1, 2**40, 1.5],
    "beta": [None, "x", True, nan, inf, -1.0],
    "positive": [None, "x", True, nan, inf, 0.0, -1.0],
    "choice": [None, "nope", True, 3],
    "flag": ["no", 1, None],
    "path": [None, 123, True, ""],
    "latents": [None, "x", torch.zeros(3), torch.zeros(3, 5), torch.zeros(3, 2, dtype=torch.int64),
                torch.full((3, 2), nan)],
    "range": [None, "ab", (1.0, 0.0), (0.0, inf), (nan, 1.0)],
    "ranges": ["x", {"nope": ((0, 1), (0, 1))}],
    "vector": [None, "x", torch.zeros(2, 2), torch.full((2,), nan)],
    "matrix": [None, "x", torch.zeros(2), -torch.eye(2)],
    "frequencies": ["x", [0.5, 0.5], torch.full((10,), 0.5), np.full(10, nan)],
    "claims": [None, {}, {"a": 1}],
    "percentiles": ["x", (50, 10), (-1, 50), (1, 101)],
    "hidden": [16, (16,), (16, 0), ("a", 2)],
    "threshold": [None, 0.0, 1.0, nan, "0.5"],
    "digit": [None, -1, 10, 2.5, 7],  # 7 is absent from the labels given
    "index": [None, -1, 10_000, True, 1.5],
    "levels": [8, 0, None, True],
    "n_train": [None, 0, -3, True, 2.5],
    "quick": ["yes", 1],
    "name": [None, "", "a/b", 3],
    "device": [None, "tpu", 3, True],
    "array": [None, np.zeros((2, 2)), np.zeros((0, 3), dtype=np.uint8), "x"],
    "root": [123, True, ""],
    "means": [None, "x", torch.zeros(3), torch.zeros(3, 2, dtype=torch.int64), torch.full((3, 2), nan), torch.zeros(0, 2)],
    "weights": [None, "x", torch.zeros(3), torch.full((3, 2), nan)],
    "module": [None, "x", torch.nn.ReLU()],
    "history": [None, "x", {"loss": [1.0]}],
}

KIND = {
    # by parameter name, for every function; FUNCTION_KIND below overrides per function
    "images": "images", "x": "images", "x_hat": "images", "test_images": "images",
    "labels": "labels", "model": "model", "models": "models",
    "epochs": "int", "batch_size": "int", "n": "int", "ncol": "int", "n_steps": "int", "n_samples": "int",
    "n_pairs": "int", "grid": "int", "K": "int", "n_estimates": "int", "latent_dim": "int", "n_strip": "int",
    "seed": "seed", "beta": "beta", "lr": "positive", "sigma": "positive", "timeout": "positive",
    "download_deadline": "positive",
    "likelihood": "choice", "split": "choice", "source": "choice", "arch": "choice", "device": "device",
    "progress": "flag", "smallest": "flag", "path": "path", "root": "root",
    "z": "latents", "mu": "latents", "logvar": "latents", "z_start": "latents", "z_end": "latents", "means": "means",
    "x_range": "range", "y_range": "range", "ranges": "ranges",
    "class_frequencies": "frequencies", "claims": "claims", "percentiles": "percentiles", "hidden": "hidden",
    "threshold": "threshold", "digit": "digit", "start": "index", "end": "index",
    "levels": "levels", "n_train": "n_train", "quick": "quick", "name": "name", "array": "array",
    "m0": "vector", "m1": "vector", "m": "vector", "b": "vector", "S0": "matrix", "S1": "matrix", "S": "matrix",
    "W": "weights", "classifier": "module", "history": "history",
}
FUNCTION_KIND = {
    ("models.device_of", "model"): "module",
    ("elbo.LinearGaussian.log_evidence", "x"): "vector", ("elbo.LinearGaussian.posterior", "x"): "vector",
    ("elbo.LinearGaussian.expected_log_likelihood", "x"): "vector", ("elbo.LinearGaussian.elbo", "x"): "vector",
    ("elbo.LinearGaussian.gap", "x"): "vector", ("elbo.LinearGaussian.importance_weighted_bound", "x"): "vector",
}


def _setup():
    set_seed(0)
    model = VAE(hidden=(16, 8)).eval()
    g = torch.Generator().manual_seed(0)
    images = torch.rand(6, 1, 28, 28, generator=g)
    labels = torch.tensor([0, 1, 2, 3, 4, 5])
    from vae_utils.elbo import LinearGaussian

    lg = LinearGaussian(torch.randn(3, 2, generator=g, dtype=torch.float64),
                                       torch.zeros(3, dtype=torch.float64), 1.0)
    classifier = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)).eval()
    return model, images, labels, lg, classifier


MODEL, IMAGES, LABELS, LG, CLASSIFIER = _setup()
VEC, MAT = torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)


def valid_arguments(tmp_path) -> dict:
    """A valid call of each entry point (and a few other helpers): its name -> (callable, kwargs)."""
    from vae_utils import (aggregate, book, checkpoints, data, elbo, explore, latent, losses, metrics, models,
                           pictures, plotting, training)

    ckpt = checkpoints.save_checkpoint(tmp_path / "m.pt", MODEL, {}, {})
    summary = {"latent_std": [1.0, 1.0], "completeness": {"label_entropy": 0.9}, "continuity": 0.04, "kl": 1.0,
               "recon": 20.0, "prior_coverage": 0.9, "information": 0.5, "mismatch": 0.5}
    mu, logvar = torch.zeros(6, 2), torch.zeros(6, 2)
    return {
        "data.default_root": (data.default_root, {}),
        "data.load_mnist": (data.load_mnist, {"split": "test", "source": "offline", "root": str(tmp_path),
                                              "download_deadline": 5.0}),
        "data.network_reachable": (data.network_reachable, {"timeout": 0.01}),
        "data.fingerprint": (data.fingerprint, {"images": IMAGES}),
        "data.binarize": (data.binarize, {"images": IMAGES, "threshold": 0.5}),
        "data.write_torchvision_cache": (data.write_torchvision_cache,
                                         {"root": tmp_path / "c", "train": (IMAGES, LABELS), "test": (IMAGES, LABELS)}),
        "models.VAE": (models.VAE, {"latent_dim": 2, "arch": "mlp", "hidden": (16, 8)}),
        "models.VAE.encode": (MODEL.encode, {"x": IMAGES}),
        "models.VAE.reparameterize": (MODEL.reparameterize, {"mu": mu, "logvar": logvar}),
        "models.VAE.decode": (MODEL.decode, {"z": mu}),
        "models.VAE.forward": (MODEL.forward, {"x": IMAGES}),
        "models.device_of": (models.device_of, {"model": MODEL}),
        "losses.reconstruction_loss": (losses.reconstruction_loss, {"x_hat": IMAGES, "x": IMAGES}),
        "losses.bernoulli_reconstruction_loss": (losses.bernoulli_reconstruction_loss, {"x_hat": IMAGES, "x": IMAGES}),
        "losses.kl_per_dimension": (losses.kl_per_dimension, {"mu": mu, "logvar": logvar}),
        "losses.kl_divergence": (losses.kl_divergence, {"mu": mu, "logvar": logvar}),
        "losses.vae_loss": (losses.vae_loss, {"x_hat": IMAGES, "x": IMAGES, "mu": mu, "logvar": logvar, "beta": 1.0,
                                              "likelihood": "gaussian"}),
        "training.set_seed": (training.set_seed, {"seed": 0}),
        "training.pick_device": (training.pick_device, {"device": "cpu"}),
        "training.train_vae": (training.train_vae, {"model": VAE(hidden=(16, 8)), "images": IMAGES, "epochs": 1,
                                                    "beta": 1.0, "batch_size": 4, "lr": 1e-3, "seed": 0,
                                                    "device": "cpu", "progress": False, "likelihood": "gaussian"}),
        "checkpoints.save_checkpoint": (checkpoints.save_checkpoint, {"path": tmp_path / "s.pt", "model": MODEL,
                                                                      "history": {}, "config": {}}),
        "checkpoints.load_checkpoint": (checkpoints.load_checkpoint, {"path": ckpt, "device": "cpu"}),
        "checkpoints.training_config": (checkpoints.training_config,
                                        {"images": IMAGES, "beta": 1.0, "epochs": 1, "seed": 0, "lr": 1e-3,
                                         "batch_size": 4, "likelihood": "gaussian"}),
        "checkpoints.load_or_train": (checkpoints.load_or_train,
                                      {"path": tmp_path / "lot.pt", "images": IMAGES, "beta": 1.0, "epochs": 1,
                                       "seed": 0, "progress": False, "use_published": False}),
        "aggregate.log_density": (aggregate.log_density, {"z": mu, "mu": mu, "logvar": logvar}),
        "aggregate.kl_decomposition": (aggregate.kl_decomposition, {"mu": mu, "logvar": logvar, "n_samples": 2,
                                                                    "seed": 0}),
        "aggregate.prior_coverage": (aggregate.prior_coverage, {"mu": mu, "logvar": logvar, "n_samples": 20,
                                                                "seed": 0}),
        "plotting.aggregate_density": (plotting.aggregate_density, {"model": MODEL, "images": IMAGES}),
        "elbo.vae_log_likelihood": (elbo.vae_log_likelihood, {"model": MODEL, "images": IMAGES, "K": 2,
                                                              "likelihood": "gaussian", "seed": 0}),
        "latent.encode_means": (latent.encode_means, {"model": MODEL, "images": IMAGES, "batch_size": 4}),
        "latent.decode_latents": (latent.decode_latents, {"model": MODEL, "z": mu, "batch_size": 4}),
        "latent.latent_box": (latent.latent_box, {"means": mu, "percentiles": (1.0, 99.0)}),
        "latent.latent_grid": (latent.latent_grid, {"x_range": (0, 1), "y_range": (0, 1), "n": 3}),
        "latent.tile_images": (latent.tile_images, {"images": IMAGES, "ncol": 3}),
        "latent.straight_path": (latent.straight_path, {"z_start": mu, "z_end": mu, "n_steps": 3}),
        "latent.reconstruct": (latent.reconstruct, {"model": MODEL, "images": IMAGES}),
        "latent.best_reconstructed_index": (latent.best_reconstructed_index,
                                            {"models": {"a": MODEL}, "images": IMAGES, "labels": LABELS, "digit": 3}),
        "plotting.latent_scatter": (plotting.latent_scatter, {"model": MODEL, "images": IMAGES, "labels": LABELS}),
        "plotting.decode_grid": (plotting.decode_grid, {"model": MODEL, "x_range": (0, 1), "y_range": (0, 1), "n": 3}),
        "plotting.show_images": (plotting.show_images, {"images": IMAGES, "ncol": 3}),
        "plotting.plot_history": (plotting.plot_history, {"history": {"loss": [1.0], "recon": [1.0], "kl": [0.0]}}),
        "metrics.train_digit_classifier": (metrics.train_digit_classifier,
                                           {"images": IMAGES, "labels": LABELS, "epochs": 1, "seed": 0,
                                            "device": "cpu", "progress": False}),
        "metrics.classifier_accuracy": (metrics.classifier_accuracy,
                                        {"classifier": CLASSIFIER, "images": IMAGES, "labels": LABELS}),
        "metrics.class_frequencies": (metrics.class_frequencies, {"labels": LABELS}),
        "metrics.completeness": (metrics.completeness, {"model": MODEL, "classifier": CLASSIFIER, "n_samples": 10,
                                                        "seed": 0, "class_frequencies": None}),
        "metrics.continuity": (metrics.continuity, {"model": MODEL, "images": IMAGES, "n_pairs": 3, "n_steps": 4,
                                                    "seed": 0}),
        "metrics.heldout_loss": (metrics.heldout_loss, {"model": MODEL, "images": IMAGES, "likelihood": "gaussian",
                                                        "seed": 0}),
        "metrics.kl_claims": (metrics.kl_claims, {"with_kl": summary, "without_kl": summary}),
        "metrics.sweep_claims": (metrics.sweep_claims, {"sweep": {0.0: summary, 1.0: summary, 2.0: summary}}),
        "metrics.report_claims": (metrics.report_claims, {"claims": {"a": True}, "measured": {}}),
        "metrics.summarize": (metrics.summarize, {"model": MODEL, "test_images": IMAGES, "classifier": CLASSIFIER,
                                                  "seed": 0, "likelihood": "gaussian", "class_frequencies": None}),
        "pictures.quantize_grey": (pictures.quantize_grey, {"array": np.zeros((2, 2), dtype=np.uint8), "levels": 16}),
        "pictures.decode_uint8": (pictures.decode_uint8, {"model": MODEL, "z": mu}),
        "pictures.png_bytes": (pictures.png_bytes, {"array": np.zeros((2, 2), dtype=np.uint8), "smallest": False,
                                                  "levels": 256}),
        "explore.model_boxes": (explore.model_boxes, {"models": {"a": MODEL}, "images": IMAGES, "ranges": None}),
        "explore.latent_explorer": (explore.latent_explorer, {"models": {"a": MODEL}, "images": IMAGES,
                                                              "labels": LABELS, "ranges": None}),
        "explore.path_explorer": (explore.path_explorer, {"models": {"a": MODEL}, "images": IMAGES, "start": 0,
                                                          "end": 1}),
        "pictures.grid_sprite": (pictures.grid_sprite, {"model": MODEL, "box": ((0, 1), (0, 1)), "grid": 3}),
        "pictures.sprite_bytes_bound": (pictures.sprite_bytes_bound, {"grid": 3, "levels": 16}),
        "explore.static_explorer": (explore.static_explorer, {"models": {"a": MODEL}, "grid": 3, "images": IMAGES,
                                                              "labels": LABELS, "ranges": None}),
        "book.quick_mode": (book.quick_mode, {}),
        "book.progress_bar": (book.progress_bar, {"iterable": range(2), "disable": True}),
        "book.checkpoint_path": (book.checkpoint_path, {"name": "a", "root": str(tmp_path), "n_train": 10}),
        "book.chapter_epochs": (book.chapter_epochs, {"n_train": 10, "quick": True}),
        "elbo.gaussian_kl": (elbo.gaussian_kl, {"m0": VEC, "S0": MAT, "m1": VEC, "S1": MAT}),
        "elbo.LinearGaussian": (elbo.LinearGaussian, {"W": torch.ones(3, 2, dtype=torch.float64),
                                                      "b": torch.zeros(3, dtype=torch.float64), "sigma": 1.0}),
        "elbo.LinearGaussian.log_evidence": (LG.log_evidence, {"x": torch.zeros(3, dtype=torch.float64)}),
        "elbo.LinearGaussian.posterior": (LG.posterior, {"x": torch.zeros(3, dtype=torch.float64)}),
        "elbo.LinearGaussian.expected_log_likelihood": (LG.expected_log_likelihood,
                                                        {"x": torch.zeros(3, dtype=torch.float64), "m": VEC, "S": MAT}),
        "elbo.LinearGaussian.elbo": (LG.elbo, {"x": torch.zeros(3, dtype=torch.float64), "m": VEC, "S": MAT}),
        "elbo.LinearGaussian.gap": (LG.gap, {"x": torch.zeros(3, dtype=torch.float64), "m": VEC, "S": MAT}),
        "elbo.LinearGaussian.importance_weighted_bound": (LG.importance_weighted_bound,
                                                          {"x": torch.zeros(3, dtype=torch.float64), "m": VEC, "S": MAT,
                                                           "K": 2, "n_estimates": 10, "seed": 0}),
    }


# The entry points and the parameters through which data or a choice enters each of them.
ENTRY_POINTS = {
    "data.load_mnist": ("split", "source", "root", "download_deadline"),
    "data.binarize": ("images", "threshold"),
    "data.fingerprint": ("images",),
    "data.write_torchvision_cache": ("root",),
    "models.VAE": ("latent_dim", "arch", "hidden"),
    "models.VAE.encode": ("x",),
    "models.VAE.reparameterize": ("mu", "logvar"),
    "models.VAE.decode": ("z",),
    "models.VAE.forward": ("x",),
    "models.device_of": ("model",),
    "losses.vae_loss": ("x_hat", "beta", "likelihood"),
    "training.set_seed": ("seed",),
    "training.pick_device": ("device",),
    "training.train_vae": ("model", "images", "epochs", "beta", "batch_size", "lr", "seed", "device", "progress",
                           "likelihood"),
    "checkpoints.save_checkpoint": ("path", "model"),
    "checkpoints.load_checkpoint": ("path", "device"),
    "checkpoints.training_config": ("images", "beta", "epochs", "seed", "lr", "batch_size", "likelihood"),
    "checkpoints.load_or_train": ("path", "images", "beta", "epochs", "seed", "progress"),
    "latent.encode_means": ("model", "images", "batch_size"),
    "latent.decode_latents": ("model", "z", "batch_size"),
    "latent.latent_box": ("means", "percentiles"),
    "latent.latent_grid": ("x_range", "y_range", "n"),
    "latent.tile_images": ("images", "ncol"),
    "latent.straight_path": ("z_start", "z_end", "n_steps"),
    "latent.best_reconstructed_index": ("models", "images", "labels", "digit"),
    "plotting.latent_scatter": ("model", "images", "labels"),
    "plotting.decode_grid": ("model", "x_range", "y_range", "n"),
    "plotting.show_images": ("images", "ncol"),
    "plotting.plot_history": ("history",),
    "plotting.aggregate_density": ("model", "images"),
    "metrics.train_digit_classifier": ("images", "labels", "epochs", "seed", "device", "progress"),
    "metrics.classifier_accuracy": ("classifier", "images", "labels"),
    "metrics.class_frequencies": ("labels",),
    "metrics.completeness": ("model", "classifier", "n_samples", "seed", "class_frequencies"),
    "metrics.continuity": ("model", "images", "n_pairs", "n_steps", "seed"),
    "metrics.heldout_loss": ("model", "images", "likelihood", "seed"),
    "metrics.report_claims": ("claims",),
    "metrics.summarize": ("model", "test_images", "classifier", "seed", "likelihood", "class_frequencies"),
    "aggregate.log_density": ("z", "mu", "logvar"),
    "aggregate.kl_decomposition": ("mu", "logvar", "n_samples", "seed"),
    "aggregate.prior_coverage": ("mu", "logvar", "n_samples", "seed"),
    "elbo.gaussian_kl": ("m0", "S0", "m1", "S1"),
    "elbo.LinearGaussian": ("W", "b", "sigma"),
    "elbo.LinearGaussian.log_evidence": ("x",),
    "elbo.LinearGaussian.posterior": ("x",),
    "elbo.LinearGaussian.expected_log_likelihood": ("x", "m", "S"),
    "elbo.LinearGaussian.elbo": ("x", "m", "S"),
    "elbo.LinearGaussian.gap": ("m", "S"),
    "elbo.LinearGaussian.importance_weighted_bound": ("x", "m", "S", "K", "n_estimates", "seed"),
    "elbo.vae_log_likelihood": ("model", "images", "K", "likelihood", "seed"),
    "pictures.quantize_grey": ("array", "levels"),
    "pictures.decode_uint8": ("model", "z"),
    "pictures.png_bytes": ("array", "smallest", "levels"),
    "pictures.grid_sprite": ("grid",),
    "pictures.sprite_bytes_bound": ("grid", "levels"),
    "explore.model_boxes": ("models", "images", "ranges"),
    "explore.latent_explorer": ("models", "images", "labels", "ranges"),
    "explore.path_explorer": ("models", "images", "start", "end"),
    "explore.static_explorer": ("models", "grid", "images", "labels", "ranges"),
    "book.checkpoint_path": ("name", "root", "n_train"),
    "book.chapter_epochs": ("n_train", "quick"),
}


def kind_of(qualname, param):
    return FUNCTION_KIND.get((qualname, param)) or KIND.get(param)


def cases():
    return [(qualname, param, k) for qualname, params in ENTRY_POINTS.items() for param in params
            for k in range(len(BAD[kind_of(qualname, param)]))]


def test_every_entry_point_has_a_valid_call_and_every_parameter_a_kind(tmp_path):
    valid = valid_arguments(tmp_path)
    assert set(ENTRY_POINTS) <= set(valid)
    missing = [f"{q}({p})" for q, params in ENTRY_POINTS.items() for p in params if not kind_of(q, p)]
    assert not missing, f"parameters with no kind of bad input: {missing}"


def test_valid_calls_succeed(tmp_path):
    for qualname in ENTRY_POINTS:
        fn, kwargs = valid_arguments(tmp_path)[qualname]
        fn(**kwargs)


CASES = cases()


def _short(value):
    text = repr(value) if not isinstance(value, torch.Tensor) else f"tensor{tuple(value.shape)}:{value.dtype}"
    text = " ".join(text.split())
    return text if len(text) < 40 else text[:37] + "..."


@pytest.mark.parametrize("qualname, param, k", CASES,
                         ids=[f"{q}({p}={_short(BAD[kind_of(q, p)][k])})" for q, p, k in CASES])
def test_bad_argument_is_refused_naming_it(tmp_path, qualname, param, k):
    fn, kwargs = valid_arguments(tmp_path)[qualname]
    bad = BAD[kind_of(qualname, param)][k]
    sig = inspect.signature(fn)
    if bad is None and sig.parameters[param].default is None:
        pytest.skip("None is this parameter's default: a valid value")
    kwargs = {**kwargs, param: bad}
    try:
        fn(**kwargs)
    except FileNotFoundError as err:
        assert kind_of(qualname, param) == "path", f"{qualname}({param}={bad!r}): FileNotFoundError"
        assert re.search(rf"\b{param}\b", str(err)), str(err)
    except ValueError as err:
        assert re.search(rf"(^|\W){re.escape(param)}(\W|$)", str(err)), \
            f"{qualname}({param}={_short(bad)}): the message does not name {param!r}: {err}"
    except Exception as err:  # noqa: BLE001 - the defect this test exists to find
        pytest.fail(f"{qualname}({param}={_short(bad)}) raised {type(err).__name__}: {err}")
    else:
        pytest.fail(f"{qualname}({param}={_short(bad)}) accepted it silently")
