"""A zoo of optimizers written the way third-party packages write them, one pattern each.

Each class is small on purpose: it shows one pattern a real optimizer uses (where it keeps
its state, how it steps, what precision it computes in, what randomness it draws) and
whether that pattern keeps the neuron symmetry (P1). ``ZOO`` lists every entry with the
verdict :func:`invariance.torch.certify` must reach on its *default* problem.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

import torch


class _Base(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-2, **defaults):
        super().__init__(params, {"lr": lr, **defaults})

    def _params(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    yield group, p


# -- 1. state the certifier must permute -------------------------------------------------------
class FactoredMoments(_Base):
    """Adafactor-style: an ``(h, d)`` weight keeps a row factor ``(h,)`` and a column factor ``(d,)``."""

    @torch.no_grad()
    def step(self, closure=None):
        for group, p in self._params():
            g, st = p.grad, self.state[p]
            if p.ndim == 2:
                if not st:
                    st["row"], st["col"] = g.new_zeros(p.shape[0]), g.new_zeros(p.shape[1])
                st["row"].mul_(0.9).add_((g * g).mean(1), alpha=0.1)
                st["col"].mul_(0.9).add_((g * g).mean(0), alpha=0.1)
                v = torch.outer(st["row"], st["col"]) / st["row"].mean().clamp_min(1e-30)
            else:
                st.setdefault("v", torch.zeros_like(g)).mul_(0.9).add_(g * g, alpha=0.1)
                v = st["v"]
            p.add_(g / (v.sqrt() + 1e-8), alpha=-group["lr"])


class TwoSidedPreconditioner(_Base):
    """Shampoo-style: ``L = sum G G^T`` (``(h, h)`` or ``(1, 1)``) and ``R = sum G^T G``, update ``L^-1/4 G R^-1/4``."""

    @staticmethod
    def _root(m, eps=1e-6):
        w, v = torch.linalg.eigh(m + eps * torch.eye(m.shape[0], dtype=m.dtype))
        return (v * w.clamp_min(eps).pow(-0.25)) @ v.T

    @torch.no_grad()
    def step(self, closure=None):
        for group, p in self._params():
            g = p.grad if p.ndim == 2 else p.grad.reshape(-1, 1)
            st = self.state[p]
            if not st:
                st["L"] = g.new_zeros(g.shape[0], g.shape[0])
                st["R"] = g.new_zeros(g.shape[1], g.shape[1])
            st["L"].add_(g @ g.T)
            st["R"].add_(g.T @ g)
            p.add_((self._root(st["L"]) @ g @ self._root(st["R"])).reshape(p.shape), alpha=-group["lr"])


class RightPreconditioner(_Base):
    """Keeps only the input-side statistic ``R = sum G^T G``: ``(d, d)`` for an ``(h, d)`` weight (kept as is)."""

    @torch.no_grad()
    def step(self, closure=None):
        for group, p in self._params():
            g = p.grad if p.ndim == 2 else p.grad.reshape(1, -1)
            st = self.state[p]
            st.setdefault("R", g.new_zeros(g.shape[1], g.shape[1])).add_(g.T @ g)
            eye = torch.eye(g.shape[1], dtype=g.dtype)
            p.add_(torch.linalg.solve(st["R"] + 1e-3 * eye, g.T).T.reshape(p.shape), alpha=-group["lr"])


class FlatMomentum(_Base):
    """Momentum kept flattened, ``(numel,)`` per parameter."""

    @torch.no_grad()
    def step(self, closure=None):
        for group, p in self._params():
            buf = self.state[p].setdefault("flat_buf", torch.zeros(p.numel(), dtype=p.dtype))
            buf.mul_(0.9).add_(p.grad.reshape(-1))
            p.add_(buf.reshape(p.shape), alpha=-group["lr"])


class NestedDictState(_Base):
    """Adam with its moments in a nested dict, ``state["moments"] = {"first": m, "second": {"v": v}}``."""

    @torch.no_grad()
    def step(self, closure=None):
        for group, p in self._params():
            fresh = {"first": torch.zeros_like(p), "second": {"v": torch.zeros_like(p)}}
            st = self.state[p].setdefault("moments", fresh)
            st["first"].mul_(0.9).add_(p.grad, alpha=0.1)
            st["second"]["v"].mul_(0.99).add_(p.grad * p.grad, alpha=0.01)
            p.add_(st["first"] / (st["second"]["v"].sqrt() + 1e-8), alpha=-group["lr"])


class DequeHistory(_Base):
    """Averages the last three gradients, kept in a ``deque(maxlen=3)``."""

    @torch.no_grad()
    def step(self, closure=None):
        for group, p in self._params():
            hist = self.state[p].setdefault("history", collections.deque(maxlen=3))
            hist.append(p.grad.clone())
            p.add_(sum(hist) / len(hist), alpha=-group["lr"])


@dataclass
class Projector:
    """GaLore-style projector object kept in the state: the top-``rank`` singular vectors of the first gradient."""

    basis: torch.Tensor
    side: str
    meta: dict[str, Any] = field(default_factory=dict)

    def down(self, g):
        return self.basis.T @ g if self.side == "left" else g @ self.basis

    def up(self, u):
        return self.basis @ u if self.side == "left" else u @ self.basis.T


class ProjectedAdam(_Base):
    """Adam in a low-rank subspace (GaLore-style); the projector is an object in the state."""

    @torch.no_grad()
    def step(self, closure=None, rank=4):
        for group, p in self._params():
            g, st = p.grad, self.state[p]
            if p.ndim != 2 or min(p.shape) <= rank:  # biases and the single-row output weight: momentum
                st.setdefault("m", torch.zeros_like(g)).mul_(0.9).add_(g, alpha=0.1)
                p.add_(st["m"], alpha=-group["lr"])
                continue
            if "projector" not in st:
                u, _, _ = torch.linalg.svd(g, full_matrices=False)
                st["projector"] = Projector(u[:, :rank].clone(), "left", {"rank": rank})
            low = st["projector"].down(g)
            st.setdefault("m", torch.zeros_like(low)).mul_(0.9).add_(low, alpha=0.1)
            st.setdefault("v", torch.zeros_like(low)).mul_(0.99).add_(low * low, alpha=0.01)
            p.add_(st["projector"].up(st["m"] / (st["v"].sqrt() + 1e-8)), alpha=-group["lr"])


class Float32Moments(_Base):
    """Adam that keeps its moments in float32 whatever the parameters' dtype (memory savings)."""

    @torch.no_grad()
    def step(self, closure=None):
        for group, p in self._params():
            st = self.state[p]
            if not st:
                st["m"], st["v"] = (torch.zeros(p.shape, dtype=torch.float32) for _ in range(2))
            g = p.grad.float()
            st["m"].mul_(0.9).add_(g, alpha=0.1)
            st["v"].mul_(0.999).add_(g * g, alpha=0.001)
            p.add_((st["m"] / (st["v"].sqrt() + 1e-8)).to(p.dtype), alpha=-group["lr"])


def _newton_schulz_bf16(g, steps=5):
    a, b, c = 3.4445, -4.7750, 2.0315
    x = g.bfloat16()
    transposed = x.shape[0] > x.shape[1]
    if transposed:
        x = x.T
    x = x / (x.norm() + 1e-7)
    for _ in range(steps):
        A = x @ x.T
        x = a * x + (b * A + c * A @ A) @ x
    return (x.T if transposed else x).to(g.dtype)


class Bf16Muon(_Base):
    """Muon as another package writes it: momentum, then a Newton-Schulz orthogonalisation in bfloat16."""

    @torch.no_grad()
    def step(self, closure=None):
        for group, p in self._params():
            buf = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p))
            buf.mul_(0.95).add_(p.grad)
            if p.ndim == 2:
                update = _newton_schulz_bf16(buf) * max(1.0, p.shape[0] / p.shape[1]) ** 0.5
            else:
                update = buf / (buf.norm() + 1e-7)
            p.add_(update, alpha=-group["lr"])


# -- 2. state outside optimizer.state ----------------------------------------------------------
class Lookahead(torch.optim.Optimizer):
    """Lookahead: wraps an inner optimizer (state in ``self.optimizer.state``); slow weights in ``self.state``."""

    def __init__(self, params, lr=1e-2, k=2, alpha=0.5):
        self.optimizer = torch.optim.Adam(params, lr=lr)
        self.param_groups = self.optimizer.param_groups
        self.defaults = {"lr": lr, "k": k, "alpha": alpha}
        self.state = collections.defaultdict(dict)
        self._optimizer_step_pre_hooks = collections.OrderedDict()
        self._optimizer_step_post_hooks = collections.OrderedDict()
        self.k, self.alpha, self.counter = k, alpha, 0

    @torch.no_grad()
    def step(self, closure=None):
        self.optimizer.step()
        self.counter += 1
        for group in self.param_groups:
            for p in group["params"]:
                slow = self.state[p].setdefault("slow", p.detach().clone())
                if self.counter % self.k == 0:
                    slow.add_(p - slow, alpha=self.alpha)
                    p.copy_(slow)


class CachedMask(_Base):
    """Updates only the entries of largest magnitude; their flat positions are cached on the optimizer at step 1."""

    def __init__(self, params, lr=1e-2, keep=0.5):
        super().__init__(params, lr)
        self.mask_index = {}
        self.keep = keep

    @torch.no_grad()
    def step(self, closure=None):
        for group, p in self._params():
            if p not in self.mask_index:
                k = max(1, int(self.keep * p.numel()))
                self.mask_index[p] = p.abs().reshape(-1).topk(k).indices
            update = torch.zeros(p.numel(), dtype=p.dtype)
            idx = self.mask_index[p]
            update[idx] = p.grad.reshape(-1)[idx]
            p.add_(update.reshape(p.shape), alpha=-group["lr"])


def permute_cached_mask(opt, perm):
    """The registered permuter of :class:`CachedMask`: the cached positions move with their entries."""
    opt.mask_index = {p: perm.positions(p)[idx] for p, idx in opt.mask_index.items()}


class IndexScaledSGD(_Base):
    """SGD scaled by a fixed per-position tensor kept on the optimizer: breaks P1 (and the tensor is named)."""

    def __init__(self, params, lr=1e-2):
        super().__init__(params, lr)
        self.position_scale = [1 + torch.linspace(0, 1, p.numel(), dtype=torch.float64).reshape(p.shape)
                               for g in self.param_groups for p in g["params"]]

    @torch.no_grad()
    def step(self, closure=None):
        scales = iter(self.position_scale)
        for group in self.param_groups:
            for p in group["params"]:
                s = next(scales)
                if p.grad is not None:
                    p.add_(p.grad * s.to(p.dtype), alpha=-group["lr"])


# -- 3. other ways to step ----------------------------------------------------------------------
class HessianDiagonal(_Base):
    """AdaHessian-style curvature ``|g * (H g)|``: needs ``backward(create_graph=True)``."""

    @torch.no_grad()
    def step(self, closure=None):
        params = [p for _, p in self._params()]
        grads = [p.grad for p in params]
        with torch.enable_grad():
            hv = torch.autograd.grad(grads, params, grad_outputs=[g.detach() for g in grads])
        for (group, p), h in zip(self._params(), hv):
            d = self.state[p].setdefault("d", torch.zeros_like(p))
            d.mul_(0.9).add_((p.grad * h).abs().detach(), alpha=0.1)
            p.add_(p.grad.detach() / (d.sqrt() + 1e-4), alpha=-group["lr"])


class LineSearchSGD(_Base):
    """Backtracking line search: ``step(closure)`` under ``no_grad`` calls the closure several times."""

    @torch.no_grad()
    def step(self, closure):
        loss = float(closure())
        params = [p for _, p in self._params()]
        grads = [p.grad.clone() for p in params]
        lr = self.param_groups[0]["lr"] * 4
        for _ in range(5):
            for p, g in zip(params, grads):
                p.add_(g, alpha=-lr)
            if float(closure()) < loss:
                return loss
            for p, g in zip(params, grads):
                p.add_(g, alpha=lr)
            lr /= 2
        return loss


class FusedBackward(_Base):
    """Updates inside ``backward`` (post-accumulate-grad hooks); ``step()`` does nothing."""

    def __init__(self, params, lr=1e-2):
        super().__init__(params, lr)
        for group in self.param_groups:
            for p in group["params"]:
                p.register_post_accumulate_grad_hook(lambda q, lr=group["lr"]: self._update(q, lr))

    @torch.no_grad()
    def _update(self, p, lr):
        m = self.state[p].setdefault("m", torch.zeros_like(p))
        m.mul_(0.9).add_(p.grad)
        p.add_(m, alpha=-lr)
        p.grad = None

    def step(self, closure=None):
        return None


class NeedsPrepare(_Base):
    """Refuses to step unless ``prepare()`` ran first (some optimizers need a call before ``step``)."""

    def prepare(self):
        self._ready = True

    @torch.no_grad()
    def step(self, closure=None):
        if not getattr(self, "_ready", False):
            raise RuntimeError("call prepare() before step()")
        self._ready = False
        for group, p in self._params():
            p.add_(p.grad, alpha=-group["lr"])


def prepare_then_step(opt, model, loss_fn):
    """The ``step_fn`` of :class:`NeedsPrepare`."""
    opt.zero_grad()
    loss_fn().backward()
    opt.prepare()
    opt.step()


class SharpnessAware(_Base):
    """SAM: ascend to ``theta + rho g / |g|``, take the gradient there, step from ``theta`` with it."""

    def __init__(self, params, lr=1e-2, rho=0.05):
        super().__init__(params, lr, rho=rho)
        self.base_optimizer = torch.optim.SGD(self.param_groups, lr=lr, momentum=0.9)
        self.param_groups = self.base_optimizer.param_groups

    @torch.no_grad()
    def first_step(self):
        norm = torch.sqrt(sum((p.grad**2).sum() for _, p in self._params()))
        for group, p in self._params():
            e = p.grad * (group["rho"] / (norm + 1e-12))
            self.state[p]["e"] = e
            p.add_(e)

    @torch.no_grad()
    def second_step(self):
        for _, p in self._params():
            p.sub_(self.state[p]["e"])
        self.base_optimizer.step()


def sam_step(opt, model, loss_fn):
    """The ``step_fn`` of :class:`SharpnessAware`: two backward passes."""
    opt.zero_grad()
    loss_fn().backward()
    opt.first_step()
    opt.zero_grad()
    loss_fn().backward()
    opt.second_step()


# -- 5. block logic of the flattened tensor -------------------------------------------------------
def _quantize(x, block):
    flat = x.reshape(-1)
    pad = (-flat.numel()) % block
    blocks = torch.cat([flat, flat.new_zeros(pad)]).reshape(-1, block)
    absmax = blocks.abs().amax(1, keepdim=True).clamp_min(1e-30)
    q = torch.round(blocks / absmax * 127).to(torch.int8)
    return {"q": q, "absmax": absmax.squeeze(1), "numel": flat.numel()}


def _dequantize(s, shape, dtype):
    return (s["q"].to(dtype) * s["absmax"].to(dtype)[:, None] / 127).reshape(-1)[: s["numel"]].reshape(shape)


class BlockQuantAdam(_Base):
    """8-bit Adam: the first moment quantized in blocks of ``block`` entries of the flattened tensor."""

    def __init__(self, params, lr=1e-2, block=256, min_size=0):
        super().__init__(params, lr, block=block, min_size=min_size)

    @torch.no_grad()
    def step(self, closure=None):
        for group, p in self._params():
            st, g = self.state[p], p.grad
            quant = p.numel() >= group["min_size"]
            if not st:
                st["v"] = torch.zeros_like(p)
                st["m"] = _quantize(torch.zeros_like(p), group["block"]) if quant else torch.zeros_like(p)
            m = _dequantize(st["m"], p.shape, p.dtype) if quant else st["m"]
            m = 0.9 * m + 0.1 * g
            st["m"] = _quantize(m, group["block"]) if quant else m
            st["v"].mul_(0.999).add_(g * g, alpha=0.001)
            p.add_(m / (st["v"].sqrt() + 1e-8), alpha=-group["lr"])


class ScaledTensor(torch.Tensor):
    """A per-tensor-scaled quantized tensor (a tensor subclass): equivariant, but indexing is not supported."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.Tensor.index_select, torch.index_select, torch.Tensor.__getitem__):
            raise NotImplementedError(f"{cls.__name__} does not support {func.__name__}")
        return super().__torch_function__(func, types, args, kwargs or {})


class SubclassStateAdam(_Base):
    """Adam whose second moment is a :class:`ScaledTensor` (state that cannot be indexed)."""

    @torch.no_grad()
    def step(self, closure=None):
        for group, p in self._params():
            st = self.state[p]
            if not st:
                st["m"], st["v"] = torch.zeros_like(p), torch.zeros_like(p).as_subclass(ScaledTensor)
            st["m"].mul_(0.9).add_(p.grad, alpha=0.1)
            st["v"] = (st["v"] * 0.999 + 0.001 * p.grad * p.grad).as_subclass(ScaledTensor)
            p.add_(st["m"] / (st["v"].as_subclass(torch.Tensor).sqrt() + 1e-8), alpha=-group["lr"])


# -- 6. randomness at round-off level -----------------------------------------------------------------
class RandomOrderNormalized(_Base):
    """Normalised SGD whose norm is summed in a random order drawn once: seeds differ by round-off only."""

    def __init__(self, params, lr=1e-2, index_lr=False):
        super().__init__(params, lr, index_lr=index_lr)
        self.order = {}

    @torch.no_grad()
    def step(self, closure=None):
        for group, p in self._params():
            if p not in self.order:
                self.order[p] = torch.randperm(p.numel())
            g = p.grad.reshape(-1)[self.order[p]]
            norm = torch.cumsum(g * g, 0)[-1].sqrt()
            update = p.grad / (norm + 1e-12)
            if group["index_lr"]:
                update = update * (1 + torch.arange(p.numel(), dtype=p.dtype).reshape(p.shape) / p.numel())
            p.add_(update, alpha=-group["lr"])


# -- 7. genuinely random steps -------------------------------------------------------------------------
class NoisySGD(_Base):
    """SGD plus noise: iid per entry (``pattern=False``, equivariant in law) or with a per-position std (not)."""

    def __init__(self, params, lr=1e-2, sigma=1e-3, pattern=False):
        super().__init__(params, lr, sigma=sigma, pattern=pattern)

    @torch.no_grad()
    def step(self, closure=None):
        for group, p in self._params():
            std = group["sigma"]
            if group["pattern"]:
                std = std * (0.25 + 2 * torch.linspace(0, 1, p.numel(), dtype=p.dtype).reshape(p.shape))
            p.add_(p.grad, alpha=-group["lr"]).add_(torch.randn_like(p) * std)


class RandomMaskSGD(_Base):
    """SGD on a random half of the entries at each step (a random mask, iid per entry)."""

    @torch.no_grad()
    def step(self, closure=None):
        for group, p in self._params():
            mask = (torch.rand_like(p) < 0.5).to(p.dtype)
            p.add_(p.grad * mask, alpha=-group["lr"])


# -- the zoo -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    """One optimizer of the zoo: its factory, its options for ``certify``, and the verdict it must get."""

    name: str
    factory: Any
    kwargs: dict[str, Any]
    verdict: str
    options: dict[str, Any] = field(default_factory=dict)
    family: str = ""
    mentions: tuple[str, ...] = ()


ZOO: list[Entry] = [
    Entry("factored moments", FactoredMoments, {"lr": 1e-2}, "equivariant", family="1 state"),
    Entry("two-sided preconditioner", TwoSidedPreconditioner, {"lr": 1e-2}, "equivariant", family="1 state"),
    Entry("right-side preconditioner", RightPreconditioner, {"lr": 1e-2}, "equivariant", family="1 state"),
    Entry("flattened momentum", FlatMomentum, {"lr": 1e-2}, "equivariant", family="1 state"),
    Entry("nested dict state", NestedDictState, {"lr": 1e-2}, "equivariant", family="1 state"),
    Entry("deque history", DequeHistory, {"lr": 1e-2}, "equivariant", family="1 state"),
    Entry("projector object", ProjectedAdam, {"lr": 1e-2}, "equivariant", family="1 state"),
    Entry("tensor-subclass state", SubclassStateAdam, {"lr": 1e-2}, "inconclusive", family="1 state",
          mentions=("'v'", "ScaledTensor")),
    Entry("lookahead wrapper", Lookahead, {"lr": 1e-2}, "equivariant", family="2 wrapper"),
    Entry("cached mask positions", CachedMask, {"lr": 1e-2}, "inconclusive", family="2 attributes",
          mentions=("CachedMask.mask_index", "register_state_permuter")),
    Entry("per-position tensor attribute", IndexScaledSGD, {"lr": 1e-2}, "not equivariant", family="2 attributes",
          mentions=("IndexScaledSGD.position_scale",)),
    Entry("Hessian diagonal (create_graph)", HessianDiagonal, {"lr": 1e-2}, "equivariant",
          {"create_graph": True}, family="3 stepping"),
    Entry("line search closure under no_grad", LineSearchSGD, {"lr": 1e-2}, "equivariant", family="3 stepping"),
    Entry("fused backward", FusedBackward, {"lr": 1e-2}, "equivariant", family="3 stepping"),
    Entry("needs prepare() (step_fn)", NeedsPrepare, {"lr": 1e-2}, "equivariant", {"step_fn": prepare_then_step},
          family="3 stepping"),
    Entry("SAM two-pass (step_fn)", SharpnessAware, {"lr": 1e-2}, "equivariant", {"step_fn": sam_step},
          family="3 stepping"),
    Entry("bfloat16 Newton-Schulz", Bf16Muon, {"lr": 2e-2}, "equivariant", {"param_groups": "single"},
          family="4 precision"),
    Entry("float32 moments", Float32Moments, {"lr": 1e-2}, "equivariant", family="4 precision"),
    Entry("block quantization, 32", BlockQuantAdam, {"lr": 1e-2, "block": 32}, "not equivariant", family="5 blocks"),
    Entry("block quantization, 256", BlockQuantAdam, {"lr": 1e-2, "block": 256}, "not equivariant", family="5 blocks"),
    Entry("block quantization, 2048", BlockQuantAdam, {"lr": 1e-2, "block": 2048}, "not equivariant",
          family="5 blocks"),
    Entry("block quantization above 4096 entries", BlockQuantAdam, {"lr": 1e-2, "block": 2048, "min_size": 4096},
          "not equivariant", family="5 blocks"),
    Entry("random summation order", RandomOrderNormalized, {"lr": 1e-2}, "equivariant", family="6 round-off"),
    Entry("random summation order + per-index rate", RandomOrderNormalized, {"lr": 1e-2, "index_lr": True},
          "not equivariant", family="6 round-off"),
    Entry("iid noise", NoisySGD, {"lr": 1e-2}, "equivariant in distribution", family="7 law"),
    Entry("random mask", RandomMaskSGD, {"lr": 1e-2}, "equivariant in distribution", family="7 law"),
    Entry("noise with a per-position std", NoisySGD, {"lr": 1e-2, "pattern": True}, "not equivariant",
          family="7 law"),
]


def entry(name: str) -> Entry:
    """The zoo entry called ``name``."""
    return next(e for e in ZOO if e.name == name)


assert len(ZOO) >= 25 and len({e.name for e in ZOO}) == len(ZOO)
