# Copyright (c) mcl_mm contributors. All rights reserved.
"""Decode an image file, or say which file failed and why.

:func:`decode_image` reads the bytes through mmengine's file backends and
decodes them with OpenCV (EXIF orientation applied), falling back to
Pillow for what OpenCV does not read (GIF: the first frame), and raises
:class:`BadImageError` naming the file and the reason for every failure:
an empty file, a JPEG without its end marker (truncated), bytes that are no
image, a format neither library reads. :func:`inspect_image` describes a
file for ``tools/analysis_tools/check_dataset.py``.
"""
import io
from typing import Dict, Union

import cv2
import numpy as np
from mmengine.fileio import get
from PIL import Image, ImageOps

# what the pre-training folders read; mmpretrain's default lacks the last 3
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                    '.tiff', '.webp', '.gif')


class BadImageError(ValueError):
    """An image file that cannot be decoded.

    Args:
        path (str): The file.
        reason (str): Why.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f'{path}: {reason}')
        self.path = path
        self.reason = reason


def _pillow_decode(data: bytes) -> np.ndarray:
    """Decode with Pillow: first frame, EXIF orientation, 8-bit BGR."""
    with Image.open(io.BytesIO(data)) as img:
        img.seek(0)
        img = ImageOps.exif_transpose(img)
        if img.mode in ('I;16', 'I;16B', 'I;16L', 'I'):
            array = np.asarray(img, dtype=np.float64)
            scale = 255.0 / max(float(array.max()), 1.0)
            img = Image.fromarray((array * scale).astype(np.uint8))
        rgb = np.asarray(img.convert('RGB'))
    return np.ascontiguousarray(rgb[..., ::-1])


def decode_image(path: str, data: Union[bytes, None] = None) -> np.ndarray:
    """Decode ``path`` to an 8-bit BGR array (H, W, 3).

    Args:
        path (str): The file (any mmengine file backend).
        data (bytes, optional): Its bytes, when already read.

    Returns:
        np.ndarray: The image.

    Raises:
        BadImageError: Naming the file and the reason.
    """
    if data is None:
        try:
            data = get(path)
        except (OSError, ValueError) as err:
            raise BadImageError(path, f'cannot be read ({err})') from None
    if not data:
        raise BadImageError(path, 'empty file (0 bytes)')
    if data[:2] == b'\xff\xd8' and b'\xff\xd9' not in data[-1024:]:
        raise BadImageError(path, 'truncated JPEG (no end-of-image marker)')
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is not None:
        return img
    try:
        return _pillow_decode(data)
    except Image.UnidentifiedImageError:
        raise BadImageError(
            path, f'not an image (unrecognised content, starts with '
            f'{data[:8]!r})') from None
    except (OSError, ValueError, SyntaxError) as err:
        raise BadImageError(path, f'cannot be decoded ({err})') from None


def inspect_image(path: str,
                  min_side: int = 0,
                  max_aspect: float = 4.0) -> Dict[str, object]:
    """Decode ``path`` and describe what may surprise a pipeline.

    Args:
        path (str): The file.
        min_side (int): Sides below this are flagged ``small``.
        max_aspect (float): Long / short side above this is flagged.

    Returns:
        Dict[str, object]: ``path``, ``error`` (the reason, or None), and
        the flags ``greyscale``, ``16-bit``, ``CMYK``, ``alpha``,
        ``palette``, ``small``, ``extreme aspect`` that apply.
    """
    report: Dict[str, object] = dict(path=path, error=None, flags=[])
    try:
        data = get(path)
        img = decode_image(path, data)
    except BadImageError as err:
        report['error'] = err.reason
        return report
    flags = []
    try:
        with Image.open(io.BytesIO(data)) as pil:
            mode = pil.mode
            transparent = 'transparency' in pil.info
    except (OSError, Image.UnidentifiedImageError):
        mode, transparent = 'RGB', False
    if mode in ('L', '1', 'LA', 'I;16', 'I;16B', 'I;16L', 'I'):
        flags.append('greyscale')
    if mode.startswith('I;16') or mode == 'I':
        flags.append('16-bit')
    if mode == 'CMYK':
        flags.append('CMYK')
    if mode in ('RGBA', 'LA', 'PA') or transparent:
        flags.append('alpha')
    if mode in ('P', 'PA'):
        flags.append('palette')
    h, w = img.shape[:2]
    if min(h, w) < min_side:
        flags.append('small')
    if max(h, w) / min(h, w) > max_aspect:
        flags.append('extreme aspect')
    report['flags'] = flags
    report['size'] = (w, h)
    return report
