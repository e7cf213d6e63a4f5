"""The reference trajectory the optimizer tests compare against: ``torch.optim`` itself."""

import numpy as np
import torch

from invariance import GaussianPair, InteractionPotential, LogCosh

#: The symmetric loss of the optimizer tests: log-cosh confinement + Gaussian pairs.
LOSS = InteractionPotential(LogCosh(1.0), GaussianPair(1.0, 1.0))


def torch_optim_trajectory(theta0, make_opt, lr, steps, loss=LOSS):
    """Parameters after each of ``steps`` steps of ``make_opt([p], lr)`` fed ``loss.gradient``."""
    p = torch.tensor(np.asarray(theta0), dtype=torch.float64, requires_grad=True)
    opt = make_opt([p], lr)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        p.grad = torch.from_numpy(loss.gradient(p.detach().numpy().copy()))
        opt.step()
        out.append(p.detach().numpy().copy())
    return out
