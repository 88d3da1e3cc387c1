# Copyright (c) mcl_mm contributors. All rights reserved.
"""Pre-train with an mmcv built without its compiled ops.

mmcv installed without ops (``MMCV_WITH_OPS=0``, or from an sdist on a
machine without a compiler) has no ``mmcv._ext``, and ``import
mmdet.models``, which mcl_mm needs for mmdet's FPN, imports ``mmcv.ops``,
which loads it. MCL, SS-PRL and BYOL pre-training call none of those ops.
:func:`stand_in_for_missing_ops` puts a module in ``mmcv._ext``'s place
whose every op raises an error naming the op and the fix, with one logged
line; an ``mmcv._ext`` that exists but fails to load is left to fail.
"""
import importlib
import logging
import sys
import types

from mmengine.logging import print_log

#: What an op of the stand-in says when it is called.
MISSING_OP = ('mmcv op {name} is not compiled in this mmcv: pre-training '
              'MCL, SS-PRL or BYOL needs none; MaskCo, the dense probe and '
              'mmdet transfer do: build mmcv with its ops (make setup-gpu, '
              'or tools/setup_env.sh on the CPU)')


def _missing_ops_module() -> types.ModuleType:
    module = types.ModuleType('mmcv._ext', 'mcl_mm: mmcv without its ops')

    def op(name: str):
        if name.startswith('__'):  # module attributes, not ops
            raise AttributeError(name)

        def missing(*args, **kwargs):
            raise RuntimeError(MISSING_OP.format(name=name))

        missing.__name__ = name
        return missing

    module.__getattr__ = op
    return module


def stand_in_for_missing_ops() -> bool:
    """Put a stand-in in ``mmcv._ext``'s place when mmcv has none.

    Returns:
        bool: Whether the stand-in was put there.
    """
    if 'mmcv._ext' in sys.modules:
        return False
    try:
        importlib.import_module('mmcv._ext')
        return False
    except ModuleNotFoundError as err:
        if err.name != 'mmcv._ext':
            raise
    sys.modules['mmcv._ext'] = _missing_ops_module()
    print_log(
        'mcl_mm: this mmcv has no compiled ops (mmcv._ext): pre-training '
        'runs; an op called raises an error naming it',
        logger='current',
        level=logging.WARNING)
    return True
