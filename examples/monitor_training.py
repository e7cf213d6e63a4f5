"""Watch a torch training run through the paper's lemmas, and replay it as a stateless rule.

1. A TrainingMonitor on torch.optim.SGD records, after every step, Lemma 2's distance
   ratios over all pairs of hidden neurons, Lemma 4's lower bound K_lb of the continuity
   constant (read off the step itself), and merges. Raising the learning rate past
   1/K_lb issues a CriticalStepWarning: the step is past the topological critical point.
2. The same run as the paper's stateless rule on the neuron collection (torch_rule)
   reproduces torch.optim.SGD to round-off, and it is permutation-equivariant (P1).

Run: python examples/monitor_training.py
"""

import copy
import warnings

import numpy as np
import torch

from invariance.data import teacher_student
from invariance.properties import equivariance_error
from invariance.torch import CriticalStepWarning, TrainingMonitor, mlp_spec, torch_rule

data = teacher_student(n=400, input_dim=2, seed=0)
X, y = data.tensors()
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.Sigmoid(), torch.nn.Linear(32, 1, bias=False)).double()
start = copy.deepcopy(model)
loss_fn = torch.nn.functional.mse_loss

lr = 0.05
opt = torch.optim.SGD(model.parameters(), lr=lr)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", CriticalStepWarning)
    with TrainingMonitor(model, opt) as monitor:
        for step in range(12):
            if step == 8:  # jump far past the critical step size read off the last step
                opt.param_groups[0]["lr"] = 1.5 / monitor.records[-1].K_lower_bound
            opt.zero_grad()
            loss_fn(model(X), y).backward()
            opt.step()
print(monitor.table())
for w in caught:
    print("warning:", str(w.message)[:110], "...")

# the same eight small steps as a stateless rule on the neurons (Sections 3 and 5.1)
rule = torch_rule(copy.deepcopy(start), optimizer="sgd", lr=lr, loss_fn=loss_fn, inputs=X, targets=y)
Z = rule.initial()
reference = copy.deepcopy(start)
ref_opt = torch.optim.SGD(reference.parameters(), lr=lr)
for t in range(8):
    Z = rule.step(Z, lr, t)
    ref_opt.zero_grad()
    loss_fn(reference(X), y).backward()
    ref_opt.step()
gap = np.max(np.abs(rule.parameters(Z).points - mlp_spec(reference).neurons(reference).points))
print(f"stateless rule vs torch.optim.SGD after 8 steps: max deviation {gap:.1e}")
report = equivariance_error(rule, Z, t=8, n_samples=4)
print(f"P1 of the torch rule: error {report.worst:.1e} over {report.trials} permutations -> {report.passed}")
