"""The SymPy derivation of the KL, lambdified, agrees with the training code's KL."""
import numpy as np
import sympy as sp
import torch

from vae_utils.losses import kl_divergence
from vae_utils.symbolic import normal_pdf, closed_form_kl


def derived_kl():
    x, mu = sp.symbols("x mu", real=True)
    sigma = sp.symbols("sigma", positive=True)
    q, p = normal_pdf(x, mu, sigma), normal_pdf(x, 0, 1)
    log_ratio = sp.expand(sp.expand_log(sp.log(q) - sp.log(p), force=True))
    return sp.simplify(sp.integrate(q * log_ratio, (x, -sp.oo, sp.oo))), mu, sigma


def test_integral_equals_the_closed_form():
    kl, mu, sigma = derived_kl()
    assert sp.simplify(kl - closed_form_kl(mu, sigma)) == 0


def test_lambdified_derivation_equals_vae_utils_kl():
    kl, mu, sigma = derived_kl()
    per_dim = sp.lambdify((mu, sigma), kl, "numpy")
    rng = np.random.default_rng(0)
    m = rng.normal(0, 2, size=(50, 4))
    logvar = rng.uniform(-6, 4, size=(50, 4))
    expected = per_dim(m, np.exp(0.5 * logvar)).sum(1).mean()
    got = kl_divergence(torch.tensor(m), torch.tensor(logvar)).item()
    assert abs(got - expected) <= 1e-9 * max(1.0, abs(expected))
