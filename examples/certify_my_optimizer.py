"""Certify that your own torch optimizer is permutation-equivariant (P1), or see where it breaks.

P1 (Section 3) asks step(P X) = P step(X): permuting the hidden units of a network, together
with the optimizer state they carry (Section 5.2), and then stepping, must give the same
result as stepping and then permuting. The paper's theorems (Lemmas 1-3, Theorems 1-2)
assume it. `certify` checks it on a real model and real optimizer, several steps, several
parameter groups, float64 and float32; a failure comes with the smallest permutation that
shows it (a transposition) and the parameter entries that differ.

Run: python examples/certify_my_optimizer.py
"""

import torch

from invariance.torch import certify


class SignMomentum(torch.optim.Optimizer):
    """A custom optimizer: momentum, then the sign of the buffer (Lion-like). Equivariant."""

    def __init__(self, params, lr=0.01, beta=0.9):
        super().__init__(params, {"lr": lr, "beta": beta})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                buf = self.state[p].setdefault("momentum", torch.zeros_like(p))
                buf.mul_(group["beta"]).add_(p.grad, alpha=1 - group["beta"])
                p.add_(torch.sign(buf), alpha=-group["lr"])


class LayerwiseClipped(SignMomentum):
    """The same, but it clips the update of the first 4 entries of every flattened parameter:
    a rule tied to positions, not to neurons. Not equivariant."""

    @torch.no_grad()
    def step(self, closure=None):
        before = [p.detach().clone() for g in self.param_groups for p in g["params"]]
        super().step(closure)
        for p, old in zip((p for g in self.param_groups for p in g["params"]), before):
            flat, flat_old = p.view(-1), old.view(-1)
            flat[:4] = flat_old[:4] + 0.5 * (flat[:4] - flat_old[:4])


if __name__ == "__main__":
    good = certify(SignMomentum, kwargs={"lr": 0.01}, dtypes=(torch.float64,))
    print(good.summary())
    print()
    bad = certify(LayerwiseClipped, kwargs={"lr": 0.01}, dtypes=(torch.float64,))
    print(bad.summary())
    ce = bad.counterexample
    print()
    print(f"{bad.optimizer}: {bad.verdict}; smallest counterexample: transposition {ce['cycles']} of layer "
          f"{ce['layer']} ({ce['moved_indices']} moved indices), found from {ce['found']}")
