# Copyright (c) mcl_mm contributors. All rights reserved.
"""Which pyramid output each montage level reads, and the one-pass encoder
shared by MCL and its supervised variant."""
import warnings
from typing import List, Optional, Sequence

import torch
from torch import nn

from .fpn_level import fpn_single_level


def match_pyramid_levels(scales: Sequence[int],
                         resolution: int,
                         strides: Sequence[int],
                         num_outs: int,
                         levels: Optional[Sequence[int]] = None,
                         owner: str = 'MCL') -> List[int]:
    """The pyramid output each montage level reads.

    By default level ``i`` (r_i tiles per side) reads the output of stride
    ``strides[-1] / r_i``, on which its tiles cover as many cells as a
    level-0 image covers on the coarsest output, and every output must be
    read by some level (unused weights break DDP). Explicit ``levels`` (the
    ablation knob) may read any outputs; the tiles of different levels may
    then cover different numbers of cells, and outputs read by no level
    only warn (DDP then needs ``find_unused_parameters=True``).

    Args:
        scales (Sequence[int]): r_i of each level.
        resolution (int): Side of a montage in pixels.
        strides (Sequence[int]): Stride of each pyramid output, finest
            first.
        num_outs (int): Outputs the neck has.
        levels (Sequence[int], optional): Explicit output per level.
        owner (str): Name used in error messages.

    Returns:
        List[int]: The output index each level reads.
    """
    strides = list(strides)
    explicit = levels is not None
    if len(strides) != num_outs:
        raise ValueError(
            f'{owner}: pyramid_strides {tuple(strides)} names '
            f'{len(strides)} outputs but the neck has {num_outs}')
    if levels is None:
        levels = []
        for i, r in enumerate(scales):
            if strides[-1] / r not in strides:
                raise ValueError(
                    f'{owner}: level {i} (scale {r}) needs a pyramid output '
                    f'of stride {strides[-1]}/{r}; the pyramid has strides '
                    f'{tuple(strides)}')
            levels.append(strides.index(strides[-1] / r))
    elif len(levels) != len(scales):
        raise ValueError(
            f'{owner}: pyramid_levels {tuple(levels)} needs one output per '
            f'level: expected {len(scales)}, got {len(levels)}')
    for i, (r, k) in enumerate(zip(scales, levels)):
        if not 0 <= k < num_outs:
            raise ValueError(f'{owner}: pyramid_levels[{i}]={k} is outside '
                             f'the outputs 0..{num_outs - 1}')
        if (resolution // r) % strides[k]:
            raise ValueError(
                f'{owner}: resolution {resolution} does not fit level {i}: '
                f'its {resolution // r}-px tiles do not land on whole '
                f'{strides[k]}-px cells of pyramid output {k}; use a '
                f'resolution divisible by {strides[-1]}')
    unused = sorted(set(range(num_outs)) - set(levels))
    if unused:
        message = (
            f'{owner}: pyramid outputs {unused} (strides '
            f'{[strides[k] for k in unused]}) are read by no level '
            f'(scales {tuple(scales)}); their weights would get no '
            'gradient, which DDP refuses')
        if explicit:
            warnings.warn(message + ': train with model_wrapper_cfg=dict('
                          'type="MMDistributedDataParallel", '
                          'find_unused_parameters=True)')
        else:
            raise ValueError(
                message + '. Build the FPN from the stages the levels use, '
                'e.g. for S=3: backbone out_indices=(1, 2, 3), neck '
                'in_channels of C3-C5, pyramid_strides=(8, 16, 32)')
    return list(levels)


def pyramid_output(neck: nn.Module, feats: Sequence[torch.Tensor],
                   level: int) -> torch.Tensor:
    """Output ``level`` of ``neck`` alone: the neck's own ``forward_level``
    where it has one, else :func:`fpn_single_level` (mmdet ``FPN``)."""
    forward_level = getattr(neck, 'forward_level', None)
    if forward_level is not None:
        return forward_level(feats, level)
    return fpn_single_level(neck, feats, level)


def encode_montages(encoder: nn.Sequential, montages: Sequence[torch.Tensor],
                    pyramid_levels: Sequence[int],
                    scales: Sequence[int]) -> List[torch.Tensor]:
    """Embed every tile of every level with one backbone pass.

    Args:
        encoder (nn.Sequential): (backbone, neck, tile_head).
        montages (Sequence[torch.Tensor]): One (n_i, C, H, H) batch of
            montages per level.
        pyramid_levels (Sequence[int]): The pyramid output each level reads.
        scales (Sequence[int]): Tiles per side of each level.

    Returns:
        List[torch.Tensor]: One (n_i * r_i**2, D) embedding per level.
    """
    backbone, neck, tile_head = encoder
    feats = backbone(torch.cat(list(montages)))
    maps, start = [], 0
    for m, level in zip(montages, pyramid_levels):
        stop = start + m.size(0)
        maps.append(
            pyramid_output(neck, [f[start:stop] for f in feats], level))
        start = stop
    return tile_head(maps, scales)
