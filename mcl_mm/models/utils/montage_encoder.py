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


def encode_all_outputs(encoder: nn.Sequential,
                       montages: Sequence[torch.Tensor],
                       pyramid_outputs: Sequence[int],
                       scales: Sequence[int]) -> List[torch.Tensor]:
    """The MCL authors' forward: every output of every montage is embedded.

    One backbone pass and one full pyramid pass over the montages of all
    levels together; every pyramid output of every montage is cut into
    cells of the coarsest output's size and ALL cells of one output pass
    the tile head together (one call, so one batch of norm statistics, per
    output), although the loss reads only the cells that are level ``i``'s
    tiles on output ``pyramid_outputs[i]``. Those are returned: the same
    tiles as :func:`encode_montages`, with the authors' batch statistics.

    Args:
        encoder (nn.Sequential): (backbone, neck, tile_head); the neck's
            ``forward`` returns every output, finest first.
        montages (Sequence[torch.Tensor]): One (n_i, C, H, H) batch of
            montages per level.
        pyramid_outputs (Sequence[int]): The pyramid output each level
            reads; level ``i``'s tiles must be the cells of that output
            (the default matching, :func:`match_pyramid_outputs`).
        scales (Sequence[int]): Tiles per side r_i of each level.

    Returns:
        List[torch.Tensor]: One (n_i * r_i**2, D) embedding per level.
    """
    backbone, neck, tile_head = encoder
    maps = neck(backbone(torch.cat(list(montages))))
    cell = maps[-1].size(-1)
    cells = [m.size(-1) // cell for m in maps]
    for i, (r, k) in enumerate(zip(scales, pyramid_outputs)):
        if cells[k] != r:
            raise ValueError(
                f'encode_all_outputs: level {i} (scale {r}) reads pyramid '
                f'output {k}, cut into {cells[k]}x{cells[k]} cells: the '
                "authors' forward needs each level's tiles to be the cells "
                'of its output (the default pyramid_outputs)')
    embedded = [tile_head([m], [c])[0] for m, c in zip(maps, cells)]
    out, start = [], 0
    for m, r, k in zip(montages, scales, pyramid_outputs):
        stop = start + m.size(0)
        out.append(embedded[k][start * r * r:stop * r * r])
        start = stop
    return out
