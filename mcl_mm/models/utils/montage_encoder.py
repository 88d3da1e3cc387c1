# Copyright (c) mcl_mm contributors. All rights reserved.
"""The one-pass encoder shared by MCL and its supervised variant."""
from typing import List, Sequence

import torch
from torch import nn

from .fpn_output import fpn_single_output


def pyramid_output(neck: nn.Module, feats: Sequence[torch.Tensor],
                   index: int) -> torch.Tensor:
    """Output ``index`` of ``neck`` alone: the neck's own ``forward_output``
    where it has one, else :func:`fpn_single_output` (mmdet ``FPN``)."""
    forward_output = getattr(neck, 'forward_output', None)
    if forward_output is not None:
        return forward_output(feats, index)
    return fpn_single_output(neck, feats, index)


def encode_montages(encoder: nn.Sequential, montages: Sequence[torch.Tensor],
                    pyramid_outputs: Sequence[int],
                    scales: Sequence[int]) -> List[torch.Tensor]:
    """Embed every tile of every level with one backbone pass.

    Args:
        encoder (nn.Sequential): (backbone, neck, tile_head).
        montages (Sequence[torch.Tensor]): One (n_i, C, H, H) batch of
            montages per level.
        pyramid_outputs (Sequence[int]): The pyramid output each level
            reads.
        scales (Sequence[int]): Tiles per side r_i of each level.

    Returns:
        List[torch.Tensor]: One (n_i * r_i**2, D) embedding per level.
    """
    backbone, neck, tile_head = encoder
    feats = backbone(torch.cat(list(montages)))
    maps, start = [], 0
    for m, index in zip(montages, pyramid_outputs):
        stop = start + m.size(0)
        maps.append(
            pyramid_output(neck, [f[start:stop] for f in feats], index))
        start = stop
    return tile_head(maps, scales)
