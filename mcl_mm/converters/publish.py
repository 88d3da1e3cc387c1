# Copyright (c) mcl_mm contributors. All rights reserved.
"""Strip a training checkpoint for release, as OpenMMLab publishes models.

Keeps the online weights and ``meta`` (config text, epoch, iteration); drops
the optimizer, the schedulers, the message hub and the EMA target / momentum
key network, and names the file ``{out_stem}-{sha256[:8]}.pth``.
"""
import hashlib
import io

import torch

from ..fileio import atomic_write
from .checkpoint_file import read_checkpoint
from .state_dict import default_format

# MCL's EMA target and MaskCo's momentum key network
DROPPED_PREFIXES = ('target_net.', 'encoder_k.')


def publish(src: str, out: str) -> str:
    """Write the stripped checkpoint and return its final path.

    Args:
        src (str): A training checkpoint (mmengine, ``state_dict`` inside).
        out (str): Output path; ``-{sha256[:8]}`` is put before ``.pth``.

    Returns:
        str: The path written.

    Raises:
        CheckpointReadError: Naming ``src``, if it cannot be read or holds
            objects the safe loader refuses.
        ValueError: Naming ``src``, if it holds no ``state_dict``.
    """
    ckpt = read_checkpoint(src)
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
        raise ValueError(f'{src}: expected an mmengine checkpoint with a '
                         f'state_dict, got keys {list(ckpt)[:5]}')
    state = default_format({
        k: v
        for k, v in ckpt['state_dict'].items()
        if not k.startswith(DROPPED_PREFIXES)
    })
    meta = {
        k: v
        for k, v in ckpt.get('meta', {}).items()
        if isinstance(v, (str, int, float, bool))
    }
    stem = out[:-4] if out.endswith('.pth') else out
    with io.BytesIO() as f:
        torch.save(dict(state_dict=state, meta=meta), f)
        data = f.getvalue()
    final = f'{stem}-{hashlib.sha256(data).hexdigest()[:8]}.pth'
    atomic_write(final, data)
    return final
