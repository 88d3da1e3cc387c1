# Copyright (c) mcl_mm contributors. All rights reserved.
"""A tiny detection / segmentation set made from scikit-image's coins photo.

The coins photograph (BSD-3-Clause, ``skimage/data``) shows 24 coins on a
plain background; a local threshold separates them, so every coin gets a
real mask and box. Four overlapping crops make four images, written as
``images/*.png``, COCO instance annotations ``annotations/coins.json``
(one category, 'coin') and mmseg label maps ``labels/*.png`` (0 background,
1 coin).
"""
import json
import os
import os.path as osp
from typing import Dict

import cv2
import numpy as np
from scipy import ndimage as ndi

CROPS = ((0, 0), (0, 1), (1, 0), (1, 1))


def coin_mask(gray: np.ndarray) -> np.ndarray:
    """Foreground mask of the coins photo (local threshold, opened, filled)."""
    from skimage.filters import threshold_local
    from skimage.morphology import disk, opening
    mask = gray > threshold_local(gray, 101, offset=-10)
    mask = opening(mask, disk(3))
    return ndi.binary_fill_holes(mask)


def _instances(mask: np.ndarray, min_area: int) -> list:
    labels, count = ndi.label(mask)
    out = []
    for i in range(1, count + 1):
        inst = (labels == i).astype(np.uint8)
        if inst.sum() < min_area:
            continue
        contours, _ = cv2.findContours(inst, cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_SIMPLE)
        polys = [c.reshape(-1).tolist() for c in contours if len(c) >= 3]
        x, y, w, h = cv2.boundingRect(inst)
        out.append(
            dict(segmentation=polys, bbox=[x, y, w, h], area=int(inst.sum())))
    return out


def make_coins_dataset(out_dir: str, min_area: int = 150) -> Dict[str, str]:
    """Write the dataset under ``out_dir`` and return its paths."""
    from skimage.data import coins
    gray = coins()
    mask = coin_mask(gray)
    h, w = gray.shape
    ch, cw = h // 2 + 40, w // 2 + 40
    paths = dict(
        images=osp.join(out_dir, 'images'),
        labels=osp.join(out_dir, 'labels'),
        ann_file=osp.join(out_dir, 'annotations', 'coins.json'))
    for key in ('images', 'labels'):
        os.makedirs(paths[key], exist_ok=True)
    os.makedirs(osp.dirname(paths['ann_file']), exist_ok=True)
    coco = dict(
        images=[], annotations=[], categories=[dict(id=1, name='coin')])
    for image_id, (r, c) in enumerate(CROPS, start=1):
        y0, x0 = r * (h - ch), c * (w - cw)
        crop = gray[y0:y0 + ch, x0:x0 + cw]
        crop_mask = mask[y0:y0 + ch, x0:x0 + cw]
        name = f'coins_{r}{c}.png'
        cv2.imwrite(
            osp.join(paths['images'], name),
            cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR))
        cv2.imwrite(
            osp.join(paths['labels'], name), crop_mask.astype(np.uint8))
        coco['images'].append(
            dict(id=image_id, file_name=name, height=ch, width=cw))
        for inst in _instances(crop_mask, min_area):
            coco['annotations'].append(
                dict(
                    id=len(coco['annotations']) + 1,
                    image_id=image_id,
                    category_id=1,
                    iscrowd=0,
                    **inst))
    with open(paths['ann_file'], 'w') as f:
        json.dump(coco, f)
    return paths
