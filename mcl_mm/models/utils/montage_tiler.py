# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from mmpretrain.registry import MODELS
from ...montage import MontageGeometry, tiles_to_montages

_MODES = ('nearest', 'area', 'bilinear', 'bicubic')


@MODELS.register_module()
class MontageTiler(nn.Module):
    """Assemble multi-level montages from a batch of images, on the device.

    Level ``i`` shrinks its copies of the batch by ``scales[i]`` (r_i) and
    tiles ``r_i x r_i`` of them into one montage of ``resolution`` pixels.
    Level ``i`` holds ``B * tiles_per_image[i]`` tiles, i.e.
    ``B * tiles_per_image[i] / r_i**2`` montages. Images are assigned to tiles
    by a random permutation of ``range(num_tiles)`` taken modulo ``B``, so an
    image repeats when a level has more tiles than images. Tiles are numbered
    row-major (:func:`tile_origin`): tile ``(row, col)`` of montage ``m`` is
    entry ``m * r * r + row * r + col`` of the returned index.

    ``scales``, ``resolution`` and ``tiles_per_image`` are the montage
    geometry (:attr:`geometry`, a :class:`MontageGeometry`), which the
    model, the data pipeline and the data preprocessor follow (see
    :class:`BaseMontageModel` and :class:`MontageRunner`).

    Args:
        resolution (int): Side of every montage (and of level 0 images).
        scales (Sequence[int]): Scale r_i of each level: its copies shrink
            by r_i, and its montages hold r_i tiles per side. Defaults to
            (1, 2, 4).
        tiles_per_image (Sequence[int] | Dict[int, int], optional): Tiles
            per image, one entry per level, or a mapping from scale to
            tiles (scales it does not name: one; scales not in ``scales``
            are ignored), which stays valid when the scales change; the
            authors' S=4 setting is ``{8: 2}``.
            Defaults to one tile per image at every level.
        mode (str): Interpolation used to shrink a copy that does not already
            have its tile size: 'nearest' (the authors'), 'area', 'bilinear'
            or 'bicubic'. Defaults to 'nearest'.
        boundary_width (int): Tile-boundary smoothing, an ablation knob (the
            paper studies boundary smoothness; this form is ours): within
            ``boundary_width`` pixels of an inner tile border the montage is
            blended with its (2w+1)-box-blurred copy, the blend weight
            falling linearly from 1 at the border to 0 at distance w.
            Defaults to 0 (sharp borders, the authors' montages).
    """

    def __init__(self,
                 resolution: int,
                 scales: Sequence[int] = (1, 2, 4),
                 tiles_per_image: Optional[Sequence[int]] = None,
                 mode: str = 'nearest',
                 boundary_width: int = 0) -> None:
        super().__init__()
        self.geometry = MontageGeometry(resolution, scales, tiles_per_image)
        if mode not in _MODES:
            raise ValueError(f'MontageTiler: `mode` must be one of {_MODES}, '
                             f'got {mode!r}')
        smallest = min(self.geometry.tile_sizes)
        if not 0 <= boundary_width <= smallest // 2:
            raise ValueError(
                f'MontageTiler: boundary_width must be in 0..{smallest // 2} '
                f'(half the smallest tile, {smallest} px), got '
                f'{boundary_width}')
        self.boundary_width = boundary_width
        self.mode = mode

    @property
    def resolution(self) -> int:
        """int: Side of every montage (:attr:`geometry`)."""
        return self.geometry.resolution

    @property
    def scales(self) -> Tuple[int, ...]:
        """Tuple[int, ...]: r_i of each level (:attr:`geometry`)."""
        return self.geometry.scales

    @property
    def tiles_per_image(self) -> Tuple[int, ...]:
        """Tuple[int, ...]: Tiles per image of each level."""
        return self.geometry.tiles_per_image

    @property
    def num_levels(self) -> int:
        """int: Number of montage levels S."""
        return self.geometry.num_levels

    @property
    def batch_multiple(self) -> int:
        """int: The smallest batch size that fits every level."""
        return self.geometry.batch_multiple

    def num_montages(self, batch_size: int) -> List[int]:
        """Montages per level (:meth:`MontageGeometry.num_montages`)."""
        return self.geometry.num_montages(batch_size)

    def tile_size(self, level: int) -> int:
        """int: Side in pixels of a tile of ``level``."""
        return self.geometry.tile_size(level)

    def resize(self, x: torch.Tensor, level: int) -> torch.Tensor:
        """Resize a (B, C, h, w) batch to the tile size of ``level`` with
        ``mode``; a batch that already has it is returned as it is."""
        t = self.tile_size(level)
        if x.shape[-2:] == (t, t):
            return x
        extra = {} if self.mode in ('nearest',
                                    'area') else dict(align_corners=False)
        return F.interpolate(x, size=(t, t), mode=self.mode, **extra)

    def forward(
        self, images: Sequence[torch.Tensor]
    ) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        """Tile one view of a batch into montages, level by level.

        Args:
            images (Sequence[torch.Tensor]): One (B, C, h_i, w_i) batch per
                level, independently augmented copies of the same B images.
                A copy whose side is not the level's tile size is resized to
                it with ``mode``.

        Returns:
            tuple: ``montages``, a list with one (n_i, C, H, H) tensor per
            level, and ``tile_index``, a list with one (n_i * r_i**2,) long
            tensor per level giving the image index of each tile, row-major.
        """
        if len(images) != self.num_levels:
            raise ValueError(f'MontageTiler: expected one image batch per '
                             f'level ({self.num_levels}), got {len(images)}')
        batch_size = images[0].size(0)
        counts = self.num_montages(batch_size)
        montages, tile_index = [], []
        for level, (x, n) in enumerate(zip(images, counts)):
            r = self.scales[level]
            if x.size(0) != batch_size:
                raise ValueError(
                    f'MontageTiler: level {level} has {x.size(0)} images, '
                    f'level 0 has {batch_size}')
            x = self.resize(x, level)
            index = torch.randperm(n * r * r, device=x.device) % batch_size
            montage = tiles_to_montages(x[index], r)
            if self.boundary_width and r > 1:
                montage = self.smooth_borders(montage, r)
            montages.append(montage)
            tile_index.append(index)
        return montages, tile_index

    def smooth_borders(self, montage: torch.Tensor, r: int) -> torch.Tensor:
        """Blend the bands along the inner borders of ``r x r`` tiles with
        a box-blurred copy (see ``boundary_width``)."""
        w = self.boundary_width
        size = montage.size(-1)
        pos = torch.arange(size, device=montage.device) + 0.5
        borders = torch.arange(1, r, device=montage.device) * (size // r)
        dist = (pos[:, None] - borders[None]).abs().min(1).values
        weight = (1 - dist / w).clamp(min=0)
        mask = torch.maximum(weight[:, None],
                             weight[None, :]).to(montage.dtype)
        blur = F.avg_pool2d(
            montage, 2 * w + 1, stride=1, padding=w, count_include_pad=False)
        return montage + mask * (blur - montage)

    def extra_repr(self) -> str:
        return (f'resolution={self.resolution}, scales={self.scales}, '
                f'tiles_per_image={self.tiles_per_image}, mode={self.mode!r}, '
                f'boundary_width={self.boundary_width}')
