# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import List, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform, Compose

from mmpretrain.registry import TRANSFORMS
from .crop_box import random_crop_box


@TRANSFORMS.register_module()
class PyramidViews(BaseTransform):
    """SS-PRL's pyramid of views.

    Grid 0 is SwAV's multi-crop: ``num_global`` crops of ``global_size``
    (area ``global_area``) and ``num_small`` crops of ``small_size`` (area
    ``small_area``); only the first two make codes. Each local grid ``s``
    takes ONE crop of the whole image (area ``local_area``), resizes it to
    ``local_sizes[s]``, splits it into a ``grids[s] x grids[s]`` grid and
    draws, for each of the two views, a random ``patch_sizes[s]`` crop
    inside every cell: patch ``k`` of view 0 and of view 1 come from cell
    ``k`` (row-major), the positive pair. Every crop and patch then goes
    through ``transforms`` (flip and colour) with its own random draw.

    Output ``img``: the global crops, the small crops, then per local grid
    the ``g^2`` patches of view 0 followed by those of view 1.

    Args:
        transforms (List[dict]): Per-view pipeline (no resizing crops).
        num_global (int): 224 crops. Defaults to 2.
        num_small (int): 96 crops. Defaults to 6.
        global_size (int): Defaults to 224.
        small_size (int): Defaults to 96.
        global_area (Sequence[float]): Defaults to (0.14, 1.0).
        small_area (Sequence[float]): Defaults to (0.05, 0.14).
        local_area (Sequence[float]): Area of a local grid's crop.
            Defaults to (0.6, 1.0).
        local_sizes (Sequence[int]): Resized side per local grid.
            Defaults to (314, 383).
        grids (Sequence[int]): Cells per side per local grid. Defaults to
            (2, 3).
        patch_sizes (Sequence[int]): Patch side per local grid. Defaults to
            (112, 96).
    """

    def __init__(
        self,
        transforms: List[dict],
        num_global: int = 2,
        num_small: int = 6,
        global_size: int = 224,
        small_size: int = 96,
        global_area: Sequence[float] = (0.14, 1.0),
        small_area: Sequence[float] = (0.05, 0.14),
        local_area: Sequence[float] = (0.6, 1.0),
        local_sizes: Sequence[int] = (314, 383),
        grids: Sequence[int] = (2, 3),
        patch_sizes: Sequence[int] = (112, 96)
    ) -> None:
        if not len(local_sizes) == len(grids) == len(patch_sizes):
            raise ValueError(
                'PyramidViews: local_sizes, grids and patch_sizes need one '
                f'entry per local grid, got {len(local_sizes)}, '
                f'{len(grids)} and {len(patch_sizes)}')
        for size, g, p in zip(local_sizes, grids, patch_sizes):
            if p > size // g:
                raise ValueError(
                    f'PyramidViews: a {p}-px patch does not fit the '
                    f'{size // g}-px cells of a {size}-px crop split {g}x{g}')
        self.pipeline = Compose(transforms)
        self.num_global = num_global
        self.num_small = num_small
        self.global_size = global_size
        self.small_size = small_size
        self.global_area = global_area
        self.small_area = small_area
        self.local_area = local_area
        self.local_sizes = tuple(local_sizes)
        self.grids = tuple(grids)
        self.patch_sizes = tuple(patch_sizes)

    @property
    def num_patches(self) -> Tuple[int, ...]:
        """Patches per view of each local grid (g^2)."""
        return tuple(g * g for g in self.grids)

    @staticmethod
    def _crop(img: np.ndarray, area: Sequence[float], size: int) -> np.ndarray:
        x1, y1, x2, y2 = random_crop_box(*img.shape[:2], area)
        return cv2.resize(
            img[y1:y2, x1:x2], (size, size), interpolation=cv2.INTER_CUBIC)

    def _augment(self, view: np.ndarray, results: dict) -> np.ndarray:
        inputs = {k: v for k, v in results.items() if k != 'img'}
        inputs.update(img=view, img_shape=view.shape[:2])
        return self.pipeline(inputs)['img']

    def transform(self, results: dict) -> dict:
        img = results['img']
        views = [
            self._crop(img, self.global_area, self.global_size)
            for _ in range(self.num_global)
        ]
        views += [
            self._crop(img, self.small_area, self.small_size)
            for _ in range(self.num_small)
        ]
        for size, g, p in zip(self.local_sizes, self.grids, self.patch_sizes):
            crop = self._crop(img, self.local_area, size)
            cell = size // g
            for _ in range(2):  # view 0, view 1: same cells, new sub-crops
                for k in range(g * g):
                    y0, x0 = (k // g) * cell, (k % g) * cell
                    dy, dx = np.random.randint(0, cell - p + 1, size=2)
                    views.append(crop[y0 + dy:y0 + dy + p,
                                      x0 + dx:x0 + dx + p])
        results['img'] = [self._augment(v.copy(), results) for v in views]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(global={self.num_global}x'
                f'{self.global_size}, small={self.num_small}x'
                f'{self.small_size}, grids={self.grids}, patches='
                f'{self.patch_sizes})')
