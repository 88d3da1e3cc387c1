# Copyright (c) mcl_mm contributors. All rights reserved.
"""The aten ops a call dispatches: on a GPU, each one that is not a view
launches at least one kernel."""
from typing import Callable, Tuple, Union

from torch.utils._python_dispatch import TorchDispatchMode


class _OpCounter(TorchDispatchMode):
    """Counts the aten ops dispatched inside, and those returning a view
    of an input (their schema's first return aliases an argument)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.views = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        returns = func._schema.returns
        if returns and returns[0].alias_info is not None and \
                not func._schema.is_mutable:
            self.views += 1
        return func(*args, **(kwargs or {}))


def count_aten_ops(fn: Callable[[], object],
                   views: bool = False) -> Union[int, Tuple[int, int]]:
    """The aten ops one call of ``fn`` dispatches (and, with ``views``,
    how many of them return a view)."""
    with _OpCounter() as counter:
        fn()
    return (counter.count, counter.views) if views else counter.count
