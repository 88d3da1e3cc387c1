# Copyright (c) mcl_mm contributors. All rights reserved.
"""A copy-paste detection set built offline from real photographs.

No real photo with box annotations ships in the package registries we may
use, so the set pastes real object cut-outs with exact masks onto real
backgrounds: the 24 coins of scikit-image's coins photo (masks from a local
threshold, :func:`coin_mask`) on crops of the other scikit-image photos and
matplotlib's ``grace_hopper.jpg``. Boxes and masks are exact: the visible
part of every pasted coin, each at least 70% visible.

Coins and backgrounds are split once: the held-out ``test`` split uses
coins and backgrounds that neither the ``train`` split nor the unlabelled
``pretrain`` images contain.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np
from scipy import ndimage as ndi

from mcl_mm.utils.coins_data import coin_mask
from .demo_data import skimage_photos

TEST_BACKGROUNDS = ('chelsea.png', 'motorcycle_right.png', 'brick.png',
                    'hubble_deep_field.jpg', 'grace_hopper.jpg')


def background_paths() -> List[str]:
    """The scikit-image photos except coins, plus matplotlib's photo."""
    import matplotlib
    paths = [p for p in skimage_photos() if not p.endswith('coins.png')]
    hopper = osp.join(
        osp.dirname(matplotlib.__file__), 'mpl-data', 'sample_data',
        'grace_hopper.jpg')
    if osp.isfile(hopper):
        paths.append(hopper)
    return paths


def coin_cutouts(pad: int = 2) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Each coin of the coins photo as (BGR patch, exact mask), in reading
    order (top to bottom, then left to right)."""
    from skimage.data import coins
    gray = coins()
    labels, count = ndi.label(coin_mask(gray))
    out = []
    for sl in ndi.find_objects(labels):
        y0, y1 = max(sl[0].start - pad, 0), sl[0].stop + pad
        x0, x1 = max(sl[1].start - pad, 0), sl[1].stop + pad
        patch_labels = labels[y0:y1, x0:x1]
        ids = np.unique(labels[sl])
        ids = ids[ids > 0]
        mask = patch_labels == ids[np.argmax([(labels[sl] == i).sum()
                                              for i in ids])]
        if mask.sum() < 150:
            continue
        out.append((y0, x0, cv2.cvtColor(gray[y0:y1, x0:x1],
                                         cv2.COLOR_GRAY2BGR), mask))
    out.sort(key=lambda c: (c[0] // 60, c[1]))
    return [(patch, mask) for _, _, patch, mask in out]


def split_sources() -> Dict[str, dict]:
    """Coins and backgrounds of each split: 2 of every 3 coins and the
    backgrounds not in :data:`TEST_BACKGROUNDS` for train/pretrain."""
    coins = coin_cutouts()
    backgrounds = background_paths()
    test_bg = [p for p in backgrounds if osp.basename(p) in TEST_BACKGROUNDS]
    train_bg = [p for p in backgrounds if p not in test_bg]
    train_coins = [c for i, c in enumerate(coins) if i % 3 != 2]
    test_coins = [c for i, c in enumerate(coins) if i % 3 == 2]
    return dict(
        train=dict(coins=train_coins, backgrounds=train_bg),
        test=dict(coins=test_coins, backgrounds=test_bg))


def _read(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f'cannot read background photo {path}')
    return img


def compose(rng: np.random.Generator,
            backgrounds: Sequence[np.ndarray],
            coins: Sequence[Tuple[np.ndarray, np.ndarray]],
            size: int,
            num_objects: Tuple[int, int] = (3, 8),
            scale: Tuple[float, float] = (0.6, 2.0),
            max_tries: int = 10) -> Tuple[np.ndarray, List[np.ndarray]]:
    """One composite: a random crop of a background with coins pasted at
    random scales, flips and brightness, each placed where it and every
    earlier coin stay at least 70% visible (a coin that finds no such place
    in ``max_tries`` draws is left out). Returns the image and the visible
    mask of every pasted coin: no pasted pixel is left unannotated."""
    bg = backgrounds[rng.integers(len(backgrounds))]
    h, w = bg.shape[:2]
    side = int(min(h, w) * rng.uniform(0.4, 1.0))
    y, x = rng.integers(h - side + 1), rng.integers(w - side + 1)
    img = cv2.resize(
        bg[y:y + side, x:x + side], (size, size),
        interpolation=cv2.INTER_AREA).copy()
    owner = np.zeros((size, size), np.int32)  # which paste owns a pixel
    areas = {}
    for k in range(1, rng.integers(num_objects[0], num_objects[1] + 1) + 1):
        patch, mask = coins[rng.integers(len(coins))]
        s = rng.uniform(*scale)
        ph = max(8, int(round(patch.shape[0] * s)))
        pw = max(8, int(round(patch.shape[1] * s)))
        if ph >= size or pw >= size:
            continue
        patch = cv2.resize(patch, (pw, ph), interpolation=cv2.INTER_LINEAR)
        mask = cv2.resize(
            mask.astype(np.uint8), (pw, ph),
            interpolation=cv2.INTER_NEAREST).astype(bool)
        if rng.random() < 0.5:
            patch, mask = patch[:, ::-1], mask[:, ::-1]
        if rng.random() < 0.5:
            patch, mask = patch[::-1], mask[::-1]
        gain = rng.uniform(0.7, 1.3)
        patch = np.clip(patch.astype(np.float32) * gain, 0,
                        255).astype(np.uint8)
        for _ in range(max_tries):
            py, px = rng.integers(size - ph + 1), rng.integers(size - pw + 1)
            under = owner[py:py + ph, px:px + pw][mask]
            hidden = np.bincount(under, minlength=k)[1:]
            # keep every coin, old and new, at least 70% visible
            if hidden.sum() <= 0.3 * mask.sum() and all(
                    h <= 0.3 * areas[j + 1]
                    for j, h in enumerate(hidden) if j + 1 in areas):
                break
        else:
            continue  # no room: this coin is not pasted at all
        img[py:py + ph, px:px + pw][mask] = patch[mask]
        owner[py:py + ph, px:px + pw][mask] = k
        areas[k] = int(mask.sum())
    return img, [owner == k for k in areas]


def _annotation(mask: np.ndarray, ann_id: int, image_id: int) -> dict:
    inst = mask.astype(np.uint8)
    contours, _ = cv2.findContours(inst, cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_NONE)
    polys = [c.reshape(-1).tolist() for c in contours if len(c) >= 3]
    x, y, w, h = cv2.boundingRect(inst)
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=1,
        iscrowd=0,
        segmentation=polys,
        bbox=[x, y, w, h],
        area=int(inst.sum()))


def make_paste_dataset(out_dir: str,
                       num_pretrain: int = 512,
                       num_train: int = 64,
                       num_test: int = 32,
                       size: int = 256,
                       seed: int = 0) -> Dict[str, str]:
    """Write ``pretrain/`` (unlabelled), ``train/`` and ``test/`` images and
    COCO files ``annotations/{train,test}.json`` under ``out_dir``."""
    rng = np.random.default_rng(seed)
    sources = split_sources()
    paths = dict(
        pretrain=osp.join(out_dir, 'pretrain'),
        train=osp.join(out_dir, 'train'),
        test=osp.join(out_dir, 'test'),
        train_ann=osp.join(out_dir, 'annotations', 'train.json'),
        test_ann=osp.join(out_dir, 'annotations', 'test.json'))
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    plan = (('pretrain', 'train', num_pretrain), ('train', 'train', num_train),
            ('test', 'test', num_test))
    for name, source, count in plan:
        os.makedirs(paths[name], exist_ok=True)
        bgs = [_read(p) for p in sources[source]['backgrounds']]
        coco = dict(
            images=[], annotations=[], categories=[dict(id=1, name='coin')])
        for i in range(count):
            img, masks = compose(rng, bgs, sources[source]['coins'], size)
            file_name = f'{name}_{i:04d}.jpg'
            cv2.imwrite(
                osp.join(paths[name], file_name), img,
                [cv2.IMWRITE_JPEG_QUALITY, 95])
            coco['images'].append(
                dict(id=i + 1, file_name=file_name, height=size, width=size))
            for mask in masks:
                coco['annotations'].append(
                    _annotation(mask,
                                len(coco['annotations']) + 1, i + 1))
        if name != 'pretrain':
            with open(paths[f'{name}_ann'], 'w') as f:
                json.dump(coco, f)
    return paths
