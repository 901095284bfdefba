"""SymPy building blocks for the derivations: densities, the closed-form KL, equation display."""
from __future__ import annotations

import sympy as sp
from IPython.display import Math, display


def normal_pdf(x: sp.Expr, mu: sp.Expr, sigma: sp.Expr) -> sp.Expr:
    r"""The density :math:`\mathcal N(x; \mu, \sigma^2) = \frac{1}{\sigma\sqrt{2\pi}} e^{-(x-\mu)^2 / 2\sigma^2}`."""
    return sp.exp(-(x - mu) ** 2 / (2 * sigma**2)) / (sigma * sp.sqrt(2 * sp.pi))


def mvn_pdf(x: sp.Matrix, mu: sp.Matrix, Sigma: sp.Matrix) -> sp.Expr:
    r"""The multivariate normal density
    :math:`\frac{1}{\sqrt{(2\pi)^D \lvert\Sigma\rvert}} \exp\!\big(-\tfrac12 (x-\mu)^\top \Sigma^{-1} (x-\mu)\big)`."""
    D = x.shape[0]
    quadratic = ((x - mu).T * Sigma.inv() * (x - mu))[0]
    return sp.exp(-quadratic / 2) / sp.sqrt((2 * sp.pi) ** D * Sigma.det())


def closed_form_kl(mu: sp.Expr, sigma: sp.Expr) -> sp.Expr:
    r"""The closed form :math:`-\tfrac12(1 + \log\sigma^2 - \mu^2 - \sigma^2)` of
    :math:`D_{KL}(\mathcal N(\mu, \sigma^2) \,\|\, \mathcal N(0, 1))`, as the blog post this book grew from states it."""
    return -sp.Rational(1, 2) * (1 + sp.log(sigma**2) - mu**2 - sigma**2)


def show_equation(lhs: str, rhs) -> None:
    """Display ``lhs = rhs`` as rendered math; ``lhs`` is LaTeX, ``rhs`` a SymPy expression or LaTeX."""
    display(Math(f"{lhs} = {rhs if isinstance(rhs, str) else sp.latex(rhs)}"))
