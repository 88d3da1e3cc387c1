# Copyright (c) mcl_mm contributors. All rights reserved.
"""The montage geometry in one place.

Everything that knows how views are ordered, how tiles sit in a montage and
which pyramid output a level reads calls the functions of this module:

- the view order: :func:`view_index` (where MontageAssembly puts a view)
  and :func:`split_views` (how a model takes them apart);
- the tile layout: :func:`tile_origin`, :func:`tiles_to_montages` and its
  inverse :func:`montages_to_tiles`, both one ``_LAYOUT`` permutation;
- the pyramid: :func:`match_pyramid_outputs` (the output each level reads)
  and :func:`select_pyramid` (backbone and neck built on just those).
"""
import copy
import warnings
from typing import List, Optional, Sequence, Tuple, Union

import torch

# (montage, channel, tile row, pixel row, tile col, pixel col) of a montage
# viewed as (n, c, r, t, r, t) <-> (montage, tile row, tile col, channel,
# pixel row, pixel col) of its tiles in row-major order.
_LAYOUT = (0, 2, 4, 1, 3, 5)
_INVERSE = tuple(_LAYOUT.index(i) for i in range(6))


def view_index(pipeline: int, level: int, num_levels: int) -> int:
    """Position of a view in the list MontageAssembly makes.

    The order is ``[A_0, ..., A_{S-1}, B_0, ..., B_{S-1}]``: pipeline-major,
    then level.

    Args:
        pipeline (int): 0 for view A, 1 for view B.
        level (int): Montage level.
        num_levels (int): Number of montage levels S.

    Returns:
        int: The index of that view.
    """
    return pipeline * num_levels + level


def split_views(inputs: Sequence[torch.Tensor],
                num_levels: int,
                num_pipelines: int,
                owner: str = 'MCL') -> List[List[torch.Tensor]]:
    """Split the view batches of :func:`view_index` order per pipeline.

    Args:
        inputs (Sequence[torch.Tensor]): ``num_pipelines * num_levels``
            batches.
        num_levels (int): Number of montage levels S.
        num_pipelines (int): View pipelines (2 for MCL, 1 supervised).
        owner (str): Name used in the error message.

    Returns:
        List[List[torch.Tensor]]: One list of S batches per pipeline.

    Raises:
        ValueError: If ``inputs`` is not a list of that many batches.
    """
    expected = num_pipelines * num_levels
    if not isinstance(inputs, (list, tuple)) or len(inputs) != expected:
        got = len(inputs) if isinstance(inputs, (list, tuple)) else \
            type(inputs).__name__
        raise ValueError(
            f'{owner}: expected {num_pipelines} x {num_levels} view batches '
            f'from MontageAssembly(num_levels={num_levels}) with '
            f'{num_pipelines} view pipeline(s), got {got}')
    return [[
        inputs[view_index(p, level, num_levels)] for level in range(num_levels)
    ] for p in range(num_pipelines)]


def tile_origin(k: int, scale: int, tile_size: int) -> Tuple[int, int]:
    """Top-left pixel (y, x) of tile ``k`` in its montage.

    Tiles are numbered row-major: tile ``k`` of montage ``m`` is entry
    ``m * r * r + k`` of a level's tile index.

    Args:
        k (int): Tile number within the montage, ``0 <= k < r * r``.
        scale (int): Tiles per side r.
        tile_size (int): Side of a tile in pixels (or cells).

    Returns:
        Tuple[int, int]: Row and column of the tile's first pixel.
    """
    return (k // scale) * tile_size, (k % scale) * tile_size


def tiles_to_montages(tiles: torch.Tensor, scale: int) -> torch.Tensor:
    """Pack ``r * r`` consecutive tiles into one montage, row-major.

    Args:
        tiles (torch.Tensor): (n * r * r, C, t, t) tiles.
        scale (int): Tiles per side r.

    Returns:
        torch.Tensor: (n, C, r * t, r * t) montages.
    """
    num, c, t, _ = tiles.shape
    n = num // (scale * scale)
    return tiles.view(n, scale, scale, c, t,
                      t).permute(*_INVERSE).reshape(n, c, scale * t, scale * t)


def montages_to_tiles(feat: torch.Tensor, scale: int) -> torch.Tensor:
    """Cut each map into its ``r x r`` tiles, the inverse of
    :func:`tiles_to_montages`.

    Args:
        feat (torch.Tensor): (N, C, H, W) montages or their feature maps.
        scale (int): Tiles per side r.

    Returns:
        torch.Tensor: (N * r * r, C, H / r, W / r) tiles, row-major.
    """
    n, c, h, w = feat.shape
    if h % scale or w % scale:
        raise ValueError(
            f'montages_to_tiles: a {h}x{w} map does not split into '
            f'{scale}x{scale} tiles of whole cells')
    th, tw = h // scale, w // scale
    return feat.view(n, c, scale, th, scale,
                     tw).permute(*_LAYOUT).reshape(n * scale * scale, c, th,
                                                   tw)


def match_pyramid_outputs(scales: Sequence[int],
                          resolution: int,
                          strides: Sequence[int],
                          outputs: Optional[Union[int, Sequence[int]]] = None,
                          owner: str = 'MCL') -> List[int]:
    """The pyramid output each montage level reads.

    By default level ``i`` (r_i tiles per side) reads the output of stride
    ``strides[-1] / r_i``, on which its tiles cover as many cells as a
    level-0 image covers on the coarsest output. Explicit ``outputs`` (the
    ablation knob) may read any outputs; the tiles of different levels then
    cover different numbers of cells.

    Args:
        scales (Sequence[int]): r_i of each level.
        resolution (int): Side of a montage in pixels.
        strides (Sequence[int]): Stride of each pyramid output, finest
            first.
        outputs (int | Sequence[int], optional): Explicit output per level,
            or one output for every level.
        owner (str): Name used in error messages.

    Returns:
        List[int]: The output index each level reads.
    """
    strides = list(strides)
    if isinstance(outputs, int):
        outputs = [outputs] * len(scales)
    if outputs is None:
        outputs = []
        for i, r in enumerate(scales):
            if strides[-1] / r not in strides:
                raise ValueError(
                    f'{owner}: level {i} (scale {r}) needs a pyramid output '
                    f'of stride {strides[-1]}/{r}; the pyramid has strides '
                    f'{tuple(strides)}')
            outputs.append(strides.index(strides[-1] / r))
    elif len(outputs) != len(scales):
        raise ValueError(
            f'{owner}: pyramid_outputs {tuple(outputs)} needs one output '
            f'per level: expected {len(scales)}, got {len(outputs)}')
    for i, (r, k) in enumerate(zip(scales, outputs)):
        if not 0 <= k < len(strides):
            raise ValueError(f'{owner}: pyramid_outputs[{i}]={k} is outside '
                             f'the outputs 0..{len(strides) - 1}')
        if (resolution // r) % strides[k]:
            raise ValueError(
                f'{owner}: resolution {resolution} does not fit level {i}: '
                f'its {resolution // r}-px tiles do not land on whole '
                f'{strides[k]}-px cells of pyramid output {k}; use a '
                f'resolution divisible by {strides[-1]}')
    return list(outputs)


def select_pyramid(backbone: dict,
                   neck: dict,
                   strides: Sequence[int],
                   outputs: Sequence[int],
                   explicit: bool = False,
                   owner: str = 'MCL') -> Tuple[dict, dict, List[int]]:
    """Build the pyramid on just the outputs the levels read.

    The config describes the full pyramid (one stride per output; an FPN's
    ``in_channels`` and the backbone's ``out_indices`` with one entry per
    output, or a :class:`C4Pyramid`'s ``strides``). The kept outputs run
    from the finest one a level reads up to the coarsest, because an FPN
    output depends on every coarser stage. Outputs no level reads would get
    no gradient, which DDP refuses: with the default matching they are an
    error (the scales skip an output), with explicit outputs a warning.

    Args:
        backbone (dict): Backbone config.
        neck (dict): Neck config (``mmdet.FPN`` or :class:`C4Pyramid`).
        strides (Sequence[int]): Stride of each output of the full pyramid.
        outputs (Sequence[int]): The output each level reads, indices into
            the full pyramid.
        explicit (bool): Whether ``outputs`` were set by hand (the ablation
            knob): unread outputs then only warn.
        owner (str): Name used in error messages.

    Returns:
        tuple: The backbone and neck configs (copies) and the output each
        level reads in the kept pyramid.
    """
    backbone, neck = copy.deepcopy(backbone), copy.deepcopy(neck)
    num = len(strides)
    first = min(outputs)
    kept = list(range(first, num))
    for key in ('in_channels', 'strides'):
        if key in neck:
            if len(neck[key]) != num:
                raise ValueError(
                    f'{owner}: neck.{key} {tuple(neck[key])} needs one entry '
                    f'per pyramid output: pyramid_strides {tuple(strides)}')
            neck[key] = [neck[key][k] for k in kept]
    if 'num_outs' in neck:
        neck['num_outs'] = len(kept)
    indices = backbone.get('out_indices')
    if indices is not None and len(indices) == num and 'in_channels' in neck:
        backbone['out_indices'] = tuple(indices[k] for k in kept)
    unused = sorted(set(kept) - set(outputs))
    if unused:
        message = (
            f'{owner}: pyramid outputs {unused} (strides '
            f'{[strides[k] for k in unused]}) are read by no level; their '
            'weights would get no gradient, which DDP refuses')
        if not explicit:
            raise ValueError(
                message + ': the montage scales skip a pyramid output; use '
                'scales whose outputs are contiguous, e.g. (1, 2, 4)')
        warnings.warn(message + ': train with model_wrapper_cfg=dict('
                      'type="MMDistributedDataParallel", '
                      'find_unused_parameters=True)')
    return backbone, neck, [k - first for k in outputs]
