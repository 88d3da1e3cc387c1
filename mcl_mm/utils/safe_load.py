# Copyright (c) mcl_mm contributors. All rights reserved.
"""Let mmengine checkpoints load with ``torch.load(weights_only=True)``.

torch >= 2.6 unpickles with ``weights_only=True`` by default, and mmengine
0.10.7 calls ``torch.load`` without the argument, so resuming from its own
checkpoints fails on the few non-tensor objects it stores: the
``HistoryBuffer`` of the message hub and the numpy arrays, scalars and
dtypes inside it. Allow-listing exactly those types keeps the safe loader on
for every other object: a checkpoint carrying anything else is still refused.

A pickled ``HistoryBuffer`` also names its statistics methods as
``getattr(HistoryBuffer, 'mean')``. ``getattr`` itself cannot be allowed (it
reaches any attribute of any allowed object), so the name ``builtins.getattr``
is bound to :func:`history_buffer_method`, which resolves only those methods.
"""
import argparse
import pickle
from typing import Callable, List

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def numpy_globals() -> List[object]:
    """The numpy callables and classes that pickled arrays/scalars name."""
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [
        type(np.dtype(name))
        for name in ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8',
                     'uint16', 'uint32', 'uint64', 'float16', 'float32',
                     'float64')
    ]
    return [_reconstruct, scalar, np.ndarray, np.dtype, *dtype_classes]


def history_buffer_method(obj: object, name: str) -> Callable:
    """Stand-in for ``getattr`` while unpickling: only the statistics
    methods of ``HistoryBuffer`` (min, max, current, mean and those
    registered on the class) resolve.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    method = HistoryBuffer.__dict__.get(name) if obj is HistoryBuffer else None
    if name not in HistoryBuffer._statistics_methods or not callable(method):
        raise pickle.UnpicklingError(
            f'refusing getattr({getattr(obj, "__name__", type(obj).__name__)}'
            f', {name!r}) in a checkpoint: only the statistics methods of '
            'mmengine HistoryBuffer are allowed')
    return getattr(HistoryBuffer, name)


def mmengine_safe_globals() -> List[object]:
    """list: The non-tensor types that mmengine 0.10.7 checkpoints hold,
    and ``argparse.Namespace``, the options SoCo's released checkpoints
    store under ``opt`` (a plain attribute holder)."""
    return [
        argparse.Namespace, HistoryBuffer,
        (history_buffer_method, 'builtins.getattr'), *numpy_globals()
    ]


def register_safe_globals() -> None:
    """Allow-list :func:`mmengine_safe_globals` for ``torch.load``."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch >= 2.4; older torch loads unrestricted
        HistoryBuffer()  # fills the class's default statistics methods
        add(mmengine_safe_globals())
