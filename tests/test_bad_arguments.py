"""Every public function of vae_utils, called with a matrix of bad arguments.

The functions are discovered from the modules' public names, so a new helper cannot escape:
each of its parameters must be given a kind below (or an explicit reason to skip it), else
``test_every_parameter_has_a_kind`` fails. For every (function, parameter, bad value) the call
must raise ``ValueError`` (``FileNotFoundError`` for a missing file) whose message names the
parameter: no other exception type and no silent success. When this was written the matrix
held 935 (function, bad input) pairs; the count is printed by
``test_the_matrix_is_large`` and must not shrink below 900.
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

MODULES = ["data", "models", "losses", "training", "latent", "plotting", "metrics", "explore", "book", "elbo",
           "ensemble", "dial", "symbolic"]

# Parameters that are not validated, and why.
SKIP = {
    "ax": "a matplotlib Axes; matplotlib reports its own misuse",
    "title": "any text is a title",
    "mappable": "a matplotlib artist",
    "s": "matplotlib's marker size",
    "lhs": "LaTeX text", "rhs": "LaTeX text or a SymPy expression",
    "classifier": "any torch module that maps images to 10 logits",
    "train": "a pair (images, labels), checked as images and labels", "test": "as train",
    "history": "plain data written into a checkpoint; checked by its content",
    "config": "plain data written into a checkpoint; checked by its content",
    "measured": "numbers quoted in an error message, any value",
    "with_kl": "a summarize() dict", "without_kl": "a summarize() dict",
    "box": "checked as ranges", "frames": "checked in tests/test_dial.py",
    "summaries": "checked in tests/test_dial.py", "sweep": "checked in tests/test_claims.py",
    "iterable": "anything tqdm can iterate over", "kwargs": "passed on to tqdm, which checks them",
}
SKIP_MODULES = {"symbolic": "SymPy building blocks: they take SymPy expressions, and SymPy reports misuse"}

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
    "betas": [None, [1.0], [nan, 1.0], [-1.0, 1.0]],
    "levels": [8, 0, None, True],
    "n_train": [None, 0, -3, True, 2.5],
    "quick": ["yes", 1],
    "name": [None, "", "a/b", 3],
    "device": [None, "tpu", 3, True],
    "array": [None, np.zeros((2, 2)), np.zeros((0, 3), dtype=np.uint8), "x"],
    "model_list": [None, [], ["x"], [VAE(hidden=(8, 4)), VAE(hidden=(16, 8))]],
    "root": [123, True, ""],
    "means": [None, "x", torch.zeros(3), torch.zeros(3, 2, dtype=torch.int64), torch.full((3, 2), nan), torch.zeros(0, 2)],
    "weights": [None, "x", torch.zeros(3), torch.full((3, 2), nan)],
    "module": [None, "x", torch.nn.ReLU()],
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
    "threshold": "threshold", "digit": "digit", "start": "index", "end": "index", "betas": "betas",
    "levels": "levels", "n_train": "n_train", "quick": "quick", "name": "name", "array": "array",
    "m0": "vector", "m1": "vector", "m": "vector", "b": "vector", "S0": "matrix", "S1": "matrix", "S": "matrix",
    "W": "weights",
}
FUNCTION_KIND = {
    ("models.device_of", "model"): "module",
    ("ensemble.train_together", "models"): "model_list", ("ensemble.StackedVAE", "models"): "model_list",
    ("ensemble.StackedVAE.copy_into", "models"): "model_list",
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
    """A valid call of every public callable: its name -> (callable, kwargs)."""
    from vae_utils import book, data, elbo, ensemble, explore, latent, losses, metrics, models, plotting, training

    ckpt = training.save_checkpoint(tmp_path / "m.pt", MODEL, {}, {})
    summary = {"latent_std": [1.0, 1.0], "completeness": {"label_entropy": 0.9}, "continuity": 0.04, "kl": 1.0,
               "recon": 20.0}
    mu, logvar = torch.zeros(6, 2), torch.zeros(6, 2)
    stacked = ensemble.StackedVAE([VAE(hidden=(16, 8)), VAE(hidden=(16, 8))])
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
        "training.Checkpoint": None,
        "training.save_checkpoint": (training.save_checkpoint, {"path": tmp_path / "s.pt", "model": MODEL,
                                                                "history": {}, "config": {}}),
        "training.load_checkpoint": (training.load_checkpoint, {"path": ckpt, "device": "cpu"}),
        "training.training_config": (training.training_config, {"images": IMAGES, "beta": 1.0, "epochs": 1, "seed": 0}),
        "training.load_or_train": (training.load_or_train, {"path": tmp_path / "lot.pt", "images": IMAGES, "beta": 1.0,
                                                            "epochs": 1, "seed": 0, "progress": False}),
        "latent.encode_means": (latent.encode_means, {"model": MODEL, "images": IMAGES, "batch_size": 4}),
        "latent.decode_latents": (latent.decode_latents, {"model": MODEL, "z": mu, "batch_size": 4}),
        "latent.latent_box": (latent.latent_box, {"means": mu, "percentiles": (1.0, 99.0)}),
        "latent.latent_grid": (latent.latent_grid, {"x_range": (0, 1), "y_range": (0, 1), "n": 3}),
        "latent.tile_images": (latent.tile_images, {"images": IMAGES, "ncol": 3}),
        "latent.straight_path": (latent.straight_path, {"z_start": mu, "z_end": mu, "n_steps": 3}),
        "latent.reconstruct": (latent.reconstruct, {"model": MODEL, "images": IMAGES}),
        "latent.best_reconstructed_index": (latent.best_reconstructed_index,
                                            {"models": {"a": MODEL}, "images": IMAGES, "labels": LABELS, "digit": 3}),
        "plotting.digit_colorbar": None,
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
        "explore.quantize_grey": (explore.quantize_grey, {"array": np.zeros((2, 2), dtype=np.uint8), "levels": 16}),
        "explore.decode_uint8": (explore.decode_uint8, {"model": MODEL, "z": mu}),
        "explore.png_bytes": (explore.png_bytes, {"array": np.zeros((2, 2), dtype=np.uint8), "smallest": False,
                                                  "levels": 256}),
        "explore.model_boxes": (explore.model_boxes, {"models": {"a": MODEL}, "images": IMAGES, "ranges": None}),
        "explore.latent_explorer": (explore.latent_explorer, {"models": {"a": MODEL}, "images": IMAGES,
                                                              "labels": LABELS, "ranges": None}),
        "explore.path_explorer": (explore.path_explorer, {"models": {"a": MODEL}, "images": IMAGES, "start": 0,
                                                          "end": 1}),
        "explore.grid_sprite": (explore.grid_sprite, {"model": MODEL, "box": ((0, 1), (0, 1)), "grid": 3}),
        "explore.sprite_bytes_bound": (explore.sprite_bytes_bound, {"grid": 3, "levels": 16}),
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
        "ensemble.StackedVAE": (ensemble.StackedVAE, {"models": [VAE(hidden=(16, 8)), VAE(hidden=(16, 8))]}),
        "ensemble.StackedVAE.forward": (stacked.forward, {"x": IMAGES}),
        "ensemble.StackedVAE.copy_into": (stacked.copy_into, {"models": [VAE(hidden=(16, 8)), VAE(hidden=(16, 8))]}),
        "ensemble.train_together": (ensemble.train_together,
                                    {"models": [VAE(hidden=(16, 8)), VAE(hidden=(16, 8))], "images": IMAGES,
                                     "betas": [0.0, 1.0], "epochs": 1, "batch_size": 4, "lr": 1e-3, "seed": 0,
                                     "device": "cpu", "progress": False, "likelihood": "gaussian"}),
        "dial.render_curves": None,
        "dial.dial_frames": None, "dial.beta_dial": None, "dial.static_beta_dial": None, "dial.Frame": None,
    }


NOT_IN_MATRIX = {
    "plotting.digit_colorbar": "takes only matplotlib objects",
    "dial.render_curves": "takes the output of dial_frames' own computation; tested in tests/test_dial.py",
    "dial.dial_frames": "bad input tested in tests/test_dial.py (it needs trained summaries)",
    "dial.beta_dial": "bad input tested in tests/test_dial.py", "dial.static_beta_dial": "as beta_dial",
    "dial.Frame": "a plain record",
    "training.Checkpoint": "a plain record (a NamedTuple) that load_checkpoint fills",
}


def public_callables():
    for module_name in MODULES:
        module = importlib.import_module(f"vae_utils.{module_name}")
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue  # exception classes (ClaimFailed, TrainingDiverged) are raised, not called
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{module_name}.{name}", obj
                if inspect.isclass(obj):
                    for method, fn in vars(obj).items():
                        if not method.startswith("_") and inspect.isfunction(fn):
                            yield f"{module_name}.{name}.{method}", fn


def parameters(qualname, obj):
    sig = inspect.signature(obj)
    return [p for p in sig.parameters if p != "self"]


def kind_of(qualname, param):
    return FUNCTION_KIND.get((qualname, param)) or KIND.get(param)


def test_every_parameter_has_a_kind(tmp_path):
    valid = valid_arguments(tmp_path)
    missing = []
    for qualname, obj in public_callables():
        module = qualname.split(".")[0]
        if module in SKIP_MODULES:
            continue
        assert qualname in valid, f"{qualname} is new: give it a valid call in valid_arguments()"
        if valid[qualname] is None:
            assert qualname in NOT_IN_MATRIX, qualname
            continue
        for p in parameters(qualname, obj):
            if p not in SKIP and not kind_of(qualname, p):
                missing.append(f"{qualname}({p})")
    assert not missing, f"parameters with no kind of bad input: {missing}"


def cases():
    out = []
    for qualname, obj in public_callables():
        if qualname.split(".")[0] in SKIP_MODULES or qualname in NOT_IN_MATRIX:
            continue
        for p in parameters(qualname, obj):
            kind = kind_of(qualname, p)
            if kind and p not in SKIP:
                out += [(qualname, p, k) for k in range(len(BAD[kind]))]
    return out


CASES = cases()


def test_the_matrix_is_large():
    print(f"{len(CASES)} (function, bad input) pairs")
    assert len(CASES) >= 900


def test_valid_calls_succeed(tmp_path):
    for qualname, spec in valid_arguments(tmp_path).items():
        if spec is not None:
            fn, kwargs = spec
            fn(**kwargs)


@pytest.mark.parametrize("qualname, param, k", CASES, ids=[f"{q}-{p}-{k}" for q, p, k in CASES])
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


def _short(value):
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."
