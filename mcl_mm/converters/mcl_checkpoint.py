# Copyright (c) mcl_mm contributors. All rights reserved.
"""Read the online network of an MCL checkpoint and describe its layout."""
import re
from typing import Dict, List, Sequence

import torch

from .checkpoint_file import read_checkpoint

REQUIRED = ('backbone.', 'tile_head.')


def load_mcl_state(
        path: str,
        required: Sequence[str] = REQUIRED) -> Dict[str, torch.Tensor]:
    """The online weights of a checkpoint (EMA target / key network
    dropped), read with ``weights_only=True``.

    Args:
        path (str): An MCL checkpoint, or for backbone-only targets any
            mcl_mm / mmpretrain self-supervised checkpoint (e.g. MaskCo).
        required (Sequence[str]): Key prefixes the file must hold; MCL's
            backbone and tile head by default.

    Raises:
        ValueError: Naming the file, if it cannot be read (a
            :class:`CheckpointReadError`) or lacks one of them.
    """
    ckpt = read_checkpoint(path)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{path}: not an MCL checkpoint (no state dict)')
    missing = [p for p in required if not any(k.startswith(p) for k in state)]
    if missing:
        what = ('the backbone and tile head of mcl_mm MCL'
                if 'tile_head.' in required else 'a backbone')
        raise ValueError(
            f'{path}: not an MCL checkpoint: no weights under {missing} '
            f'(expected {what})')
    return {
        k: v
        for k, v in state.items()
        if not k.startswith(('target_net.', 'encoder_k.'))
    }


def stage_channels(state: Dict[str, torch.Tensor]) -> List[int]:
    """Output channels of each stage of ``backbone.``, in order: ResNet
    stages, or the per-stage output norms of mmdet's SwinTransformer."""
    swin = {
        int(m.group(1)): v.shape[0]
        for k, v in state.items()
        for m in [re.match(r'backbone\.norm(\d+)\.weight$', k)] if m
    }
    if swin and 'backbone.patch_embed.projection.weight' in state:
        return [swin[i] for i in sorted(swin)]
    channels = {}
    for key, value in state.items():
        m = re.match(r'backbone\.layer(\d+)\.(\d+)\.conv(\d+)\.weight$', key)
        if m:
            stage, block, conv = (int(g) for g in m.groups())
            best = channels.get(stage)
            if best is None or (block, conv) > best[0]:
                channels[stage] = ((block, conv), value.shape[0])
    return [channels[s][1] for s in sorted(channels)]


def fpn_stages(state: Dict[str, torch.Tensor]) -> Dict[int, int]:
    """Map each MCL FPN lateral index to the backbone stage (0 = C2) it
    reads, found from its input channels."""
    stages = stage_channels(state)
    mapping = {}
    for key, value in state.items():
        m = re.match(r'neck\.lateral_convs\.(\d+)\.conv\.weight$', key)
        if m:
            mapping[int(m.group(1))] = stages.index(value.shape[1])
    return mapping
