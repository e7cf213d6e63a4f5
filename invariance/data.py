"""Data sets of the paper's experiments (Section 6, Appendix C), offline.

* :func:`teacher_student`: the low-dimensional regression task of Appendix C.1, eq. (57):
  inputs ``z_s ~ N(0, 4 I_d)``, labels ``y_s = <a*, sigma(W* z_s)>`` from a random sigmoid
  teacher with ``a*_j ~ N(0, 1)`` and ``w*_jk ~ N(0, 0.36)``; 5000 points, 70% for training.

Every :class:`Dataset` carries an ``info`` dict (name, source, sizes, seed, generator
parameters) that experiment results record, so a result always says which data it used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .arguments import check_int, check_positive, check_seed

__all__ = ["Dataset", "teacher_student"]


@dataclass(frozen=True)
class Dataset:
    """A train/test split with a record of where it came from.

    Attributes:
        x_train, y_train, x_test, y_test: numpy arrays (inputs ``(n, d)``; targets ``(n, k)``
            for regression, ``(n,)`` integer labels for classification).
        info: JSON-serialisable description (name, source, seed, sizes, parameters).
    """

    x_train: NDArray[Any]
    y_train: NDArray[Any]
    x_test: NDArray[Any]
    y_test: NDArray[Any]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The data set's name, e.g. ``"teacher-student"``."""
        return str(self.info.get("name", "dataset"))

    def tensors(self, dtype: Any = None, split: str = "train") -> tuple[Any, Any]:
        """``(inputs, targets)`` of ``split`` ("train" or "test") as torch tensors.

        Inputs take ``dtype`` (default ``torch.float64``); integer labels stay ``int64``.
        """
        import torch

        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        dtype = torch.float64 if dtype is None else dtype
        xt = torch.as_tensor(x, dtype=dtype)
        yt = torch.as_tensor(y) if np.issubdtype(y.dtype, np.integer) else torch.as_tensor(y, dtype=dtype)
        return xt, yt


def _sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)))


def teacher_student(
    n: int = 5000,
    input_dim: int = 1,
    teacher_width: int = 16,
    train_fraction: float = 0.7,
    seed: int = 0,
    input_std: float = 2.0,
    weight_std: float = 0.6,
) -> Dataset:
    """The teacher-student regression data of Appendix C.1 (eq. 57).

    ``z_s,j ~ N(0, input_std^2)`` (the paper: variance 4), teacher
    ``y*_s = <a*, sigma(W* z_s)>`` with ``a*_j ~ N(0, 1)``, ``w*_jk ~ N(0, weight_std^2)``
    (the paper: 0.36); the first ``train_fraction`` of a random order is the training set.
    The paper leaves the teacher width ``h*`` unstated; it is a parameter here and recorded.

    Args:
        n: number of points (paper: 5000).
        input_dim: ``d`` (1 for the paper's "2D" networks, 2 for "3D").
        teacher_width: ``h*``, hidden units of the teacher.
        train_fraction: share of points used for training, in ``(0, 1)`` (paper: 0.7).
        seed: seed of the teacher, the inputs and the split.
        input_std, weight_std: standard deviations of inputs and teacher weights.

    Returns:
        A :class:`Dataset` with float64 ``x`` of shape ``(., d)`` and ``y`` of shape ``(., 1)``.

    Example:
        >>> data = teacher_student(n=100, input_dim=2, seed=0)
        >>> data.x_train.shape, data.y_test.shape, data.info["name"]
        ((70, 2), (30, 1), 'teacher-student')
    """
    n = check_int(n, "n", 2)
    input_dim = check_int(input_dim, "input_dim", 1)
    teacher_width = check_int(teacher_width, "teacher_width", 1)
    frac = check_positive(train_fraction, "train_fraction")
    if not 0 < frac < 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction!r}")
    seed = check_seed(seed)
    input_std = check_positive(input_std, "input_std")
    weight_std = check_positive(weight_std, "weight_std")
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, 1.0, size=teacher_width)
    W = rng.normal(0.0, weight_std, size=(teacher_width, input_dim))
    z = rng.normal(0.0, input_std, size=(n, input_dim))
    y = (_sigmoid(z @ W.T) @ a)[:, None]
    order = rng.permutation(n)
    n_train = int(round(frac * n))
    if not 0 < n_train < n:
        raise ValueError(f"train_fraction={train_fraction} leaves an empty split of n={n} points")
    tr, te = order[:n_train], order[n_train:]
    info = {
        "name": "teacher-student",
        "source": "Appendix C.1, eq. (57): z ~ N(0, input_std^2 I), y = <a*, sigmoid(W* z)>",
        "n": n, "n_train": int(tr.size), "n_test": int(te.size), "input_dim": input_dim,
        "teacher_width": teacher_width, "input_std": input_std, "weight_std": weight_std, "seed": seed,
    }
    return Dataset(z[tr], y[tr], z[te], y[te], info)
