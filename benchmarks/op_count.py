# Copyright (c) mcl_mm contributors. All rights reserved.
"""The aten ops a call dispatches: on a GPU, each one that is not a view
launches at least one kernel, and each sync op makes the host wait for the
device to finish everything queued before it."""
from typing import Callable, Dict, Tuple, Union

import torch
from torch.utils._python_dispatch import TorchDispatchMode

# ops that read a device tensor's value or data-dependent size to the host
# (and ``index`` with a boolean mask, see :func:`is_sync`)
SYNC_OPS = frozenset(
    ('_local_scalar_dense', 'item', 'nonzero', 'masked_select', 'unique',
     '_unique2', 'unique_consecutive', 'equal'))


def is_sync(func, args: tuple) -> bool:
    """Whether an aten op waits for the device: one of :data:`SYNC_OPS`,
    or ``index`` by a boolean mask (its output size is the mask's count)."""
    name = func.overloadpacket.__name__
    if name == 'index':
        return any(
            getattr(i, 'dtype', None) in (torch.bool, torch.uint8)
            for i in args[1])
    return name in SYNC_OPS


def is_decomposition(func) -> bool:
    """Whether an aten op is a singular-value or eigendecomposition
    (``_linalg_svd``, ``_linalg_eigh``, ``linalg_eig``, ...)."""
    name = func.overloadpacket.__name__
    return 'svd' in name or 'eig' in name


class _OpCounter(TorchDispatchMode):
    """Counts the aten ops dispatched inside, those returning a view of an
    input (their schema's first return aliases an argument), the sync ops
    (:func:`is_sync`) and the decompositions (:func:`is_decomposition`)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.views = 0
        self.syncs = 0
        self.decompositions = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        returns = func._schema.returns
        if returns and returns[0].alias_info is not None and \
                not func._schema.is_mutable:
            self.views += 1
        if is_sync(func, args):
            self.syncs += 1
        if is_decomposition(func):
            self.decompositions += 1
        return func(*args, **(kwargs or {}))


def op_counts(fn: Callable[[], object]) -> Dict[str, int]:
    """``ops``, ``views``, ``syncs`` and ``decompositions``: the aten ops
    one call of ``fn`` dispatches, how many of them return a view, how many
    are sync ops (:func:`is_sync`; on the CPU they count although nothing
    waits) and how many are SVDs or eigendecompositions
    (:func:`is_decomposition`)."""
    with _OpCounter() as counter:
        fn()
    return dict(
        ops=counter.count,
        views=counter.views,
        syncs=counter.syncs,
        decompositions=counter.decompositions)


def count_aten_ops(fn: Callable[[], object],
                   views: bool = False) -> Union[int, Tuple[int, int]]:
    """The aten ops one call of ``fn`` dispatches (and, with ``views``,
    how many of them return a view)."""
    counts = op_counts(fn)
    return (counts['ops'], counts['views']) if views else counts['ops']
