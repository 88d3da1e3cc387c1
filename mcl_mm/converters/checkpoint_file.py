# Copyright (c) mcl_mm contributors. All rights reserved.
"""Read any released checkpoint file with the safe loader on.

``torch.save`` files (zip or legacy) go through ``torch.load(weights_only=
True)`` with mcl_mm's allow-list (:func:`register_safe_globals`). detectron2
``.pkl`` files are plain pickles of numpy arrays, which ``torch.load`` does
not read: :class:`ArrayUnpickler` reads them with the same kind of
allow-list (numpy arrays, dtypes and scalars, ordered dicts), refusing any
other object. Every failure names the file.
"""
import collections
import io
import os.path as osp
import pickle
import re
import zipfile
from typing import Any

import torch

from ..utils.safe_load import numpy_globals

ZIP_MAGIC = b'PK\x03\x04'


class CheckpointReadError(ValueError):
    """A checkpoint file that cannot be read: missing, empty, truncated or
    damaged. The message starts with the file's path."""


class CheckpointRefusedError(CheckpointReadError, pickle.UnpicklingError):
    """A checkpoint file holding an object the allow-lists do not name (it
    is not built, so no code in it runs)."""


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
        raise CheckpointRefusedError(
            f'refusing {module}.{name} in a checkpoint: only numpy arrays, '
            'dtypes and scalars and plain containers are allowed')


def _first_line(err: BaseException) -> str:
    """``Type: first line of the message``."""
    text = str(err).strip().splitlines()
    return f'{type(err).__name__}: {text[0] if text else ""}'.rstrip(': ')


def _weights_only_reason(err: pickle.UnpicklingError) -> str:
    """The first sentence of what torch's weights-only unpickler objected
    to, without the advice torch puts around it."""
    text = str(err)
    found = re.search(r'WeightsUnpickler error:\s*(.+)', text)
    if found:
        reason = found.group(1)
    else:  # advice, blank line, the unpickler's message, blank line, docs
        parts = [p.strip() for p in text.split('\n\n') if p.strip()]
        reason = parts[1] if len(parts) > 2 else parts[0].splitlines()[0]
    reason = reason.replace('Weights only load failed. ', '')
    return reason.split('. ')[0].rstrip('.')


def _read_plain_pickle(path: str) -> Any:
    """The first object pickled in ``path`` (:class:`ArrayUnpickler`)."""
    with open(path, 'rb') as f:
        data = f.read()
    if not data:
        raise CheckpointReadError(f'{path}: empty file (0 bytes)')
    if data.startswith(ZIP_MAGIC):
        raise CheckpointReadError(
            f'{path}: truncated or damaged ({len(data)} bytes; a zip '
            'checkpoint without its central directory, as a write cut '
            'short leaves it)')
    try:
        return ArrayUnpickler(io.BytesIO(data)).load()
    except CheckpointRefusedError as err:
        raise CheckpointRefusedError(f'{path}: {err}') from None
    except Exception as err:  # EOFError, UnpicklingError of a cut pickle
        raise CheckpointReadError(f'{path}: not a readable pickle '
                                  f'({_first_line(err)})') from None


def read_checkpoint(path: str) -> Any:
    """The object stored in ``path``, read with an allow-list.

    Args:
        path (str): A ``torch.save`` file (``.pth``) or a pickle (``.pkl``).

    Returns:
        Any: What the file holds.

    Raises:
        CheckpointRefusedError: Naming the file, if it holds an object the
            allow-lists do not name (also a ``pickle.UnpicklingError``).
        CheckpointReadError: Naming the file, if it is missing, empty,
            truncated or otherwise not a checkpoint (a ``ValueError``).
    """
    if not osp.isfile(path):
        raise CheckpointReadError(f'{path}: no such file')
    if not zipfile.is_zipfile(path):
        first = _read_plain_pickle(path)
        if not isinstance(first, int):  # a plain pickle, not legacy torch
            return first
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointRefusedError(
            f'{path}: refused ({_weights_only_reason(err)}; mcl_mm reads '
            'checkpoints with weights_only=True and allows only the types '
            'it names)') from None
    except Exception as err:  # torch's RuntimeError / EOFError on bad data
        raise CheckpointReadError(
            f'{path}: truncated or damaged ({_first_line(err)})') from None
