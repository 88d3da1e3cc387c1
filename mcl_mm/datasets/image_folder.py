# Copyright (c) mcl_mm contributors. All rights reserved.
import logging
import os
import os.path as osp
from typing import List, Sequence

from mmengine.logging import print_log

from mmpretrain.datasets import CustomDataset
from mmpretrain.registry import DATASETS
from .image_file import IMAGE_EXTENSIONS


@DATASETS.register_module()
class ImageFolder(CustomDataset):
    """mmpretrain's ``CustomDataset`` over a folder of pre-training images,
    reading WebP, TIFF (``.tif``, ``.tiff``) and GIF too, and naming the
    files it leaves out.

    When the folder is scanned (no ``ann_file``), the files whose extension
    is not in ``extensions`` are counted and named (a few, then a count) in
    a warning; a folder with none of them raises, naming what it holds.

    Args:
        extensions (Sequence[str]): File extensions read. Defaults to
            :data:`IMAGE_EXTENSIONS`.
        **kwargs: The other arguments of ``CustomDataset``.
    """

    def __init__(self,
                 *args,
                 extensions: Sequence[str] = IMAGE_EXTENSIONS,
                 **kwargs) -> None:
        super().__init__(*args, extensions=extensions, **kwargs)

    def _left_out(self) -> List[str]:
        """Files under the image folder with other extensions."""
        root = self.img_prefix
        if not osp.isdir(root):
            return []
        out = []
        for folder, _, files in sorted(os.walk(root, followlinks=True)):
            for name in sorted(files):
                if not self.is_valid_file(name):
                    out.append(osp.relpath(osp.join(folder, name), root))
        return out

    def _find_samples(self):
        left_out = self._left_out()
        names = ', '.join(left_out[:5]) + (f' and {len(left_out) - 5} more'
                                           if len(left_out) > 5 else '')
        try:
            samples = super()._find_samples()
        except RuntimeError as err:
            if left_out:
                raise RuntimeError(
                    f'{err}; left out by extension: {names}') from None
            raise
        if left_out:
            print_log(
                f'{self.img_prefix}: {len(left_out)} files left out (their '
                f'extension is not one of {", ".join(self.extensions)}): '
                f'{names}',
                logger='current',
                level=logging.WARNING)
        return samples
