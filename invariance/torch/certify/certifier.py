""":func:`certify`: the runs, the comparisons and the verdict (the parts live in the sibling modules)."""

from __future__ import annotations

import copy
import platform
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence, Union

import numpy as np
import torch
from torch import nn

from ...arguments import check_int, check_seed
from ...permutations import FinitaryPermutation, shrink_permutation
from ...tolerances import Tolerance
from ..specs import NeuronSpec, neuron_spec
from ..state import StateNotPermutableError, unpermuted_attributes
from ..threads import torch_threads
from .certificate import OptimizerCertificate, OptimizerNotEquivariant, _num, jsonable
from .comparison import (
    DOMINANT_FRACTION,
    PRECISION_FACTOR,
    ROUNDOFF_FACTOR,
    Calibration,
    Comparison,
    calibrate,
    compare,
    state_deviation,
    state_pairs,
)
from .comparison import compare_state as _compare_state
from .problem import (
    DEFAULT_INPUT_DIM,
    DtypeProbe,
    OptimizerFactory,
    Problem,
    Snapshot,
    StepFn,
    check_data,
    check_dtypes,
    check_optimizer,
    check_tolerance,
    default_problem,
    group_builder,
    is_closure_based,
)
from .stochastic import LEVEL, SEEDS, two_sample_test

__all__ = ["certify", "assert_equivariant_optimizer"]

PermutationsArg = Union[int, FinitaryPermutation, Iterable[FinitaryPermutation]]


def _qualname(obj: Any) -> str:
    mod = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
    public = mod
    if mod.startswith("torch.optim.") and hasattr(torch.optim, name):
        public = "torch.optim"
    return f"{public}.{name}" if public else name


def _dt(d: torch.dtype) -> str:
    return str(d).replace("torch.", "")


def _layer_permutations(permutations: PermutationsArg, width: int, rng: np.random.Generator,
                        layer: str) -> list[FinitaryPermutation]:
    if width < 2:
        return []  # one neuron: FSym of the layer is trivial
    if isinstance(permutations, (int, np.integer)) and not isinstance(permutations, bool):
        out: list[FinitaryPermutation] = []
        i, j = rng.choice(width, size=2, replace=False).tolist()
        out.append(FinitaryPermutation.transposition(int(i), int(j)))
        tries = 0
        while len(out) < int(permutations) and tries < 100 * int(permutations):
            tries += 1
            P = FinitaryPermutation.random(width, seed=rng)
            if not P.is_identity() and P not in out:
                out.append(P)
        return out
    perms = [permutations] if isinstance(permutations, FinitaryPermutation) else list(permutations)  # type: ignore
    for k, P in enumerate(perms):
        if P.support and max(P.support) >= width:
            raise ValueError(f"permutations[{k}] moves index {max(P.support)}, outside layer {layer!r} of width "
                             f"{width}")
    return perms


def _check_permutations(permutations: object) -> PermutationsArg:
    if isinstance(permutations, bool):
        raise TypeError("permutations must be a count, a FinitaryPermutation or an iterable of them, got a bool")
    if isinstance(permutations, (int, np.integer)):
        return check_int(permutations, "permutations", 1)
    if isinstance(permutations, FinitaryPermutation):
        perms = [permutations]
    elif isinstance(permutations, Iterable) and not isinstance(permutations, (str, bytes)):
        perms = list(permutations)
    else:
        raise TypeError(f"permutations must be a count, a FinitaryPermutation or an iterable of them, "
                        f"got {type(permutations).__name__}")
    if not perms:
        raise ValueError("permutations must not be empty")
    for k, P in enumerate(perms):
        if not isinstance(P, FinitaryPermutation):
            raise TypeError(f"permutations[{k}] must be a FinitaryPermutation, got {type(P).__name__}")
        if P.is_identity():
            raise ValueError(f"permutations[{k}] is the identity, which checks nothing")
    return perms


def _describe_groups(model: nn.Module, opt: torch.optim.Optimizer) -> list[dict[str, Any]]:
    names = {id(p): n for n, p in model.named_parameters()}
    return [{"params": [names.get(id(p), "?") for p in g["params"]], "lr": jsonable(g.get("lr"))}
            for g in opt.param_groups]


def _versions() -> dict[str, str]:
    from ... import __version__

    return {"torch": torch.__version__, "invariance": __version__, "python": platform.python_version()}


class _Failure(Exception):
    """An optimizer or model failure, already phrased as the certificate's one-sentence reason."""


@dataclass
class _DtypeResult:
    verdict: str = "equivariant"
    reason: str | None = None
    comparisons: list[tuple[int | str, FinitaryPermutation, str, Comparison]] = field(default_factory=list)
    counterexample: dict[str, Any] | None = None
    distribution: dict[str, Any] | None = None


def _merge(acc: dict[str, dict[str, float]], rows: Mapping[str, dict[str, float]]) -> None:
    for name, rec in rows.items():
        if name not in acc or rec["ratio"] >= acc[name]["ratio"]:
            acc[name] = dict(rec)


@torch_threads(1)  # small problems: threads only add overhead and run-to-run variation
def certify(
    optimizer: OptimizerFactory | type[torch.optim.Optimizer],
    model: nn.Module | None = None,
    loss: Callable[..., torch.Tensor] | None = None,
    data: Any = None,
    *,
    kwargs: Mapping[str, Any] | None = None,
    steps: int = 5,
    warmup: int = 2,
    permutations: PermutationsArg = 3,
    spec: NeuronSpec | None = None,
    layers: Sequence[int | str] | None = None,
    param_groups: str | Callable[[nn.Module], Any] = "auto",
    dtypes: Sequence[torch.dtype] | torch.dtype = (torch.float64, torch.float32),
    seed: int | None = 0,
    tolerance: Tolerance | Mapping[torch.dtype, Tolerance] | None = None,
    closure_based: bool | None = None,
    batch_size: int | None = None,
    compare_state: bool = True,
    create_graph: bool = False,
    step_fn: StepFn | None = None,
    seeds: int = SEEDS,
    level: float = LEVEL,
    shrink: bool = True,
) -> OptimizerCertificate:
    """Certify P1 for a torch optimizer: ``step(P theta, P s) = P step(theta, s)`` (Sections 3, 5.2).

    For each dtype, layer of the :class:`NeuronSpec` and permutation ``P`` (Proposition 3
    proves this for Adam, eq. 16):

    * **fresh**: the model permuted *before* the optimizer is built, ``warmup + steps``
      steps, compared with ``P A`` after every step: ``U_i(P X) = U_{P(i)}(X)`` along the
      whole trajectory, with no state to permute;
    * **state**: run A's model *and* optimizer state permuted after ``warmup`` steps
      (:mod:`invariance.torch.state`), ``steps`` more steps, and the state compared at the
      end: P1 at a state that is not empty.

    Every comparison is ``max |(P A)_k - B_k| <= atol + rtol * scale + 10 c_k``, with ``c_k``
    the round-off this optimizer showed in its controls (:mod:`.comparison`). Run A is
    repeated with another global torch seed; a difference beyond the bound makes the step
    random, and the verdict is then about its law (:mod:`.stochastic`).

    Verdicts: ``"equivariant"``; ``"equivariant in distribution"``; ``"not equivariant"``
    (a fresh comparison fails, or the law differs; with a shrunk counterexample);
    ``"inconclusive"`` (state that cannot be permuted or whose permutation does not
    reproduce the permuted run while the fresh runs agree, or round-off dominating every
    dtype); ``"error"`` (the optimizer raised; the reason names it, the step and the cause).

    Args:
        optimizer: a ``torch.optim.Optimizer`` class or a factory ``f(params, **kwargs)``.
        model: an ``nn.Module`` (copied, never modified); default: :func:`default_problem`'s
            ``17 -> 256 -> 1`` sigmoid MLP with biases (without, when the optimizer refuses 1-D
            parameters).
        loss: ``loss(model(x), y) -> scalar``; default ``torch.nn.functional.mse_loss``.
        data: ``(x, y)`` tensors or arrays, or a :class:`~invariance.data.Dataset`; default:
            64 teacher-student points (App. C.1).
        kwargs: keyword arguments of the optimizer.
        steps: compared steps after the permutation point (>= 1); warmup: steps before it (>= 0).
        permutations: a count ``n`` (per layer: a random transposition and ``n - 1`` random
            permutations, seeded), or explicit :class:`FinitaryPermutation` objects.
        spec: the :class:`NeuronSpec`; default ``neuron_spec(model)``.
        layers: indices or names of the spec's layers to permute; default all.
        param_groups: ``"auto"`` (one group per module, learning rates ``lr, lr/2, ...``, stated
            in the certificate; one group if the optimizer refuses groups), ``"split"`` (no
            fallback), ``"single"``, or a callable ``model -> params or groups``.
        dtypes: the dtypes to run in.
        seed: seed of the model, data, batches, permutations and torch's global RNG.
        tolerance: a :class:`~invariance.tolerances.Tolerance` or ``{dtype: Tolerance}``
            replacing the dtype part of the bound (float64: 1e-12 + 1e-9 |theta|, float32:
            1e-6 + 1e-5 |theta|); the calibrated part is always added.
        closure_based: whether ``step`` needs a closure; default: from its signature.
        batch_size: mini-batches of this size, the same seeded sequence for every run.
        compare_state: also compare the permuted state of A with the state of B.
        create_graph: ``backward(create_graph=True)`` (optimizers that use Hessian-vector products).
        step_fn: ``step_fn(optimizer, model, loss_fn)`` takes a step instead (``loss_fn()`` returns
            the loss of the step's batch, with grad enabled): optimizers that need a call before
            ``step``, two-pass steps (SAM), updates inside ``backward``.
        seeds: runs per side of the test in distribution (>= 8); level: its level, in (0, 0.5).
        shrink: shrink a failing permutation to a smallest counterexample.

    Returns:
        An :class:`OptimizerCertificate`.

    Raises:
        TypeError, ValueError: invalid arguments (each names the argument). What the
            optimizer or the model raises is the verdict ``"error"``, never an exception.

    Example:
        >>> import torch
        >>> cert = certify(torch.optim.SGD, kwargs={"lr": 0.1, "momentum": 0.9}, dtypes=(torch.float64,), steps=2)
        >>> cert.verdict, cert.counterexample is None
        ('equivariant', True)
    """
    started = time.perf_counter()
    factory = check_optimizer(optimizer)
    if kwargs is None:
        kw: dict[str, Any] = {}
    elif isinstance(kwargs, Mapping):
        kw = dict(kwargs)
        if not all(isinstance(k, str) for k in kw):
            raise TypeError("kwargs must have string keys")
    else:
        raise TypeError(f"kwargs must be a mapping of keyword arguments, got {type(kwargs).__name__}")
    steps = check_int(steps, "steps", 1)
    warmup = check_int(warmup, "warmup", 0)
    seed = check_seed(seed)
    seeds = check_int(seeds, "seeds", 8)
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 0.5:
        raise ValueError(f"level must be a number in (0, 0.5), got {level!r}")
    dts = check_dtypes(dtypes)
    tols = check_tolerance(tolerance, dts)
    perms_arg = _check_permutations(permutations)
    if model is not None and not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if loss is not None and not callable(loss):
        raise TypeError(f"loss must be callable loss(output, target), got {type(loss).__name__}")
    if spec is not None and not isinstance(spec, NeuronSpec):
        raise TypeError(f"spec must be a NeuronSpec, got {type(spec).__name__}")
    if closure_based is not None and not isinstance(closure_based, bool):
        raise TypeError(f"closure_based must be None or a bool, got {closure_based!r}")
    for flag_name, flag in (("create_graph", create_graph), ("compare_state", compare_state), ("shrink", shrink)):
        if not isinstance(flag, bool):
            raise TypeError(f"{flag_name} must be a bool, got {flag!r}")
    if step_fn is not None and not callable(step_fn):
        raise TypeError(f"step_fn must be callable step_fn(optimizer, model, loss_fn), got {type(step_fn).__name__}")
    if not isinstance(param_groups, str) and not callable(param_groups):
        raise TypeError(f"param_groups must be 'auto', 'split', 'single' or a callable, got {param_groups!r}")
    if isinstance(param_groups, str) and param_groups not in ("auto", "split", "single"):
        raise ValueError(f"param_groups must be 'auto', 'split', 'single' or a callable, got {param_groups!r}")
    loss_fn = loss if loss is not None else nn.functional.mse_loss
    opt_name = _qualname(optimizer)
    notes: list[str] = []

    if data is None:
        first = next((m for m in model.modules() if isinstance(m, nn.Linear)), None) if model is not None else None
        _, (x, y) = default_problem(input_dim=first.in_features if first is not None else DEFAULT_INPUT_DIM, seed=seed)
        data_desc = f"teacher-student (App. C.1), {x.shape[0]} points, d = {x.shape[1]}"
    else:
        x, y = check_data(data)
        data_desc = f"{x.shape[0]} points, inputs {tuple(x.shape[1:])}, targets {tuple(y.shape[1:])}"
    n = int(x.shape[0])
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", 1)
        if batch_size > n:
            raise ValueError(f"batch_size must be at most the number of data points {n}, got {batch_size}")
        g = torch.Generator().manual_seed(seed)
        batches: list[torch.Tensor] | None = [torch.randperm(n, generator=g)[:batch_size]
                                              for _ in range(warmup + steps)]
        data_desc += f", mini-batches of {batch_size}"
    else:
        batches = None

    if step_fn is not None:
        step_mode = f"step_fn {_qualname(step_fn)}(optimizer, model, loss_fn)"
    else:
        step_mode = "loss.backward(create_graph=True)" if create_graph else "loss.backward()"
    common: dict[str, Any] = dict(
        optimizer=opt_name, kwargs=jsonable(kw), loss=_qualname(loss_fn), data=data_desc, steps=steps, warmup=warmup,
        seed=seed, dtypes=[_dt(d) for d in dts], tolerance={_dt(d): {"atol": t.atol, "rtol": t.rtol}
                                                             for d, t in tols.items()},
        versions=_versions(), step_mode=step_mode, model="?", layers=[], param_groups=[],
    )

    def finish(verdict: str, reason: str | None, **fill: Any) -> OptimizerCertificate:
        base: dict[str, Any] = dict(per_dtype={}, calibration={}, permutations=[], per_parameter={}, per_step={},
                                    state={}, determinism={}, distribution=None, worst=None, max_deviation=0.0,
                                    max_ratio=0.0, counterexample=None, unpermuted=[])
        base.update(fill)
        return OptimizerCertificate(verdict=verdict, reason=reason, elapsed_s=time.perf_counter() - started,
                                    notes=notes, **common, **base)

    # -- the model, and whether the optimizer accepts it --------------------------------
    if model is None:
        base, _ = default_problem(input_dim=int(x.shape[1]) if x.ndim == 2 else DEFAULT_INPUT_DIM, seed=seed)
        lin = [m for m in base.modules() if isinstance(m, nn.Linear)]
        model_desc = "two-layer sigmoid MLP " + " -> ".join(
            [str(lin[0].in_features)] + [str(m.out_features) for m in lin]) + ", biases"
    else:
        base = copy.deepcopy(model)
        model_desc = type(model).__name__ + f" ({sum(p.numel() for p in model.parameters())} parameters)"
    base = base.double()
    common["model"] = model_desc
    try:
        probe = factory(list(base.parameters()), **kw)
        if not isinstance(probe, torch.optim.Optimizer):
            return finish("error", f"{opt_name} is not an optimizer: the factory returned a {type(probe).__name__}")
    except Exception as err:  # the optimizer refused the model or its kwargs
        if model is not None or data is not None and x.ndim != 2:
            return finish("error", f"constructing {opt_name} failed: {type(err).__name__}: {err}")
        base, _ = default_problem(input_dim=int(x.shape[1]), seed=seed, bias=False)
        base = base.double()
        try:
            probe = factory(list(base.parameters()), **kw)
        except Exception as err2:
            return finish("error", f"constructing {opt_name} failed: {type(err2).__name__}: {err2}")
        common["model"] = model_desc.replace(", biases", ", no biases")
        notes.append(f"the optimizer refused the biased default model ({type(err).__name__}: {err}); "
                     "certified on the bias-free one")
    is_closure = is_closure_based(probe) if closure_based is None else closure_based
    if step_fn is None:
        common["step_mode"] = ("optimizer.step(closure), the closure grad-enabled: " if is_closure
                               else "zero_grad, ") + step_mode + ("" if is_closure else ", optimizer.step()")
    lr = probe.defaults.get("lr") if isinstance(getattr(probe, "defaults", None), dict) else None
    if isinstance(lr, torch.Tensor) and lr.numel() == 1:
        lr = float(lr.item())

    try:
        the_spec = spec if spec is not None else neuron_spec(base)
        the_spec.validate(base)
    except (ValueError, TypeError) as err:
        raise ValueError(f"spec: no neuron spec for the model ({err}); pass spec=NeuronSpec(...)") from None
    layer_keys: list[int | str]
    if layers is None:
        layer_keys = list(range(len(the_spec.layers)))
    else:
        if isinstance(layers, (str, int)):
            layers = [layers]
        layer_keys = list(layers)
        if not layer_keys:
            raise ValueError("layers must not be empty")
        for key in layer_keys:
            the_spec.layer(key)  # raises KeyError / IndexError / TypeError naming it
    common["layers"] = [{"name": the_spec.layer(k).name, "width": the_spec.layer(k).width} for k in layer_keys]

    groups = group_builder(param_groups, lr)
    try:
        probe_groups = factory(groups(base), **kw)
    except Exception as err:
        if param_groups != "auto":
            return finish("error", f"constructing {opt_name} with param_groups={param_groups!r} failed: "
                                   f"{type(err).__name__}: {err}")
        groups = group_builder("single", lr)
        probe_groups = factory(groups(base), **kw)
        notes.append(f"one parameter group: the optimizer refused several ({type(err).__name__}: {err})")
    common["param_groups"] = _describe_groups(base, probe_groups)
    if param_groups in ("auto", "split") and len(probe_groups.param_groups) > 1 and lr is not None:
        rates = ", ".join(f"{_num(g.get('lr'))}" for g in probe_groups.param_groups)
        notes.append(f"one parameter group per module, with learning rates lr, lr/2, ... (here {rates}) so that a "
                     "step mixing the groups shows; param_groups='single' (--single-group) gives one group at lr")

    rng = np.random.default_rng(seed)
    layer_perms = {k: _layer_permutations(perms_arg, the_spec.layer(k).width, rng, the_spec.layer(k).name)
                   for k in layer_keys}
    for k, perms in layer_perms.items():
        if not perms:
            notes.append(f"layer {the_spec.layer(k).name} has a single neuron: nothing to permute")
    if not any(layer_perms.values()):
        raise ValueError("layers: no selected layer has two neurons, so no permutation can be checked")

    results: dict[str, _DtypeResult] = {}
    calibrations: dict[str, dict[str, Any]] = {}
    determinism: dict[str, dict[str, float]] = {}
    tried: list[dict[str, Any]] = []
    per_parameter: dict[str, dict[str, dict[str, float]]] = {}
    per_step: dict[str, list[dict[str, float]]] = {}
    state_dev: dict[str, dict[str, float]] = {}
    unpermuted: list[str] = []

    def run(prob: Problem, what: str, **options: Any) -> tuple[list[Snapshot], nn.Module, torch.optim.Optimizer]:
        try:
            return prob.run(**options)
        except StateNotPermutableError:
            raise
        except Exception as err:
            raise _Failure(f"{opt_name} raised at {prob.phase} of {what} in {_dt(prob.dtype)}: "
                           f"{type(err).__name__}: {err}") from None

    try:
        for dt in dts:
            name = _dt(dt)
            res = results[name] = _DtypeResult()
            tol = tols[dt]
            prob = Problem(base, x, y, loss_fn, factory, kw, groups, is_closure, warmup, steps, batches, seed, dt,
                           create_graph=create_graph, step_fn=step_fn)
            dtype_probe = DtypeProbe()
            traj_a, model_a, opt_a = run(prob, "run A", probe=dtype_probe)
            internal = dtype_probe.coarsest(dt)
            eps_internal = float(torch.finfo(internal).eps) / 2  # the unit round-off u of that dtype
            for k, snap in enumerate(traj_a):
                if not all(bool(torch.isfinite(t).all()) for t in snap.values()):
                    raise _Failure(f"{opt_name} produced NaN or inf at step {k} in {name}; choose a smaller "
                                   "learning rate")
            for a in unpermuted_attributes(opt_a):
                if a not in unpermuted:
                    unpermuted.append(a)
            traj_same, _, _ = run(prob, "run A repeated with the same seed")
            same = compare(traj_a, traj_same, 0, {}, None, tol, Calibration.none(), "repeat")
            if same.ratio > 1.0:  # randomness the global torch seed does not control: no control can calibrate
                determinism[name] = {"max_abs": same.max_abs, "ratio": same.ratio, "same_seed": True}
                notes.append(f"{name}: two runs with the same torch seed differ by {_num(same.max_abs)}: the step "
                             "draws randomness the global seed does not control")
                _distribution(prob, res, the_spec, layer_keys, layer_perms, traj_a, tol, Calibration.none(),
                              seeds, level, seed, opt_name)
                continue
            traj_sh, _, opt_sh = run(prob, "the control with shuffled rows", shuffle=seed + 7919)
            traj_pe, _, opt_pe = run(prob, "the control perturbed by one rounding unit", perturb=True)
            traj_gn, _, opt_gn = run(prob, "the control with perturbed gradients", grad_noise=eps_internal)
            state_ctrl = [state_deviation(va, vb)[0] for o in (opt_sh, opt_pe, opt_gn)
                          for _, va, vb in state_pairs(opt_a, o, None)]
            calib = calibrate(traj_a, {"rows of every batch shuffled": (1, traj_sh, ROUNDOFF_FACTOR),
                                       "parameters perturbed by one rounding unit after the warm-up":
                                       (warmup + 1, traj_pe, ROUNDOFF_FACTOR),
                                       f"gradients perturbed by one unit round-off of {_dt(internal)}":
                                       (1, traj_gn, PRECISION_FACTOR)}, state_ctrl)
            calibrations[name] = {**calib.as_dict(), "computes_in": sorted(_dt(d) for d in dtype_probe.seen)}
            if internal != dt:
                notes.append(f"{name}: the step computes in {_dt(internal)} too (observed), so a control perturbs "
                             f"the gradients by its unit round-off ({eps_internal:.2g}) and the bound grows with it")
            traj_a2, _, _ = run(prob, "run A with another torch seed", rng_seed=seed + 1)
            det = compare(traj_a, traj_a2, 0, {}, None, tol, calib, "determinism")
            determinism[name] = {"max_abs": det.max_abs, "ratio": det.ratio}
            if det.ratio > 1.0:
                _distribution(prob, res, the_spec, layer_keys, layer_perms, traj_a, tol, calib, seeds, level, seed,
                              opt_name)
                continue
            if det.max_abs > 0:
                notes.append(f"{name}: runs with another torch seed differ by {_num(det.max_abs)}, within the "
                             f"calibrated round-off (ratio {_num(det.ratio)}): not randomness")
            unpermutable: StateNotPermutableError | None = None
            for key in layer_keys:
                la = the_spec.layer(key)
                axes = {ax.name: ax.axis for ax in la.axes if ax.name in traj_a[0]}
                for P in layer_perms[key]:
                    idx = np.asarray(P(np.arange(la.width)), dtype=np.int64)
                    traj_f, _, _ = run(prob, "the run permuted before the first step", spec=the_spec, P=P, layer=key)
                    cmp_f = compare(traj_a, traj_f, 0, axes, idx, tol, calib, "fresh")
                    res.comparisons.append((key, P, "fresh", cmp_f))
                    try:
                        traj_b, _, opt_b = run(prob, "the run permuted after the warm-up", spec=the_spec, P=P,
                                               layer=key, mode="state")
                    except StateNotPermutableError as err:
                        unpermutable = unpermutable or err
                        continue
                    cmp_b = compare(traj_a, traj_b, warmup, axes, idx, tol, calib, "state")
                    if compare_state:
                        cmp_b.state = _compare_state(opt_a, opt_b, the_spec.state_permutation(model_a, P, key),
                                                       tol, calib)
                        if cmp_b.state["ratio"] > cmp_b.ratio:
                            cmp_b.ratio = cmp_b.state["ratio"]
                    res.comparisons.append((key, P, "state", cmp_b))
            for key, P, mode, cmp in res.comparisons:
                tried.append({"dtype": name, "layer": the_spec.layer(key).name, "cycles": [list(c) for c in P.cycles()],
                              "mode": mode, "max_abs": cmp.max_abs, "ratio": cmp.ratio, "passed": cmp.passed})
                _merge(per_parameter.setdefault(name, {}), cmp.per_param)
                if mode == "fresh":
                    ps = per_step.setdefault(name, [{"step": s["step"], "max_abs": 0.0, "ratio": 0.0}
                                                    for s in cmp.per_step])
                    for acc, s in zip(ps, cmp.per_step):
                        acc["max_abs"], acc["ratio"] = max(acc["max_abs"], s["max_abs"]), max(acc["ratio"], s["ratio"])
                elif compare_state and cmp.state["compared"]:
                    st = state_dev.setdefault(name, dict(cmp.state))
                    if cmp.state["ratio"] >= st["ratio"]:
                        st.update(cmp.state)
            fresh_fail = [c for c in res.comparisons if c[2] == "fresh" and not c[3].passed]
            state_fail = [c for c in res.comparisons if c[2] == "state" and not c[3].passed]
            dominated = calib.dominated(traj_a)
            if fresh_fail:
                res.verdict = "not equivariant"
                res.reason = (f"{name}: the run from the permuted model differs from the permuted run "
                              f"(deviation / bound up to {_num(max(c[3].ratio for c in fresh_fail))})")
                res.counterexample = _counterexample(prob, the_spec, fresh_fail, traj_a, tol, calib, shrink)
            elif unpermutable is not None:
                res.verdict = "inconclusive"
                res.reason = (f"{name}: {unpermutable}; the runs permuted before the first step agree over "
                              f"{prob.total} steps, but P1 at a warm state needs that state permuted: declare how "
                              "with invariance.torch.register_state_permuter")
            elif state_fail:
                worst = max(c[3].ratio for c in state_fail)
                res.verdict = "inconclusive"
                res.reason = (f"{name}: the runs permuted before the first step agree, but permuting the optimizer "
                              f"state after the warm-up does not reproduce them (deviation / bound up to "
                              f"{_num(worst)}): part of the state is not permuted")
            elif dominated:
                pname, allow, scale = dominated[0]
                res.verdict = "inconclusive"
                res.reason = (f"{name}: round-off dominates: the controls give {pname} an allowance of {_num(allow)}, "
                              f"more than {DOMINANT_FRACTION:g} of its scale {_num(scale)}")
    except _Failure as failure:
        return finish("error", str(failure), calibration=calibrations, determinism=determinism, per_dtype={
            k: {"verdict": r.verdict, "reason": r.reason} for k, r in results.items()}, unpermuted=unpermuted)

    per_dtype = {k: {"verdict": r.verdict, "reason": r.reason} for k, r in results.items()}
    verdicts = [r.verdict for r in results.values()]
    reasons = [r.reason for r in results.values() if r.reason]
    counterexample = next((r.counterexample for r in results.values() if r.counterexample), None)
    distribution = next((r.distribution for r in results.values() if r.distribution), None)
    dominated_only = all(r.verdict != "inconclusive" or "round-off dominates" in (r.reason or "")
                         for r in results.values())
    if "not equivariant" in verdicts:
        verdict = "not equivariant"
        reason = next(r.reason for r in results.values() if r.verdict == "not equivariant")
    elif "inconclusive" in verdicts and not (dominated_only and any(v.startswith("equivariant") for v in verdicts)):
        verdict, reason = "inconclusive", "; ".join(reasons)
    elif "equivariant in distribution" in verdicts:
        verdict, reason = "equivariant in distribution", "; ".join(reasons) or None
    else:
        verdict, reason = "equivariant", None
        for r in results.values():
            if r.verdict == "inconclusive":
                notes.append(f"not counted: {r.reason}")
    if unpermuted and verdict in ("not equivariant", "inconclusive"):
        notes.append("tensors hang off the optimizer that no rule permutes (" + ", ".join(unpermuted) + "); they may "
                     "be the cause: declare how they move with invariance.torch.register_state_permuter")

    rows = [(dt, pname, rec) for dt, params in per_parameter.items() for pname, rec in params.items()]
    rows += [(dt, "state", rec) for dt, rec in state_dev.items() if rec.get("compared")]
    top = max(rows, key=lambda r: r[2]["ratio"], default=None)
    worst_row = None if top is None else {"dtype": top[0], "parameter": top[1], "max_abs": top[2]["max_abs"],
                                          "bound": top[2]["bound"], "ratio": top[2]["ratio"]}
    return finish(verdict, reason, per_dtype=per_dtype, calibration=calibrations, permutations=tried,
                  per_parameter=per_parameter, per_step=per_step, state=state_dev, determinism=determinism,
                  distribution=distribution, worst=worst_row,
                  max_deviation=worst_row["max_abs"] if worst_row else 0.0,
                  max_ratio=worst_row["ratio"] if worst_row else 0.0, counterexample=counterexample,
                  unpermuted=unpermuted)



def _counterexample(prob: Problem, spec: NeuronSpec, failures: list[tuple[int | str, FinitaryPermutation, str,
                                                                          Comparison]],
                    traj_a: list[Snapshot], tol: Tolerance, calib: Calibration, shrink: bool) -> dict[str, Any]:
    # the smallest failing permutation found, then shrunk on fresh runs (no state involved)
    key, P0, _, cmp0 = min(failures, key=lambda c: (len(c[1].support), -c[3].ratio))
    la = spec.layer(key)
    axes = {ax.name: ax.axis for ax in la.axes if ax.name in traj_a[0]}
    cache: dict[FinitaryPermutation, Comparison] = {P0: cmp0}

    def evaluate(Q: FinitaryPermutation) -> Comparison:
        if Q not in cache:
            traj_q, _, _ = prob.run(spec, Q, key)
            cache[Q] = compare(traj_a, traj_q, 0, axes, np.asarray(Q(np.arange(la.width)), dtype=np.int64), tol,
                               calib, "fresh")
        return cache[Q]

    best = P0
    if shrink:
        try:
            best = shrink_permutation(P0, lambda Q: not evaluate(Q).passed, budget=120)
        except Exception:  # noqa: BLE001 - the runs above succeeded with the same code; keep the unshrunk one
            best = P0
    shown = evaluate(best)
    return {"dtype": _dt(prob.dtype), "layer": la.name, "cycles": [list(c) for c in best.cycles()],
            "moved_indices": len(best.support), "found": [list(c) for c in P0.cycles()], "step": shown.first_fail,
            "ratio": shown.ratio, "entries": shown.entries, "shrink_evaluations": len(cache) - 1}


def _distribution(prob: Problem, res: _DtypeResult, spec: NeuronSpec, layer_keys: Sequence[int | str],
                  layer_perms: Mapping[int | str, list[FinitaryPermutation]], traj_a: list[Snapshot], tol: Tolerance,
                  calib: Calibration, seeds: int, level: float, seed: int, opt_name: str) -> None:
    """The law of ``P A_T`` against the law of ``B_T`` (the model permuted first), over ``seeds`` seeds each."""
    name = _dt(prob.dtype)
    worst_p, worst = 1.0, None
    for key in layer_keys:
        perms = layer_perms[key]
        if not perms:
            continue
        P = max(perms, key=lambda Q: len(Q.support))
        la = spec.layer(key)
        axes = {ax.name: ax.axis for ax in la.axes if ax.name in traj_a[0]}
        idx = torch.as_tensor(np.asarray(P(np.arange(la.width)), dtype=np.int64))
        names = list(traj_a[-1])
        a_rows: list[np.ndarray] = []
        b_rows: list[np.ndarray] = []
        for run_index in range(2 * seeds):
            rows = a_rows if run_index % 2 == 0 else b_rows
            try:
                if rows is a_rows:
                    traj, _, _ = prob.run(rng_seed=seed + 100 + run_index)
                else:
                    traj, _, _ = prob.run(spec, P, key, rng_seed=seed + 100 + run_index)
            except Exception as err:
                raise _Failure(f"{opt_name} raised at {prob.phase} of a seeded run in {name}: "
                               f"{type(err).__name__}: {err}") from None
            parts = []
            for n in names:
                t = traj[-1][n]
                if rows is a_rows and n in axes:
                    t = t.index_select(axes[n], idx)
                parts.append(t.double().reshape(-1))
            rows.append(torch.cat(parts).numpy())
        k = prob.total
        r = np.concatenate([np.full(traj_a[-1][n].numel(), tol.bound(float(traj_a[-1][n].double().abs().max()))
                                    + calib.allowance(k, n)) for n in names])
        labels = [f"{n}{list(np.unravel_index(j, tuple(traj_a[-1][n].shape)))}" for n in names
                  for j in range(traj_a[-1][n].numel())]
        test = two_sample_test(np.stack(a_rows), np.stack(b_rows), r, level=level, seed=seed, labels=labels)
        if test.p_value <= worst_p:
            worst_p, worst = test.p_value, (key, P, test)
    if worst is None:
        return
    key, P, test = worst
    res.distribution = {**test.as_dict(), "layer": spec.layer(key).name, "cycles": [list(c) for c in P.cycles()],
                        "dtype": name}
    if test.rejected:
        res.verdict = "not equivariant"
        res.reason = (f"{name}: the step is random, and the law of P step(X) differs from that of step(P X) "
                      f"(p = {_num(test.p_value)} < {level:g}, {test.seeds} seeds per side): not equivariant in "
                      "distribution")
        res.counterexample = {"dtype": name, "layer": spec.layer(key).name, "cycles": [list(c) for c in P.cycles()],
                              "moved_indices": len(P.support), "found": [list(c) for c in P.cycles()],
                              "step": prob.total, "ratio": float("nan"), "entries": [],
                              "in_distribution": test.worst_entries}
    else:
        res.verdict = "equivariant in distribution"
        res.reason = (f"{name}: the step is random; the law of P step(X) matches that of step(P X) "
                      f"(p = {_num(test.p_value)} >= {level:g}, {test.seeds} seeds per side)")


def assert_equivariant_optimizer(
    optimizer: OptimizerFactory | type[torch.optim.Optimizer],
    model: nn.Module | None = None,
    loss: Callable[..., torch.Tensor] | None = None,
    data: Any = None,
    **options: Any,
) -> OptimizerCertificate:
    """Assert P1 for a torch optimizer: ``step(P X) = P step(X)`` (Sections 3, 5.2).

    Runs :func:`certify` with the same arguments.

    Returns:
        The certificate, when its verdict is ``"equivariant"`` or ``"equivariant in distribution"``.

    Raises:
        OptimizerNotEquivariant: any other verdict; ``.certificate`` holds the certificate
            and the message is its :meth:`~OptimizerCertificate.summary`.

    Example:
        >>> import torch
        >>> assert_equivariant_optimizer(torch.optim.Adam, kwargs={"lr": 0.01}, steps=2,
        ...                              dtypes=(torch.float64,)).verdict
        'equivariant'
    """
    cert = certify(optimizer, model, loss, data, **options)
    if not cert.certified:
        raise OptimizerNotEquivariant(cert)
    return cert
