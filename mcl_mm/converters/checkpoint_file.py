# Copyright (c) mcl_mm contributors. All rights reserved.
"""Read any released checkpoint file with the safe loader on.

``torch.save`` files (zip or legacy) go through ``torch.load(weights_only=
True)`` with mcl_mm's allow-list (:func:`register_safe_globals`). detectron2
``.pkl`` files are plain pickles of numpy arrays, which ``torch.load`` does
not read: :class:`ArrayUnpickler` reads them with the same kind of
allow-list (numpy arrays, dtypes and scalars, ordered dicts), refusing any
other object.
"""
import collections
import io
import pickle
import zipfile
from typing import Any

import torch

from ..utils.safe_load import numpy_globals


class ArrayUnpickler(pickle.Unpickler):
    """A pickle reader that builds only numpy arrays, numpy scalars and
    dtypes, ordered dicts and the plain Python containers."""

    ALLOWED = {
        (getattr(obj, '__module__', ''), getattr(obj, '__name__', '')): obj
        for obj in [*numpy_globals(), collections.OrderedDict]
    }

    def find_class(self, module: str, name: str) -> Any:
        # numpy 2 moved numpy.core to numpy._core; pickles name either
        for alias in (module, module.replace('numpy.core', 'numpy._core'),
                      module.replace('numpy._core', 'numpy.core')):
            if (alias, name) in self.ALLOWED:
                return self.ALLOWED[(alias, name)]
        raise pickle.UnpicklingError(
            f'refusing {module}.{name} in a checkpoint: only numpy arrays, '
            'dtypes and scalars and plain containers are allowed')


def read_checkpoint(path: str) -> Any:
    """The object stored in ``path``, read with an allow-list.

    Args:
        path (str): A ``torch.save`` file (``.pth``) or a pickle (``.pkl``).

    Returns:
        Any: What the file holds.

    Raises:
        pickle.UnpicklingError: Naming the file, if it holds an object the
            allow-lists do not name.
    """
    if not zipfile.is_zipfile(path):
        with open(path, 'rb') as f:
            data = f.read()
        try:
            first = ArrayUnpickler(io.BytesIO(data)).load()
        except pickle.UnpicklingError as err:
            raise pickle.UnpicklingError(f'{path}: {err}') from None
        if not isinstance(first, int):  # a plain pickle, not legacy torch
            return first
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        raise pickle.UnpicklingError(
            f'{path}: {str(err).splitlines()[0]} (mcl_mm reads checkpoints '
            'with weights_only=True and allows only the types it names)'
        ) from None
