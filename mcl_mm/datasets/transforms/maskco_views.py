# Copyright (c) mcl_mm contributors. All rights reserved.
import math
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform, Compose

from mmpretrain.registry import TRANSFORMS
from .crop_box import random_crop_box

Box = Tuple[float, float, float, float]  # x1, y1, x2, y2


def _intersection(a: Box, b: Box) -> Optional[Box]:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    return (x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None


def _area(box: Box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


@TRANSFORMS.register_module()
class MaskCoViews(BaseTransform):
    """The two views of MaskCo and the boxes its loss compares.

    Two random resized crops of one image (query and key), each resized to
    ``size`` and flipped at random, then coloured by its own pipeline. In
    the original image a box is drawn inside the overlap of the two crops:
    in the query view it is the region the model masks, in the key view the
    positive box. ``num_neg_boxes`` more boxes are drawn anywhere in the key
    view (the negatives other images see, and this image's intra-image
    negatives for MaskCo(+in)).

    The paper fixes the two views, the masking of the query region and the
    key boxes; these choices are ours and config fields: ``mask_area``
    (fraction of the query view, 0.1-0.5), ``mask_ratio`` (aspect range),
    negative boxes with the same area/aspect ranges anywhere in the key
    view, crops redrawn (up to ``max_tries``) until they overlap by
    ``min_overlap`` of the smaller crop.

    Output: ``img`` = [query, key]; ``mask_box`` (4,) in query-view pixels;
    ``key_boxes`` (1 + num_neg_boxes, 4) in key-view pixels, row 0 the
    positive. Pack them with ``PackInputs(algorithm_keys=('mask_box',
    'key_boxes'))``.

    Args:
        transforms (List[List[dict]]): Colour pipelines of the query and of
            the key view (no geometric transforms: the boxes would not
            follow).
        size (int): Side of both views. Defaults to 224.
        crop_area (Sequence[float]): Area range of a crop. Defaults to
            (0.2, 1.0).
        crop_ratio (Sequence[float]): Aspect range of a crop.
        num_neg_boxes (int): Negative boxes per image (M). Defaults to 16.
        mask_area (Sequence[float]): Area of a box as a fraction of a view.
        mask_ratio (Sequence[float]): Aspect range (w / h) of a box.
        min_overlap (float): Least overlap of the crops, relative to the
            smaller one. Defaults to 0.3.
        max_tries (int): Crop pairs drawn before the key crop falls back to
            the query crop. Defaults to 10.
    """

    def __init__(self,
                 transforms: List[List[dict]],
                 size: int = 224,
                 crop_area: Sequence[float] = (0.2, 1.0),
                 crop_ratio: Sequence[float] = (3. / 4., 4. / 3.),
                 num_neg_boxes: int = 16,
                 mask_area: Sequence[float] = (0.1, 0.5),
                 mask_ratio: Sequence[float] = (0.5, 2.0),
                 min_overlap: float = 0.3,
                 max_tries: int = 10) -> None:
        if len(transforms) != 2:
            raise ValueError('MaskCoViews: expected 2 colour pipelines '
                             f'(query, key), got {len(transforms)}')
        if not 0 < mask_area[0] <= mask_area[1] <= 1:
            raise ValueError('MaskCoViews: mask_area must satisfy 0 < low <= '
                             f'high <= 1, got {tuple(mask_area)}')
        self.pipelines = [Compose(t) for t in transforms]
        self.size = size
        self.crop_area = crop_area
        self.crop_ratio = crop_ratio
        self.num_neg_boxes = num_neg_boxes
        self.mask_area = mask_area
        self.mask_ratio = mask_ratio
        self.min_overlap = min_overlap
        self.max_tries = max_tries

    def _crop(self, h: int, w: int) -> Box:
        return random_crop_box(h, w, self.crop_area, self.crop_ratio)

    def _box_in(self, region: Box, view_area: float) -> Box:
        """A box of ``mask_area`` x ``view_area`` and ``mask_ratio``,
        clipped to and placed uniformly inside ``region``."""
        area = view_area * np.random.uniform(*self.mask_area)
        ratio = math.exp(np.random.uniform(*np.log(self.mask_ratio)))
        bw = min(math.sqrt(area * ratio), region[2] - region[0])
        bh = min(math.sqrt(area / ratio), region[3] - region[1])
        x = np.random.uniform(region[0], region[2] - bw)
        y = np.random.uniform(region[1], region[3] - bh)
        return (x, y, x + bw, y + bh)

    def _to_view(self, box: Box, crop: Box, flip: bool) -> np.ndarray:
        sx = self.size / (crop[2] - crop[0])
        sy = self.size / (crop[3] - crop[1])
        x1, x2 = (box[0] - crop[0]) * sx, (box[2] - crop[0]) * sx
        y1, y2 = (box[1] - crop[1]) * sy, (box[3] - crop[1]) * sy
        if flip:
            x1, x2 = self.size - x2, self.size - x1
        return np.array([x1, y1, x2, y2], np.float32)

    def _view(self, img: np.ndarray, crop: Box, flip: bool, pipeline: Compose,
              results: dict) -> np.ndarray:
        view = cv2.resize(
            img[crop[1]:crop[3], crop[0]:crop[2]], (self.size, self.size),
            interpolation=cv2.INTER_CUBIC)
        if flip:
            view = view[:, ::-1].copy()
        inputs = {k: v for k, v in results.items() if k != 'img'}
        inputs.update(img=view, img_shape=view.shape[:2])
        return pipeline(inputs)['img']

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        q_crop = self._crop(h, w)
        for _ in range(self.max_tries):
            k_crop = self._crop(h, w)
            overlap = _intersection(q_crop, k_crop)
            if overlap and _area(overlap) >= self.min_overlap * min(
                    _area(q_crop), _area(k_crop)):
                break
        else:
            k_crop, overlap = q_crop, q_crop
        flips = np.random.rand(2) < 0.5
        box = self._box_in(overlap, _area(q_crop))
        mask_box = self._to_view(box, q_crop, flips[0])
        full = (0., 0., float(self.size), float(self.size))
        negatives = [
            self._box_in(full, self.size**2) for _ in range(self.num_neg_boxes)
        ]
        key_boxes = [self._to_view(box, k_crop, flips[1])
                     ] + [np.array(b, np.float32) for b in negatives]
        results['img'] = [
            self._view(img, q_crop, flips[0], self.pipelines[0], results),
            self._view(img, k_crop, flips[1], self.pipelines[1], results)
        ]
        results['mask_box'] = torch.from_numpy(mask_box)
        results['key_boxes'] = torch.from_numpy(np.stack(key_boxes))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'num_neg_boxes={self.num_neg_boxes}, mask_area='
                f'{tuple(self.mask_area)})')
