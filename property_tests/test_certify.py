"""Optimizer certification (P1, Sections 3 and 5.2): every torch.optim optimizer is certified
equivariant, broken ones are refused with a shrunk counterexample, noise is judged in law,
and the command line exits 0 / 1 / 2 / 3. The zoo of third-party patterns is in
test_certify_zoo.py."""

import json
import os
import pathlib
import subprocess
import sys
import time

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from invariance import FinitaryPermutation
from invariance.cli import main
from invariance.torch import (
    NeuronLayer,
    register_state_permuter,
    unregister_state_permuter,
    NeuronSpec,
    OptimizerCertificate,
    OptimizerNotEquivariant,
    ParameterAxis,
    assert_equivariant_optimizer,
    certify,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]
FULL_CYCLE = FinitaryPermutation.from_cycles(tuple(range(8)))  # a cycle of the first 8 of the 256 hidden units


# -- the zoo: optimizers that break P1 on purpose ---------------------------------------------
class PerIndexLR(torch.optim.Optimizer):
    """SGD whose learning rate grows with the flat index: lr_j = lr (1 + j / n)."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    scale = 1 + torch.arange(p.numel(), dtype=p.dtype).reshape(p.shape) / p.numel()
                    p.add_(-group["lr"] * scale * p.grad)


class FirstNeuronSpecial(torch.optim.Optimizer):
    """SGD that scales the step of the first row of every parameter by `factor`."""

    def __init__(self, params, lr=0.1, factor=2.0):
        super().__init__(params, {"lr": lr, "factor": factor})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    update = -group["lr"] * p.grad
                    update[0] *= group["factor"]
                    p.add_(update)


class BlockNormalized(torch.optim.Optimizer):
    """Normalised SGD over fixed blocks of `block` consecutive entries of the flattened parameter."""

    def __init__(self, params, lr=0.01, block=4):
        super().__init__(params, {"lr": lr, "block": block})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            b = group["block"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.reshape(-1)
                blocks = torch.cat([g, g.new_zeros((-g.numel()) % b)]).reshape(-1, b)
                blocks = blocks / (blocks.norm(dim=1, keepdim=True) + 1e-12)
                p.add_(-group["lr"] * blocks.reshape(-1)[: g.numel()].reshape(p.shape))


class HiddenMomentum(torch.optim.Optimizer):
    """Heavy-ball momentum whose buffers live in a list attribute, outside `optimizer.state`: equivariant
    as an algorithm, but its state is out of reach unless a permuter is registered."""

    def __init__(self, params, lr=0.05, momentum=0.9):
        super().__init__(params, {"lr": lr, "momentum": momentum})
        self.buffers = [torch.zeros_like(p) for g in self.param_groups for p in g["params"]]

    @torch.no_grad()
    def step(self, closure=None):
        k = 0
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.buffers[k].mul_(group["momentum"]).add_(p.grad)
                    p.add_(-group["lr"] * self.buffers[k])
                k += 1


class NoisySGD(torch.optim.Optimizer):
    """SGD plus unseeded Gaussian noise per entry (a fresh, randomly seeded generator each step)."""

    def __init__(self, params, lr=0.05, noise=1e-3):
        super().__init__(params, {"lr": lr, "noise": noise})

    @torch.no_grad()
    def step(self, closure=None):
        gen = torch.Generator()
        gen.seed()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    noise = torch.randn(p.shape, generator=gen, dtype=p.dtype)
                    p.add_(-group["lr"] * p.grad + group["noise"] * noise)


class StatefulMomentum(torch.optim.Optimizer):
    """A correct custom heavy-ball momentum (state in `optimizer.state`): equivariant."""

    def __init__(self, params, lr=0.05, momentum=0.9):
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    buf = self.state[p].setdefault("buf", torch.zeros_like(p))
                    buf.mul_(group["momentum"]).add_(p.grad)
                    p.add_(-group["lr"] * buf)


class Exploding(torch.optim.SGD):
    """Raises in step: the certificate says "error"."""

    def step(self, closure=None):
        raise RuntimeError("boom")


class DictState(torch.optim.SGD):
    """Keeps a dict of numbers in its state: kept as it is by the permutation."""

    def step(self, closure=None):
        loss = super().step(closure)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["history"] = {"norm": float(p.detach().norm())}
        return loss


# -- every torch.optim optimizer is equivariant ---------------------------------------------
TORCH_OPTIMIZERS = [
    ("SGD", {"lr": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "amsgrad": True}),
    ("Adamax", {"lr": 0.01}),
    ("NAdam", {"lr": 0.01}),
    ("RAdam", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adadelta", {}),
    ("ASGD", {"lr": 0.01}),
    ("Rprop", {"lr": 0.01}),
    ("LBFGS", {}),
    ("Muon", {"lr": 0.02}),
    ("Adafactor", {"lr": 0.01}),
]


@pytest.mark.parametrize("name,kwargs", TORCH_OPTIMIZERS, ids=[f"{n}-{k}" for n, k in TORCH_OPTIMIZERS])
def test_torch_optimizers_are_certified_equivariant(name, kwargs):
    cert = certify(getattr(torch.optim, name), kwargs=kwargs)
    assert cert.verdict == "equivariant", cert.summary()
    assert cert.certified and bool(cert) and cert.counterexample is None and cert.reason is None
    assert cert.max_ratio <= 1.0 and cert.dtypes == ["float64", "float32"]
    assert cert.per_dtype == {"float64": {"verdict": "equivariant", "reason": None},
                              "float32": {"verdict": "equivariant", "reason": None}}
    # per dtype: 3 permutations, each run fresh (permuted before step 1) and with permuted state
    assert len(cert.permutations) == 12 and all(p["passed"] for p in cert.permutations)
    assert {p["mode"] for p in cert.permutations} == {"fresh", "state"}
    assert set(cert.per_parameter) == {"float64", "float32"}
    assert all(len(steps) == cert.warmup + cert.steps for steps in cert.per_step.values())
    assert all(d["ratio"] <= 1.0 for d in cert.determinism.values())
    # the headline is the worst row of the table
    w = cert.worst
    assert cert.per_parameter[w["dtype"]].get(w["parameter"], cert.state.get(w["dtype"]))["ratio"] == w["ratio"]
    assert cert.max_ratio == w["ratio"] and cert.max_deviation == w["max_abs"]
    if name == "LBFGS":
        assert "closure" in cert.step_mode and len(cert.param_groups) == 1
        assert any("refused" in n for n in cert.notes)
    else:
        assert "closure" not in cert.step_mode
        lrs = [g["lr"] for g in cert.param_groups]
        assert len(lrs) == 2 and lrs[0] != lrs[1], lrs  # two groups with different learning rates
        if "lr" in kwargs:
            assert lrs == [kwargs["lr"], kwargs["lr"] / 2]
            assert any(f"{kwargs['lr'] / 2:.3g}" in n and "single" in n for n in cert.notes), cert.notes
        if name != "SGD" or "momentum" in kwargs:
            assert cert.state["float64"]["compared"] > 0


def test_every_bound_is_calibrated_and_reported():
    cert = certify(torch.optim.Adam, kwargs={"lr": 0.01})
    for dt in ("float64", "float32"):
        cal = cert.calibration[dt]
        assert len(cal["controls"]) == 3 and cal["fraction_of_scale"] == 0.1
        assert all(c["worst"] < 1e-4 for c in cal["controls"])
        assert cal["computes_in"] == [dt]  # Adam computes in the run's dtype only
    text = cert.summary()
    assert "rows of every batch shuffled" in text and "round-off" in text


def test_lbfgs_round_off_is_measured_not_assumed():
    # LBFGS's defaults (lr 1, 20 inner iterations per step) amplify round-off; tamer settings much less
    wild = certify(torch.optim.LBFGS, dtypes=(torch.float64,))
    tame = certify(torch.optim.LBFGS, kwargs={"lr": 0.1, "max_iter": 4}, dtypes=(torch.float64,))
    assert wild.verdict == tame.verdict == "equivariant"
    assert tame.calibration["float64"]["worst"] < wild.calibration["float64"]["worst"]
    assert tame.calibration["float64"]["worst"] < 1e-13


def test_round_off_that_dominates_is_inconclusive_never_equivariant():
    # SGD at lr 1 diverges on the default problem: the controls deviate by more than a tenth of the weights
    cert = certify(torch.optim.SGD, kwargs={"lr": 1.0}, dtypes=(torch.float32,))
    assert cert.verdict == "inconclusive" and "round-off dominates" in cert.reason, cert.summary()
    assert not cert.certified


def test_muon_runs_bias_free_and_its_bfloat16_is_observed():
    cert = certify(torch.optim.Muon, kwargs={"lr": 0.02})
    assert cert.verdict == "equivariant"
    assert "no biases" in cert.model and any("2D" in n or "refused" in n for n in cert.notes)
    assert "bfloat16" in cert.calibration["float64"]["computes_in"]
    assert any("bfloat16" in n and "observed" in n for n in cert.notes)


# -- the zoo is refused, each with a smallest counterexample ------------------------------------
@pytest.mark.parametrize("cls,expected", [
    (PerIndexLR, [[0, 1]]),
    (FirstNeuronSpecial, [[0, 1]]),
    (BlockNormalized, [[0, 1]]),  # rows of 17 entries: the block of entries 16-19 straddles rows 0 and 1
])
def test_broken_optimizers_are_refused_with_a_transposition(cls, expected):
    cert = certify(cls, permutations=[FULL_CYCLE], dtypes=(torch.float64,))
    assert cert.verdict == "not equivariant" and not cert
    ce = cert.counterexample
    assert ce["moved_indices"] == 2 and ce["cycles"] == expected, ce
    assert ce["found"] == [list(range(8))] and ce["shrink_evaluations"] >= 1
    assert ce["entries"], ce
    for e in ce["entries"]:
        assert abs(e["P A"] - e["B"]) > e["bound"] and e["difference"] == pytest.approx(e["P A"] - e["B"])
    assert "counterexample" in cert.summary()
    with pytest.raises(OptimizerNotEquivariant) as err:
        assert_equivariant_optimizer(cls, permutations=[FULL_CYCLE], dtypes=(torch.float64,))
    assert isinstance(err.value, AssertionError) and err.value.certificate.verdict == "not equivariant"
    assert "NOT EQUIVARIANT" in str(err.value)


def test_state_out_of_reach_is_inconclusive_until_a_permuter_is_registered():
    cert = certify(HiddenMomentum)
    assert cert.verdict == "inconclusive" and "not permuted" in cert.reason, cert.summary()
    assert cert.unpermuted == ["HiddenMomentum.buffers"]
    assert any("HiddenMomentum.buffers" in n and "register_state_permuter" in n for n in cert.notes)

    def permute_buffers(opt, perm):
        params = [p for g in opt.param_groups for p in g["params"]]
        opt.buffers = [perm.permute(b, p) for b, p in zip(opt.buffers, params)]

    register_state_permuter(HiddenMomentum, permute_buffers)
    try:
        again = certify(HiddenMomentum)
    finally:
        unregister_state_permuter(HiddenMomentum)
    assert again.verdict == "equivariant" and again.unpermuted == [], again.summary()


@pytest.mark.parametrize("cls", [PerIndexLR, FirstNeuronSpecial, BlockNormalized])
def test_broken_optimizers_are_refused_with_default_settings(cls):
    cert = certify(cls)
    assert cert.verdict == "not equivariant"
    assert cert.counterexample["moved_indices"] == 2
    assert any(not p["passed"] for p in cert.permutations)


@settings(max_examples=8, deadline=None)
@given(perm=st.permutations(list(range(8))))
def test_the_verdict_is_exact_for_every_permutation(perm):
    # FirstNeuronSpecial breaks P1 exactly for the permutations that move neuron 0;
    # PerIndexLR for every permutation that is not the identity; StatefulMomentum for none.
    P = FinitaryPermutation.from_array(perm)
    assume(not P.is_identity())
    options = dict(permutations=[P], dtypes=(torch.float64,), steps=2, shrink=False)
    assert (certify(FirstNeuronSpecial, **options).verdict == "not equivariant") == (P(0) != 0)
    assert certify(PerIndexLR, **options).verdict == "not equivariant"
    assert certify(StatefulMomentum, **options).verdict == "equivariant"


def test_the_checker_can_say_no_to_a_tiny_violation():
    # the first neuron's step is 1 + 1e-6 times larger: invisible in float32, refused in float64
    cert = certify(FirstNeuronSpecial, kwargs={"factor": 1 + 1e-6})
    assert cert.verdict == "not equivariant" and cert.counterexample["dtype"] == "float64"
    assert all(p["passed"] for p in cert.permutations if p["dtype"] == "float32")


def test_a_correct_custom_optimizer_and_a_factory_are_certified():
    assert certify(StatefulMomentum).verdict == "equivariant"

    def factory(params, lr=0.05):
        return torch.optim.SGD(params, lr=lr, momentum=0.5)

    cert = certify(factory, kwargs={"lr": 0.02}, dtypes=(torch.float64,))
    assert cert.verdict == "equivariant" and cert.optimizer.endswith("factory")


def test_unseeded_noise_is_judged_in_distribution():
    cert = certify(NoisySGD)
    assert cert.verdict == "equivariant in distribution" and cert.certified and cert.counterexample is None
    assert all(d["ratio"] > 1 and d.get("same_seed") for d in cert.determinism.values())
    d = cert.distribution
    assert d["p_value"] >= d["level"] == 0.01 and d["seeds"] == 48
    assert "p = " in cert.summary() and "IN DISTRIBUTION" in cert.summary()


def test_global_rng_noise_is_judged_in_distribution_too():
    def noisy(params, lr=0.01, pattern=False):
        class GlobalNoise(torch.optim.SGD):
            @torch.no_grad()
            def step(self, closure=None):
                super().step(closure)
                for group in self.param_groups:
                    for p in group["params"]:
                        std = 1e-4 * (1 + 3 * torch.linspace(0, 1, p.numel(), dtype=p.dtype).reshape(p.shape)
                                      if pattern else 1.0)
                        p.add_(std * torch.randn_like(p))

        return GlobalNoise(params, lr=lr)

    assert certify(noisy, dtypes=(torch.float64,)).verdict == "equivariant in distribution"
    # the power check: noise whose law depends on the position is refused
    refused = certify(noisy, kwargs={"pattern": True}, dtypes=(torch.float64,))
    assert refused.verdict == "not equivariant" and "in distribution" in refused.reason
    assert refused.distribution["p_value"] < 0.01 and refused.counterexample["in_distribution"]
    with pytest.raises(OptimizerNotEquivariant):
        assert_equivariant_optimizer(noisy, kwargs={"pattern": True}, dtypes=(torch.float64,))


# -- other problems, batches, specs ---------------------------------------------------------------
def test_deeper_model_minibatches_and_every_layer():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2)).double()
    x, y = torch.randn(40, 3, dtype=torch.float64), torch.randn(40, 2, dtype=torch.float64)
    cert = certify(torch.optim.Adam, model, data=(x, y), kwargs={"lr": 0.01}, batch_size=8)
    assert cert.verdict == "equivariant"
    assert [la["width"] for la in cert.layers] == [6, 5] and {p["layer"] for p in cert.permutations} == {"0->2", "2->4"}
    assert len(cert.param_groups) == 3 and "mini-batches of 8" in cert.data
    broken = certify(FirstNeuronSpecial, model, data=(x, y), layers=["2->4"], dtypes=(torch.float64,))
    assert broken.verdict == "not equivariant" and broken.counterexample["layer"] == "2->4"


def test_conv_model_and_custom_spec():
    torch.manual_seed(1)
    conv = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3), nn.Flatten(), nn.Linear(2 * 2 * 2, 1))
    x, y = torch.randn(6, 1, 6, 6), torch.randn(6, 1)
    assert certify(torch.optim.Adam, conv, data=(x, y), kwargs={"lr": 0.01}).verdict == "equivariant"

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.dec = nn.Linear(2, 5), nn.Linear(5, 1)

        def forward(self, x):
            return self.dec(torch.sigmoid(self.enc(x)))

    spec = NeuronSpec([NeuronLayer("h", 5, (ParameterAxis("enc.weight", 0), ParameterAxis("enc.bias", 0),
                                             ParameterAxis("dec.weight", 1)))])
    cert = certify(torch.optim.RMSprop, Net(), spec=spec, kwargs={"lr": 0.01})
    assert cert.verdict == "equivariant" and cert.layers == [{"name": "h", "width": 5}]


# -- certificate ----------------------------------------------------------------------------------
def test_certificate_json_round_trips(tmp_path):
    for cert in (certify(torch.optim.Adam, dtypes=(torch.float64,)),
                 certify(PerIndexLR, dtypes=(torch.float64,))):
        path = tmp_path / "cert.json"
        text = cert.to_json(str(path))
        assert json.loads(path.read_text()) == json.loads(text) == cert.to_dict()
        again = OptimizerCertificate.from_json(text)
        assert again == cert
        assert again.summary() == cert.summary()
        for key in ("verdict", "optimizer", "kwargs", "per_parameter", "per_step", "tolerance", "permutations",
                    "seed", "versions", "param_groups", "dtypes", "layers", "steps"):
            assert key in cert.to_dict()
        assert cert.versions["torch"] == torch.__version__
    with pytest.raises(ValueError):
        OptimizerCertificate.from_dict({"verdict": "equivariant"})


def test_summary_is_an_aligned_table():
    text = certify(torch.optim.SGD, kwargs={"lr": 0.01, "momentum": 0.9}).summary()
    assert text.startswith("P1 certificate") and "EQUIVARIANT" in text
    lines = text.split("per parameter")[1].splitlines()[1:]
    table = lines[: lines.index("")]
    rule, rows = table[1], table[2:]
    assert set(rule.strip()) <= {"-", " "} and len(rows) == 2 * 5  # 4 parameters + state, 2 dtypes
    assert {len(line) for line in table} == {len(rule)}


def test_errors_are_reported_not_raised():
    cert = certify(Exploding, kwargs={"lr": 0.1})
    assert cert.verdict == "error" and "boom" in cert.error
    bad_kwargs = certify(torch.optim.SGD, kwargs={"lr": -1.0})
    assert bad_kwargs.verdict == "error" and "learning rate" in bad_kwargs.error.lower()
    assert certify(DictState, kwargs={"lr": 0.01}).verdict == "equivariant"  # a dict of numbers is kept
    late = certify(Exploding, kwargs={"lr": 0.1}, dtypes=(torch.float64,))
    assert late.reason.startswith("test_certify.Exploding raised at step 1 of run A in float64: RuntimeError: boom")
    with pytest.raises(OptimizerNotEquivariant):
        assert_equivariant_optimizer(Exploding)


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"steps": 0}, ValueError, "steps"),
    ({"steps": 1.5}, TypeError, "steps"),
    ({"warmup": -1}, ValueError, "warmup"),
    ({"dtypes": ()}, ValueError, "dtypes"),
    ({"dtypes": (torch.int64,)}, ValueError, "dtypes"),
    ({"permutations": []}, ValueError, "permutations"),
    ({"permutations": 0}, ValueError, "permutations"),
    ({"permutations": [FinitaryPermutation.transposition(0, 256)]}, ValueError, "outside"),
    ({"permutations": ["(0 1)"]}, TypeError, "permutations"),
    ({"kwargs": [("lr", 0.1)]}, TypeError, "kwargs"),
    ({"seed": -1}, ValueError, "seed"),
    ({"tolerance": 1e-3}, TypeError, "tolerance"),
    ({"param_groups": "many"}, ValueError, "param_groups"),
    ({"layers": ["nope"]}, KeyError, "nope"),
    ({"data": (torch.full((4, 2), float("nan")), torch.zeros(4, 1))}, ValueError, "NaN"),
    ({"data": (torch.zeros(4, 2), torch.zeros(3, 1))}, ValueError, "data"),
    ({"batch_size": 1000}, ValueError, "batch_size"),
    ({"model": "mlp"}, TypeError, "model"),
])
def test_invalid_arguments_raise_naming_them(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        certify(torch.optim.SGD, **kwargs)


def test_a_model_without_two_neurons_cannot_be_certified():
    model = nn.Sequential(nn.Linear(2, 1), nn.Tanh(), nn.Linear(1, 1)).double()
    with pytest.raises(ValueError, match="two neurons"):
        certify(torch.optim.SGD, model, kwargs={"lr": 0.1})


def test_many_steps_print_one_row_per_step():
    cert = certify(torch.optim.SGD, kwargs={"lr": 0.01}, steps=12, dtypes=(torch.float64,))
    assert cert.verdict == "equivariant" and len(cert.per_step["float64"]) == 2 + 12
    assert len(cert.summary().split("per step")[1].splitlines()) == 1 + 2 + 2 + 12


def test_optimizer_must_be_a_class_or_factory():
    with pytest.raises(TypeError, match="instance"):
        certify(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1))
    with pytest.raises(TypeError, match="optimizer"):
        certify("torch.optim.SGD")


# -- command line ---------------------------------------------------------------------------------
def test_cli_exit_codes(tmp_path, capsys):
    path = tmp_path / "cert.json"
    assert main(["certify", "torch.optim.SGD", "--lr", "0.01", "--steps", "2", "--dtype", "float64",
                 "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "EQUIVARIANT" in out and json.loads(path.read_text())["verdict"] == "equivariant"
    assert main(["certify", "test_certify:PerIndexLR", "--dtype", "float64"]) == 1
    assert "counterexample" in capsys.readouterr().out
    assert main(["certify", "test_certify.NoisySGD", "--dtype", "float64"]) == 0
    assert "EQUIVARIANT IN DISTRIBUTION" in capsys.readouterr().out
    assert main(["certify", "test_certify.HiddenMomentum", "--dtype", "float64"]) == 3
    assert "INCONCLUSIVE" in capsys.readouterr().out
    assert main(["certify", "torch.optim.SGD", "--kwargs", '{"momentum": 0.9, "lr": 0.01}', "--dtype", "float64",
                 "--single-group"]) == 0
    capsys.readouterr()
    for argv, reason in [
        (["certify", "no_such_module:Opt"], "cannot import"),
        (["certify", "torch.optim.NoSuchOptimizer"], "cannot import"),
        (["certify", "torch.optim.SGD", "--kwargs", "{not json"], "JSON"),
        (["certify", "torch.optim.SGD", "--kwargs", "[1, 2]"], "JSON object"),
        (["certify", "torch.optim.SGD", "--steps", "0"], "--steps"),
        (["certify", "torch.optim.SGD", "--lr", "0.1", "--kwargs", '{"lr": 0.2}'], "contradicts"),
        (["certify", "test_certify:Exploding", "--lr", "0.1", "--dtype", "float64"], "boom"),
        (["certify", "torch.optim.SGD", "--lr", "-1", "--dtype", "float64"], "argument --lr: must be a finite"),
    ]:
        try:
            code = main(argv)  # errors found while running: one line, exit code 2
        except SystemExit as exc:  # bad values: the subcommand's usage and one error line, exit code 2
            code = exc.code
        assert code == 2, argv
        err = capsys.readouterr()
        assert reason in err.err, argv
        assert "max deviation" not in err.out and "Traceback" not in err.err, argv  # no empty certificate
    with pytest.raises(SystemExit) as err:
        main(["certify"])
    assert err.value.code == 2


def test_cli_subprocess_certifies_adam_in_under_10_seconds():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "invariance.cli", "certify", "torch.optim.Adam"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    assert "EQUIVARIANT" in proc.stdout and "per parameter" in proc.stdout
    limit = 10 if os.environ.get("CI") != "true" else 20  # cold, 2 cores; shared CI runners get slack
    assert elapsed < limit, f"invariance certify torch.optim.Adam took {elapsed:.1f} s"


def test_demo_does_not_import_torch():
    code = "import sys, invariance.cli; sys.exit(1 if 'torch' in sys.modules else 0)"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, timeout=60).returncode == 0
