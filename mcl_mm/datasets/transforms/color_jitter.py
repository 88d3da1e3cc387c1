# Copyright (c) mcl_mm contributors. All rights reserved.
"""mmpretrain's ``ColorJitter`` with a hue step that runs on numpy 2."""
from typing import Dict

import cv2
import mmcv
import numpy as np
from PIL import Image

from mmpretrain.datasets.transforms import ColorJitter as MMPretrainColorJitter
from mmpretrain.registry import TRANSFORMS


def hue_shift(hue_factor: float) -> int:
    """The shift of the 8-bit hue channel for ``hue_factor``, as mmcv
    2.1.0 adds it: ``np.uint8(hue_factor * 255)``, which numpy 1 truncates
    towards zero and wraps into [0, 255] (-0.09 gives -22, so 234) and
    numpy 2 refuses for a negative factor. Here in Python integers, so no
    out-of-range ``uint8`` is ever built.

    Args:
        hue_factor (float): The shift in turns, in [-0.5, 0.5].

    Returns:
        int: The shift in [0, 255].
    """
    return int(hue_factor * 255) % 256


def adjust_hue(img: np.ndarray,
               hue_factor: float,
               backend: str = 'pillow') -> np.ndarray:
    """mmcv 2.1.0's ``adjust_hue`` with its shift from :func:`hue_shift`:
    the hue channel of the image in HSV (Pillow's, or OpenCV's full-range
    one) shifted by ``hue_factor`` of a turn, wrapping around. On numpy 1
    the result equals mmcv's bit for bit; on numpy 2 it runs where mmcv's
    fails for a negative factor.

    Args:
        img (np.ndarray): A BGR image, (H, W, 3); uint8 for Pillow.
        hue_factor (float): The shift in turns, in [-0.5, 0.5].
        backend (str): ``'pillow'`` or ``'cv2'``. Defaults to ``'pillow'``.

    Returns:
        np.ndarray: The shifted BGR image, of the input's dtype.
    """
    if backend not in ('cv2', 'pillow'):
        raise ValueError(f'backend: {backend} is not supported. '
                         "Supported backends are 'cv2', 'pillow'")
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor:{hue_factor} is not in [-0.5, 0.5].')
    if not (isinstance(img, np.ndarray) and img.ndim in (2, 3)):
        raise TypeError('img should be ndarray with dim=[2 or 3].')
    shift = np.uint8(hue_shift(hue_factor))
    if backend == 'pillow':
        assert img.dtype == np.uint8, 'Pillow backend only support uint8 type'
        rgb = np.ascontiguousarray(img[..., ::-1])
        h, s, v = Image.fromarray(rgb).convert('HSV').split()
        hue = np.array(h, dtype=np.uint8)
        hue += shift  # uint8 array arithmetic wraps around the circle
        out = Image.merge('HSV', (Image.fromarray(hue), s, v)).convert('RGB')
        return np.array(out, dtype=img.dtype)[..., ::-1]
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    hsv[..., 0] += shift
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(img.dtype)


@TRANSFORMS.register_module(name='ColorJitter', force=True)
class ColorJitter(MMPretrainColorJitter):
    """mmpretrain's ``ColorJitter`` whose hue step is :func:`adjust_hue`,
    so it runs on numpy 2 (mmcv 2.1.0's ``adjust_hue`` fails there for a
    negative factor).

    Registered in mmpretrain's ``TRANSFORMS`` in place of mmpretrain's
    class, under its name: every ``dict(type='ColorJitter', ...)`` builds
    this one. Same arguments, the same draws from numpy's global random
    state in the same order (mmpretrain's ``_rand_params``: the op order,
    then the factors), the other three ops by mmcv; on numpy 1 the same
    images as mmpretrain's.

    Args:
        brightness (float | Sequence[float]): Factor range,
            v -> [max(0, 1 - v), 1 + v].
        contrast (float | Sequence[float]): Factor range.
        saturation (float | Sequence[float]): Factor range.
        hue (float | Sequence[float]): Shift range, v -> [-v, v],
            within [-0.5, 0.5].
        backend (str): ``'pillow'`` or ``'cv2'``. Defaults to ``'pillow'``.
    """

    def transform(self, results: Dict) -> Dict:
        """Apply the four ops in the drawn order.

        Args:
            results (dict): With ``img``, a BGR image.

        Returns:
            dict: ``results`` with ``img`` jittered.
        """
        order, *factors = self._rand_params()
        ops = (
            lambda i, f: mmcv.adjust_brightness(i, f, backend=self.backend),
            lambda i, f: mmcv.adjust_contrast(i, f, backend=self.backend),
            lambda i, f: mmcv.adjust_color(i, alpha=f, backend=self.backend),
            lambda i, f: adjust_hue(i, f, backend=self.backend),
        )
        img = results['img']
        for index in order:
            if factors[index] is not None:
                img = ops[index](img, factors[index])
        results['img'] = img
        return results
