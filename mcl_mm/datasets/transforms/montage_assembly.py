# Copyright (c) mcl_mm contributors. All rights reserved.
import copy
from typing import List, Optional, Sequence

import cv2
import numpy as np
from mmcv.transforms import Compose

from mmpretrain.datasets.transforms import MultiView
from mmpretrain.registry import TRANSFORMS
from ...models.utils.montage_geometry import view_index

BLUR_TYPES = ('GaussianBlur', 'mmpretrain.GaussianBlur')


def _blurs(pipeline: List[dict]) -> List[dict]:
    """The ``GaussianBlur`` steps of ``pipeline``, also inside
    ``RandomApply``."""
    found = []
    for step in pipeline:
        if not isinstance(step, dict):
            continue
        if step.get('type') in BLUR_TYPES:
            found.append(step)
        found += _blurs(step.get('transforms', []))
    return found


def _scaled(value, factor: float):
    """A radius or a (low, high) radius range times ``factor``."""
    if isinstance(value, (tuple, list)):
        return type(value)(v * factor for v in value)
    return value * factor


@TRANSFORMS.register_module()
class MontageAssembly(MultiView):
    """Make the per-image views that MCL tiles into montages.

    Each of the two view pipelines (BYOL's A and B) is applied once per level
    with its own random draw, so every level sees an independently augmented
    copy: the output ``img`` is the list ``[A_0, ..., A_{S-1}, B_0, ...,
    B_{S-1}]`` (:func:`view_index`). With a single pipeline (supervised
    multi-level training) it is ``[A_0, ..., A_{S-1}]``. The tiling itself
    happens batched on the device
    (:class:`MontageTiler`).

    ``num_levels`` and ``tile_sizes`` follow the model's montage when the
    config runs through :class:`MontageRunner`.

    Args:
        num_levels (int): Number of montage levels S.
        transforms (List[List[dict]]): The two view pipelines (one for
            supervised multi-level training).
        tile_sizes (Sequence[int], optional): When given, level ``i``'s
            ``RandomResizedCrop`` outputs ``tile_sizes[i]`` pixels directly,
            instead of a full-size copy that the device then shrinks: less
            CPU work and host-to-device traffic. The tile then comes from
            one resampling with the crop's interpolation instead of the
            crop's followed by the tiler's ``mode`` (the authors': bilinear
            crop, nearest shrink). Defaults to None (every copy at the
            pipeline's own size, as the authors do).
        shrink_sources (bool): With ``tile_sizes``, level ``i`` crops from
            the decoded image shrunk (area interpolation, once per level,
            shared by views A and B) by ``f = min(tile_sizes[0] /
            tile_sizes[i], short side / tile_sizes[0])``, never below 1: the
            crop box is drawn relative to the image size, so the crops are
            distributed as before and still map to their tiles by the same
            or a smaller factor than level 0, but the crop that is resized is
            up to f^2 times smaller. Defaults to True.
        blur_per_level (bool): With ``tile_sizes``, level ``i``'s
            ``GaussianBlur`` radii (``magnitude_range`` or ``radius``, also
            inside ``RandomApply``) are scaled by ``tile_sizes[i]`` over the
            crop's pipeline size: a tile is blurred as its full-size copy
            blurred and then shrunk, the authors' order. False blurs every
            level with the full-size radii in its own pixels. Defaults to
            True.
    """

    def __init__(self,
                 num_levels: int,
                 transforms: List[List[dict]],
                 tile_sizes: Optional[Sequence[int]] = None,
                 shrink_sources: bool = True,
                 blur_per_level: bool = True) -> None:
        if num_levels < 1:
            raise ValueError('MontageAssembly: num_levels must be >= 1, got '
                             f'{num_levels}')
        if len(transforms) not in (1, 2):
            raise ValueError(
                'MontageAssembly: expected the 2 view pipelines of BYOL (or '
                f'1 for supervised multi-level training), got '
                f'{len(transforms)}')
        if tile_sizes is not None and len(tile_sizes) != num_levels:
            raise ValueError('MontageAssembly: tile_sizes needs one size per '
                             f'level: expected {num_levels}, got '
                             f'{len(tile_sizes)}')
        super().__init__(
            transforms=transforms, num_views=[num_levels] * len(transforms))
        self.num_levels = num_levels
        self.tile_sizes = tile_sizes
        self.shrink_sources = shrink_sources and tile_sizes is not None
        self.blur_per_level = blur_per_level
        views = [None] * (len(transforms) * num_levels)
        for p, pipeline in enumerate(transforms):
            for level in range(num_levels):
                if tile_sizes is not None:
                    pipeline_at = self._crop_to(pipeline, tile_sizes[level],
                                                blur_per_level)
                else:
                    pipeline_at = pipeline
                views[view_index(p, level, num_levels)] = Compose(pipeline_at)
        self.transforms = views

    @staticmethod
    def _crop_to(pipeline: List[dict], size: int,
                 blur_per_level: bool) -> List[dict]:
        """Copy of ``pipeline`` whose RandomResizedCrop outputs ``size``,
        its blur radii scaled to match (``blur_per_level``)."""
        pipeline = copy.deepcopy(pipeline)
        crops = [
            t for t in pipeline if isinstance(t, dict) and t.get('type') in (
                'RandomResizedCrop', 'mmpretrain.RandomResizedCrop')
        ]
        if len(crops) != 1:
            raise ValueError(
                'MontageAssembly: tile_sizes needs exactly one '
                f'RandomResizedCrop (as a dict) per view pipeline, found '
                f'{len(crops)}')
        full = crops[0]['scale']
        full = full if isinstance(full, int) else max(full)
        crops[0]['scale'] = size
        if blur_per_level:
            for blur in _blurs(pipeline):
                for key in ('magnitude_range', 'radius'):
                    if blur.get(key) is not None:
                        blur[key] = _scaled(blur[key], size / full)
        return pipeline

    def _sources(self, img: np.ndarray) -> List[np.ndarray]:
        """The image each level crops from (see ``shrink_sources``); each
        shrunk source is made from the previous, smaller-by-less one."""
        h, w = img.shape[:2]
        sources, current, current_factor = [img], img, 1.0
        for level in range(1, self.num_levels):
            factor = min(self.tile_sizes[0] / self.tile_sizes[level],
                         min(h, w) / self.tile_sizes[0])
            if factor > 1.05 * current_factor:
                size = (max(1, round(w / factor)), max(1, round(h / factor)))
                current = cv2.resize(
                    current, size, interpolation=cv2.INTER_AREA)
                current_factor = factor
            sources.append(current)
        return sources

    def transform(self, results: dict) -> dict:
        """Apply each level's view pipelines to a copy of ``results``.

        Args:
            results (dict): Result dict with the decoded ``img``.

        Returns:
            dict: ``results`` with ``img`` the list of views, in
            :func:`view_index` order.
        """
        if self.shrink_sources:
            sources = self._sources(results['img'])
        else:
            sources = [results['img']] * self.num_levels
        others = {k: v for k, v in results.items() if k != 'img'}
        views = [None] * len(self.transforms)
        for p in range(len(self.num_views)):
            for level, source in enumerate(sources):
                k = view_index(p, level, self.num_levels)
                inputs = copy.deepcopy(others)
                inputs['img'] = source.copy()
                inputs['img_shape'] = source.shape[:2]
                views[k] = self.transforms[k](inputs)['img']
        results['img'] = views
        return results

    def __repr__(self) -> str:
        views = ', '.join(f'{name} x {self.num_levels}'
                          for name in 'AB'[:len(self.num_views)])
        return (f'{self.__class__.__name__}(num_levels={self.num_levels}, '
                f'tile_sizes={self.tile_sizes}, shrink_sources='
                f'{self.shrink_sources}, blur_per_level='
                f'{self.blur_per_level}, views=[{views}])')
