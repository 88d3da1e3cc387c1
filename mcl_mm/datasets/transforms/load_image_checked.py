# Copyright (c) mcl_mm contributors. All rights reserved.
import hashlib
import logging
import os
import os.path as osp
import tempfile
from typing import Dict, Optional

from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mmpretrain.registry import TRANSFORMS
from ..image_file import BadImageError, decode_image


@TRANSFORMS.register_module()
class LoadImageChecked(BaseTransform):
    """Load an image file, naming the file and the reason of any failure.

    Decodes with :func:`decode_image` (OpenCV, Pillow for what OpenCV does
    not read: GIF, odd TIFFs; EXIF orientation applied; always 8-bit BGR).
    Off the training path (``skip_bad=False``) a bad file raises
    :class:`BadImageError`. With ``skip_bad=True`` (the pre-training
    configs) the transform returns None, so mmengine's dataset draws another
    index instead; it logs each skipped file once per process and records
    it in a folder of its own, where :class:`BadImageHook` counts the skips
    of every data worker.

    Args:
        skip_bad (bool): Skip unreadable files instead of raising.
            Defaults to False.
    """

    def __init__(self, skip_bad: bool = False) -> None:
        self.skip_bad = skip_bad
        # made in the main process, before the data workers start, so every
        # worker writes where the hook reads
        self.record_dir: Optional[str] = tempfile.mkdtemp(
            prefix='mcl_mm_bad_images_') if skip_bad else None
        self._logged = set()

    def transform(self, results: dict) -> Optional[dict]:
        """Decode ``results['img_path']`` into ``img``.

        Returns:
            dict or None: ``results`` with ``img``, ``img_shape`` and
            ``ori_shape``; None for a bad file when skipping.
        """
        path = results['img_path']
        try:
            img = decode_image(path)
        except BadImageError as err:
            if not self.skip_bad:
                raise
            self._record(err)
            return None
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def _record(self, err: BadImageError) -> None:
        if err.path not in self._logged:
            self._logged.add(err.path)
            print_log(
                f'skipping an unreadable image, {err}',
                logger='current',
                level=logging.WARNING)
        name = hashlib.sha1(err.path.encode()).hexdigest()
        with open(osp.join(self.record_dir, name), 'w') as f:
            f.write(f'{err.path}\t{err.reason}')

    def skipped(self) -> Dict[str, str]:
        """Every file skipped so far by any process: path -> reason."""
        found = {}
        if self.record_dir and osp.isdir(self.record_dir):
            for name in sorted(os.listdir(self.record_dir)):
                with open(osp.join(self.record_dir, name)) as f:
                    path, _, reason = f.read().partition('\t')
                if path:
                    found[path] = reason
        return found

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(skip_bad={self.skip_bad})'
