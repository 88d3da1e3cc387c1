# Copyright (c) mcl_mm contributors. All rights reserved.
"""Where views and tiles sit.

- the view order: :func:`view_index` (where MontageAssembly puts a view)
  and :func:`split_views` (how a model takes them apart);
- the tile layout: :func:`tile_origin`, :func:`tiles_to_montages` and its
  inverse :func:`montages_to_tiles`, both one ``_LAYOUT`` permutation.
"""
from typing import List, Sequence, Tuple

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
