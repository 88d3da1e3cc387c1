# Copyright (c) mcl_mm contributors. All rights reserved.
import copy
from typing import List, Optional

import cv2
import numpy as np
from mmcv.transforms import Compose, RandomFlip

from mmpretrain.datasets.transforms import MultiView, RandomResizedCrop
from mmpretrain.registry import TRANSFORMS
from ...augment import AUGMENTS
from ...montage import CROP_TYPES, MontageGeometry, view_index


def _scaled_steps(pipeline: List[dict], factor: float) -> List[dict]:
    """``pipeline`` with each step that has an augmentation spec scaled to
    a copy ``factor`` times the full-size view (the spec's
    ``scaled_config``: blur radii), also inside ``RandomApply``."""
    out = []
    for step in pipeline:
        if isinstance(step, dict):
            spec = AUGMENTS.get(str(step.get('type')).split('.')[-1])
            if spec is not None:
                step = spec.scaled_config(step, factor)
            if 'transforms' in step:
                step = dict(
                    step, transforms=_scaled_steps(step['transforms'], factor))
        out.append(step)
    return out


@TRANSFORMS.register_module()
class MontageAssembly(MultiView):
    """Make the per-image views that MCL tiles into montages.

    Each of the two view pipelines (BYOL's A and B) is applied once per level
    with its own random draw, so every level sees an independently augmented
    copy: the output ``img`` is the list ``[A_0, ..., A_{S-1}, B_0, ...,
    B_{S-1}]`` (:func:`view_index`). With a single pipeline (supervised
    multi-level training) it is ``[A_0, ..., A_{S-1}]``. The tiling itself
    happens batched on the device (:class:`MontageTiler`).

    The sizes come from ``geometry`` (:class:`MontageGeometry`), which
    :class:`MontageRunner` copies from ``model.montage``: level ``i``'s
    ``RandomResizedCrop`` outputs the level's crop size
    (:meth:`MontageGeometry.crop_sizes`), and its ``GaussianBlur`` radii are
    scaled by :meth:`MontageGeometry.blur_scale` of that size, the factor
    the device path uses too. The view pipelines state no sizes of their
    own: a ``scale`` given to their crop is replaced.

    Args:
        transforms (List[List[dict]]): The two view pipelines (one for
            supervised multi-level training), each with exactly one
            ``RandomResizedCrop``.
        geometry (dict): The montage geometry (``resolution``, ``scales``
            and optionally ``tiles_per_image``), set by
            :class:`MontageRunner` from ``model.montage``; a config without
            a montage model states it.
        full_size_copies (bool): Whether every level's copy is cropped at
            ``resolution`` and shrunk on the device by the tiler's ``mode``
            (the authors' way: a bilinear crop, a nearest shrink) instead of
            cropped straight to its tile size with the crop's
            interpolation (less CPU work and host-to-device traffic).
            Defaults to False.
        shrink_sources (bool): With tile-size copies, level ``i`` crops
            from the decoded image shrunk (area interpolation, once per
            level, shared by views A and B) by ``f = min(tile_sizes[0] /
            tile_sizes[i], short side / tile_sizes[0])``, never below 1:
            the crop box is drawn relative to the image size, so the crops
            are distributed as before and still map to their tiles by the
            same or a smaller factor than level 0, but the crop that is
            resized is up to f^2 times smaller. Defaults to True.
        blur_per_level (bool): Whether ``GaussianBlur`` radii
            (``magnitude_range`` or ``radius``, also inside ``RandomApply``)
            are scaled per level as above: a tile is blurred as its
            full-size copy blurred and then shrunk, the authors' order.
            False blurs every level with the full-size radii in its own
            pixels. Defaults to True.
        crop_on_device (bool): Whether the crops are cut on the device
            (:class:`MontageDataPreprocessor`): the worker only decodes,
            draws every view's crop box and flip (the same draws, in the
            same order, as the crops here) and passes the image once with
            ``crop_boxes`` (``x, y, w, h, flipped`` per view, in
            :func:`view_index` order). Each view pipeline must then be a
            ``RandomResizedCrop`` and an optional horizontal
            ``RandomFlip``; :class:`MontageRunner` sets this on a GPU.
            Defaults to False.
        max_source_side (int, optional): With ``crop_on_device``, an image
            whose longer side exceeds this is first shrunk to it (area
            interpolation), which bounds the device's padded batch; the
            boxes are drawn on the shrunk image. Defaults to 4 x the montage
            resolution, which leaves the 500 px images of ImageNet and the
            640 px images of COCO as they are at 224 px.
    """

    def __init__(self,
                 transforms: List[List[dict]],
                 geometry: Optional[dict] = None,
                 full_size_copies: bool = False,
                 shrink_sources: bool = True,
                 blur_per_level: bool = True,
                 crop_on_device: bool = False,
                 max_source_side: Optional[int] = None) -> None:
        if geometry is None:
            raise ValueError(
                'MontageAssembly: no geometry: run the config with '
                'runner_type="MontageRunner", which copies model.montage '
                'here, or state geometry=dict(resolution=..., scales=...)')
        if len(transforms) not in (1, 2):
            raise ValueError(
                'MontageAssembly: expected the 2 view pipelines of BYOL (or '
                f'1 for supervised multi-level training), got '
                f'{len(transforms)}')
        self.geometry = MontageGeometry.from_cfg(geometry)
        num_levels = self.geometry.num_levels
        super().__init__(
            transforms=transforms, num_views=[num_levels] * len(transforms))
        self.num_levels = num_levels
        self.full_size_copies = full_size_copies
        self.crop_sizes = self.geometry.crop_sizes(full_size_copies)
        self.shrink_sources = shrink_sources and not full_size_copies
        self.blur_per_level = blur_per_level
        views = [None] * (len(transforms) * num_levels)
        for p, pipeline in enumerate(transforms):
            for level, size in enumerate(self.crop_sizes):
                blur = self.geometry.blur_scale(size) if blur_per_level \
                    else 1.
                views[view_index(p, level, num_levels)] = Compose(
                    self._crop_to(pipeline, size, blur))
        self.transforms = views
        self.crop_on_device = crop_on_device
        self.max_source_side = max_source_side or \
            4 * self.geometry.resolution
        self._box_draws = [self._box_steps(v) for v in views] \
            if crop_on_device else []

    @property
    def tile_sizes(self) -> Optional[List[int]]:
        """List[int] | None: Each level's crop size when the copies are
        cropped straight to their tiles, None for full-size copies."""
        return None if self.full_size_copies else self.crop_sizes

    @staticmethod
    def _crop_to(pipeline: List[dict], size: int,
                 blur_scale: float) -> List[dict]:
        """Copy of ``pipeline`` whose RandomResizedCrop outputs ``size``,
        its blur radii times ``blur_scale`` (:meth:`AugmentSpec.scaled_config`
        of each step's spec)."""
        pipeline = copy.deepcopy(pipeline)
        crops = [
            t for t in pipeline
            if isinstance(t, dict) and t.get('type') in CROP_TYPES
        ]
        if len(crops) != 1:
            raise ValueError(
                'MontageAssembly: each view pipeline needs exactly one '
                f'RandomResizedCrop (as a dict), found {len(crops)}')
        crops[0]['scale'] = size
        return _scaled_steps(pipeline, blur_scale)

    @staticmethod
    def _box_steps(view: Compose) -> tuple:
        """The crop and the horizontal flip (or None) of a view pipeline
        whose crops are cut on the device."""
        steps = list(view.transforms)
        crop = steps.pop(0) if steps else None
        flip = steps.pop(0) if steps and isinstance(steps[0],
                                                    RandomFlip) else None
        if not isinstance(crop, RandomResizedCrop) or steps or (
                flip is not None and flip.direction != 'horizontal'):
            raise ValueError(
                'MontageAssembly(crop_on_device=True): a view pipeline must '
                'be a RandomResizedCrop and an optional horizontal '
                f'RandomFlip once the photometric steps left it, got '
                f'{[type(t).__name__ for t in view.transforms]}; set '
                'model.data_preprocessor.crop_on_device=False to crop on '
                'the CPU')
        return crop, flip

    def draw_boxes(self, img: np.ndarray) -> np.ndarray:
        """Every view's crop box and flip, drawn as the CPU crops draw them.

        Args:
            img (np.ndarray): The image the boxes are drawn on.

        Returns:
            np.ndarray: ``(views, 5)`` float32 rows ``x, y, w, h,
            flipped``, in :func:`view_index` order.
        """
        boxes = np.zeros((len(self.transforms), 5), np.float32)
        for p in range(len(self.num_views)):  # the CPU path's order
            for level in range(self.num_levels):
                k = view_index(p, level, self.num_levels)
                crop, flip = self._box_draws[k]
                top, left, height, width = crop.rand_crop_params(img)
                flipped = flip is not None and \
                    flip._choose_direction() is not None
                boxes[k] = left, top, width, height, flipped
        return boxes

    def _bounded(self, img: np.ndarray) -> np.ndarray:
        """``img`` shrunk to ``max_source_side`` when it is longer."""
        h, w = img.shape[:2]
        factor = max(h, w) / self.max_source_side
        if factor <= 1:
            return img
        size = (max(1, round(w / factor)), max(1, round(h / factor)))
        return cv2.resize(img, size, interpolation=cv2.INTER_AREA)

    def _sources(self, img: np.ndarray) -> List[np.ndarray]:
        """The image each level crops from (see ``shrink_sources``); each
        shrunk source is made from the previous, smaller-by-less one."""
        h, w = img.shape[:2]
        sources, current, current_factor = [img], img, 1.0
        for level in range(1, self.num_levels):
            factor = min(self.crop_sizes[0] / self.crop_sizes[level],
                         min(h, w) / self.crop_sizes[0])
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
            :func:`view_index` order; with ``crop_on_device`` the image
            (shrunk to ``max_source_side``) and its ``crop_boxes``.
        """
        if self.crop_on_device:
            img = self._bounded(results['img'])
            results['img'] = img
            results['img_shape'] = img.shape[:2]
            results['crop_boxes'] = self.draw_boxes(img)
            return results
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
                f'crop_sizes={self.crop_sizes}, full_size_copies='
                f'{self.full_size_copies}, shrink_sources='
                f'{self.shrink_sources}, blur_per_level='
                f'{self.blur_per_level}, crop_on_device='
                f'{self.crop_on_device}, views=[{views}])')
