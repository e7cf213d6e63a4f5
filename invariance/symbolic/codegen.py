"""Code generation: a derived stateless form as a numpy or torch function (``sympy.lambdify``).

:func:`lambdify_form` turns ``U^(t)`` of a :class:`~invariance.symbolic.StatelessForm` into
an elementwise function of arrays (numpy) or tensors (torch). Each particle row is an array
of the shape of the parameters; the gradient ``g = grad_i L(Theta)`` is passed in, so any
numeric loss (e.g. :class:`~invariance.potentials.InteractionPotential`) can drive it.
:meth:`NumericStatelessForm.run` iterates ``x^(t+1) = x^(t) + eta U^(t)(X^(t))`` (eq. 4 on
the augmented particles) from the zero state, for comparison with ``torch.optim``.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable, Literal, Sequence

import sympy as sp

from ..arguments import check_eta, check_int, check_t
from .optimizer import ETA, GRAD, T
from .stateless import StatelessForm

__all__ = ["NumericStatelessForm", "lambdify_form"]


@dataclass(frozen=True)
class NumericStatelessForm:
    """``U^(t)`` of a stateless form, compiled for ``backend``.

    Attributes:
        form: the symbolic form.
        backend: ``"numpy"`` or ``"torch"``.
        function: ``function(theta, *state, g, t, eta, *hyper) -> [U_theta, *U_state]``.
        hyper_names: the hyperparameter names, in ``function``'s order.
        defaults: their default values.

    Example:
        >>> from invariance.symbolic import heavy_ball, stateless_form, lambdify_form
        >>> U = lambdify_form(stateless_form(heavy_ball()))
        >>> rows = U(np.array([1.0]), (np.array([2.0]),), np.array([0.5]), t=0, eta=0.1)   # mu = 0.9
        >>> [round(float(u[0]), 6) for u in rows]      # -(mu b + g), (mu b - b + g) / eta
        [-2.3, 3.0]
    """

    form: StatelessForm
    backend: str
    function: Callable[..., Any]
    hyper_names: tuple[str, ...]
    defaults: tuple[float, ...]

    def _hyper(self, overrides: dict[str, float]) -> list[float]:
        unknown = set(overrides) - set(self.hyper_names)
        if unknown:
            raise ValueError(
                f"unknown hyperparameters {sorted(unknown)}; {self.form.name} has {list(self.hyper_names)}"
            )
        return [float(overrides.get(n, d)) for n, d in zip(self.hyper_names, self.defaults)]

    def __call__(self, theta: Any, state: Sequence[Any], grad: Any, t: int, eta: float, **hyper: float) -> list[Any]:
        """The rows ``[U_theta, *U_state]`` at particle ``(theta, *state)``, gradient ``grad``, step ``t``."""
        if len(state) != len(self.form.state):
            raise ValueError(f"state must have {len(self.form.state)} arrays for {self.form.name}, got {len(state)}")
        out = self.function(theta, *state, grad, check_t(t), check_eta(eta), *self._hyper(hyper))
        return [u + 0 * theta for u in out]  # broadcast constant rows

    def step(self, theta: Any, state: Sequence[Any], grad: Any, t: int, eta: float, **hyper: float) -> list[Any]:
        """``x + eta U^(t)(x)``: the particle ``[theta, *state]`` after one step."""
        rows = self(theta, state, grad, t, eta, **hyper)
        return [x + eta * u for x, u in zip([theta, *state], rows)]

    def run(self, gradient: Callable[[Any], Any], theta0: Any, eta: float, steps: int, **hyper: float) -> list[Any]:
        """The parameters after steps ``1..steps`` from ``(theta0, 0, ..., 0)``; ``gradient(theta)`` gives ``g``."""
        steps = check_int(steps, "steps", 0)
        theta, state = theta0, [0 * theta0 for _ in self.form.state]
        out = []
        for t in range(steps):
            theta, *state = self.step(theta, state, gradient(theta), t, eta, **hyper)
            out.append(theta)
        return out


def lambdify_form(form: StatelessForm, backend: Literal["numpy", "torch"] = "numpy") -> NumericStatelessForm:
    """Compile ``U^(t)`` of ``form`` (Section 5.2) with ``sympy.lambdify`` for numpy arrays or torch tensors.

    Args:
        form: a :class:`~invariance.symbolic.StatelessForm`.
        backend: ``"numpy"`` or ``"torch"``.

    Returns:
        A :class:`NumericStatelessForm`.

    Example:
        >>> from invariance.symbolic import adam, stateless_form, lambdify_form
        >>> U = lambdify_form(stateless_form(adam()))
        >>> float(U(np.array([0.0]), (np.zeros(1), np.zeros(1)), np.array([3.0]), t=0, eta=0.1)[0][0])
        -0.9999999966666667
    """
    if not isinstance(form, StatelessForm):
        raise TypeError(f"form must be a StatelessForm, got {type(form).__name__}")
    if backend not in ("numpy", "torch"):
        raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")
    hyper = tuple(s for s, _ in form.hyper)
    args = [*form.particle, GRAD, T, ETA, *hyper]
    # torch.pow refuses (float, int) (bias corrections beta^(t+1)): use Python's ** there
    modules: Any = [{"pow": operator.pow}, "torch"] if backend == "torch" else "numpy"
    function = sp.lambdify(args, list(form.components), modules=modules)
    return NumericStatelessForm(form, backend, function, tuple(s.name for s in hyper), tuple(v for _, v in form.hyper))
