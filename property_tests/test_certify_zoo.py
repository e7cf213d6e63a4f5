"""The certifier on what users bring: a zoo of third-party optimizer patterns (``_optimizer_zoo``),
each with the verdict it must get on the *default* problem, and the state-permutation rules
behind them, checked against the mathematics (``P S P^T``, row factors, kept column factors)."""

import collections
import warnings

import numpy as np
import pytest
import torch
from _optimizer_zoo import (
    ZOO,
    CachedMask,
    HessianDiagonal,
    NeedsPrepare,
    Projector,
    entry,
    permute_cached_mask,
)
from torch import nn

from invariance import FinitaryPermutation
from invariance.cli import main
from invariance.torch import (
    StateNotPermutableError,
    certify,
    mlp_spec,
    register_state_permuter,
    unregister_state_permuter,
)
from invariance.torch.certify import VERDICTS


@pytest.fixture(autouse=True)
def _quiet_create_graph():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph=True")
        yield


@pytest.mark.parametrize("e", ZOO, ids=[e.name for e in ZOO])
def test_every_zoo_optimizer_gets_its_verdict_on_the_default_problem(e):
    cert = certify(e.factory, kwargs=e.kwargs, **e.options)
    assert cert.verdict in VERDICTS
    assert cert.verdict == e.verdict, cert.summary()
    text = " ".join([cert.reason or "", *cert.notes, cert.summary()])
    for m in e.mentions:
        assert m in text, (m, text)
    if e.verdict == "not equivariant":
        ce = cert.counterexample
        assert ce is not None and ce["cycles"]
        assert ce["entries"] or ce.get("in_distribution"), ce
        for row in ce["entries"]:
            assert abs(row["P A"] - row["B"]) > row["bound"]
    if e.verdict == "inconclusive":
        assert cert.reason and not cert.certified
    if e.verdict == "equivariant":
        assert cert.max_ratio <= 1 and cert.reason is None


def test_the_zoo_covers_every_family_of_the_issue():
    assert len(ZOO) >= 25
    families = {e.family.split()[0] for e in ZOO}
    assert families == {"1", "2", "3", "4", "5", "6", "7"}
    assert {e.verdict for e in ZOO} == set(VERDICTS) - {"error"}


def test_block_quantization_breaks_p1_only_on_a_wide_enough_layer():
    # on a toy 2-8-1 model every tensor has fewer than 4096 entries: the threshold hides the blocks
    e = entry("block quantization above 4096 entries")
    toy = nn.Sequential(nn.Linear(2, 8), nn.Sigmoid(), nn.Linear(8, 1)).double()
    assert certify(e.factory, toy, kwargs=e.kwargs, dtypes=(torch.float64,)).verdict == "equivariant"
    assert certify(e.factory, kwargs=e.kwargs, dtypes=(torch.float64,)).verdict == "not equivariant"


def test_a_registered_permuter_certifies_cached_index_tensors():
    register_state_permuter(CachedMask, permute_cached_mask)
    try:
        cert = certify(CachedMask, kwargs={"lr": 1e-2})
    finally:
        unregister_state_permuter(CachedMask)
    assert cert.verdict == "equivariant", cert.summary()
    assert cert.unpermuted == []


def test_a_step_that_cannot_run_is_an_error_in_one_sentence():
    cert = certify(HessianDiagonal, kwargs={"lr": 1e-2}, dtypes=(torch.float64,))  # no create_graph
    assert cert.verdict == "error"
    assert cert.reason.startswith("_optimizer_zoo.HessianDiagonal raised at step 1 of run A in float64: RuntimeError")
    assert cert.reason.count("\n") == 0
    late = certify(NeedsPrepare, kwargs={"lr": 1e-2}, dtypes=(torch.float64,))
    assert late.verdict == "error" and "call prepare() before step()" in late.reason


def test_the_cli_takes_create_graph_and_a_step_fn(capsys):
    assert main(["certify", "_optimizer_zoo:HessianDiagonal", "--create-graph", "--dtype", "float64"]) == 0
    assert "create_graph=True" in capsys.readouterr().out
    assert main(["certify", "_optimizer_zoo:NeedsPrepare", "--step-fn", "_optimizer_zoo:prepare_then_step",
                 "--dtype", "float64"]) == 0
    assert "prepare_then_step" in capsys.readouterr().out
    assert main(["certify", "_optimizer_zoo:NeedsPrepare", "--dtype", "float64"]) == 2
    err = capsys.readouterr().err
    assert "NeedsPrepare raised at step 1" in err and "ERROR" not in err
    assert main(["certify", "_optimizer_zoo:SubclassStateAdam", "--dtype", "float64"]) == 3
    assert main(["certify", "torch.optim.SGD", "--step-fn", "no_such:fn"]) == 2


# -- the state rules, against the mathematics --------------------------------------------------
def _model(d=3, h=5):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.Linear(h, 1)).double()


def _permute_state(model, opt, P):
    mlp_spec(model).permute(model, P, 0, optimizer=opt)


def test_two_sided_row_factor_flat_and_kept_state_move_as_the_mathematics_says():
    model = _model()
    w1, w2 = model[0].weight, model[2].weight
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    S, R, row, col = torch.randn(5, 5), torch.randn(3, 3), torch.randn(5), torch.randn(3)
    flat, hist = torch.randn(15), torch.randn(4, 15)
    opt.state[w1].update(S=S.clone(), R=R.clone(), row=row.clone(), col=col.clone(), flat=flat.clone(),
                         hist=hist.clone(), deque=collections.deque([row.clone()], maxlen=2),
                         nested={"a": [row.clone(), (col.clone(),)]}, proj=Projector(torch.randn(5, 2), "left"))
    opt.state[w2]["L"] = S.clone()
    P = FinitaryPermutation.from_cycles((0, 3, 1))
    idx = torch.as_tensor(P(np.arange(5)))
    proj = opt.state[w1]["proj"]
    _permute_state(model, opt, P)
    st = opt.state[w1]
    assert torch.equal(st["S"], S[idx][:, idx])  # P S P^T
    assert torch.equal(st["R"], R) and torch.equal(st["col"], col)  # the non-neuron side is kept
    assert torch.equal(st["row"], row[idx])
    flat_idx = torch.arange(15).reshape(5, 3)[idx].reshape(-1)
    assert torch.equal(st["flat"], flat[flat_idx]) and torch.equal(st["hist"], hist[:, flat_idx])
    assert isinstance(st["deque"], collections.deque) and st["deque"].maxlen == 2
    assert torch.equal(st["deque"][0], row[idx]) and torch.equal(st["nested"]["a"][0], row[idx])
    assert isinstance(st["nested"]["a"][1], tuple) and torch.equal(st["nested"]["a"][1][0], col)
    assert isinstance(st["proj"], Projector) and st["proj"] is not proj  # a permuted copy; the original is intact
    assert torch.equal(st["proj"].basis, proj.basis[idx]) and st["proj"].side == "left"
    assert torch.equal(opt.state[w2]["L"], S[idx][:, idx])  # (h, h) for the (1, h) outgoing weight


def test_wrapped_optimizers_and_registered_objects_are_permuted():
    model = _model()
    e = entry("lookahead wrapper")
    opt = e.factory(model.parameters(), lr=0.01)
    model(torch.randn(4, 3, dtype=torch.float64)).sum().backward()
    opt.step()
    w1 = model[0].weight
    m_before = opt.optimizer.state[w1]["exp_avg"].clone()
    slow = opt.state[w1]["slow"].clone()
    P = FinitaryPermutation.transposition(0, 2)
    idx = torch.as_tensor(P(np.arange(5)))
    _permute_state(model, opt, P)
    assert torch.equal(opt.optimizer.state[w1]["exp_avg"], m_before[idx])
    assert torch.equal(opt.state[w1]["slow"], slow[idx])

    class Opaque:
        __slots__ = ("t",)

        def __init__(self, t):
            self.t = t

    opt.state[w1]["opaque"] = Opaque(torch.randn(5))
    register_state_permuter(Opaque, lambda v, perm: Opaque(perm.permute(v.t)))
    try:
        before = opt.state[w1]["opaque"].t.clone()
        _permute_state(model, opt, P)
        assert torch.equal(opt.state[w1]["opaque"].t, before[idx])
    finally:
        unregister_state_permuter(Opaque)


@pytest.mark.parametrize("bad,match", [
    (torch.randn(7), "none of whose sizes"),
    ("subclass", "indexing failed"),
])
def test_state_that_cannot_be_permuted_is_refused_naming_the_key(bad, match):
    from _optimizer_zoo import ScaledTensor

    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    value = torch.randn(5, 3).as_subclass(ScaledTensor) if bad == "subclass" else bad
    opt.state[model[0].weight]["odd"] = {"inner": value}
    with pytest.raises(StateNotPermutableError, match=match) as err:
        _permute_state(model, opt, FinitaryPermutation.transposition(0, 1))
    assert err.value.key == "odd/'inner'" and err.value.parameter == "0.weight"


def test_a_square_weight_makes_other_shapes_ambiguous():
    model = nn.Sequential(nn.Linear(5, 5), nn.Tanh(), nn.Linear(5, 1)).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    opt.state[model[0].weight]["row"] = torch.randn(5)
    with pytest.raises(StateNotPermutableError, match="ambiguous"):
        _permute_state(model, opt, FinitaryPermutation.transposition(0, 1))
