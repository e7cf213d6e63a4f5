"""The number of torch threads for a block of work, restored afterwards."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

from ..arguments import check_int

__all__ = ["torch_threads"]


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block (or, as a decorator, a function) with ``torch.set_num_threads(n)``.

    Small problems (a few hundred parameters, the low-dimensional experiments, the
    certification's default problem) run faster and reproduce bit for bit on one thread;
    the previous count is restored on exit, also after an exception.

    Args:
        n: threads, ``>= 1``.

    Example:
        >>> import torch
        >>> before = torch.get_num_threads()
        >>> with torch_threads(1):
        ...     torch.get_num_threads()
        1
        >>> torch.get_num_threads() == before
        True
    """
    n = check_int(n, "n", 1)
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
