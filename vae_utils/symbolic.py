"""SymPy building blocks for the derivations: densities, the seed's KL formula, equation display."""
from __future__ import annotations

import sympy as sp


def normal_pdf(x: sp.Expr, mu: sp.Expr, sigma: sp.Expr) -> sp.Expr:
    r"""The density :math:`\mathcal N(x; \mu, \sigma^2) = \frac{1}{\sigma\sqrt{2\pi}} e^{-(x-\mu)^2 / 2\sigma^2}`."""
    return sp.exp(-(x - mu) ** 2 / (2 * sigma**2)) / (sigma * sp.sqrt(2 * sp.pi))


def mvn_pdf(x: sp.Matrix, mu: sp.Matrix, Sigma: sp.Matrix) -> sp.Expr:
    r"""The multivariate normal density
    :math:`\frac{1}{\sqrt{(2\pi)^k \lvert\Sigma\rvert}} \exp\!\big(-\tfrac12 (x-\mu)^\top \Sigma^{-1} (x-\mu)\big)`."""
    k = x.shape[0]
    quadratic = ((x - mu).T * Sigma.inv() * (x - mu))[0]
    return sp.exp(-quadratic / 2) / sp.sqrt((2 * sp.pi) ** k * Sigma.det())


def seed_kl(mu: sp.Expr, sigma: sp.Expr) -> sp.Expr:
    r"""The seed's closed form :math:`-\tfrac12(1 + \log\sigma^2 - \mu^2 - \sigma^2)` for one dimension."""
    return -sp.Rational(1, 2) * (1 + sp.log(sigma**2) - mu**2 - sigma**2)


def show_equation(lhs: str, rhs) -> None:
    """Display ``lhs = rhs`` as rendered math; ``lhs`` is LaTeX, ``rhs`` a SymPy expression or LaTeX."""
    from IPython.display import Math, display

    display(Math(f"{lhs} = {rhs if isinstance(rhs, str) else sp.latex(rhs)}"))
