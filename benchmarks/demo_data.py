# Copyright (c) mcl_mm contributors. All rights reserved.
"""The real photographs bundled with scikit-image, for demos and tests.

scikit-image ships a few photographs in ``skimage/data`` (BSD-3-Clause; see
``skimage/data/README.txt`` there for each picture's source and licence).
"""
import os
import os.path as osp
import shutil
from typing import List, Tuple

import numpy as np
from PIL import Image

# Photographs (not drawings or synthetic images) in the scikit-image wheel.
PHOTOS = ('astronaut.png', 'brick.png', 'camera.png', 'cell.png',
          'chelsea.png', 'coffee.png', 'coins.png', 'grass.png', 'gravel.png',
          'hubble_deep_field.jpg', 'ihc.png', 'moon.png',
          'motorcycle_left.png', 'motorcycle_right.png', 'page.png',
          'rocket.jpg', 'retina.jpg')


def skimage_photos() -> List[str]:
    """Paths of the bundled photographs present in this install.

    Raises:
        FileNotFoundError: If scikit-image ships fewer than 4 of them.
    """
    import skimage
    root = osp.join(osp.dirname(skimage.__file__), 'data')
    found = [
        osp.join(root, name) for name in PHOTOS
        if osp.isfile(osp.join(root, name))
    ]
    if len(found) < 4:
        raise FileNotFoundError(
            f'expected the scikit-image photographs under {root}, found '
            f'{len(found)} of {len(PHOTOS)}; reinstall scikit-image')
    return found


def copy_photos(out_dir: str, limit: int = 0) -> List[str]:
    """Copy the bundled photographs (the first ``limit`` if > 0) to
    ``out_dir`` and return the new paths.

    JPEGs are copied as they are; PNGs are re-saved (losslessly) without
    their embedded colour profiles, which libpng warns about on every read.
    """
    os.makedirs(out_dir, exist_ok=True)
    photos = skimage_photos()
    photos = photos[:limit] if limit > 0 else photos
    out = []
    for path in photos:
        dst = osp.join(out_dir, osp.basename(path))
        if path.endswith('.png'):
            with Image.open(path) as img:
                img.save(dst, icc_profile=None)
        else:
            shutil.copyfile(path, dst)
        out.append(dst)
    return out


def make_jpeg_folder(out_dir: str,
                     count: int,
                     size: Tuple[int, int] = (500, 375),
                     seed: int = 0) -> List[str]:
    """Write ``count`` ImageNet-sized JPEGs (quality 90) cut from the
    bundled photographs: per file a random photo, a random crop of at least
    half its side, resized to ``size`` (width, height) and flipped at
    random; the same files for the same seed. For loader timings, where
    decoding a full-size JPEG is part of the cost.

    Returns:
        List[str]: The paths written.
    """
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    photos = [Image.open(p).convert('RGB') for p in skimage_photos()]
    out = []
    for i in range(count):
        img = photos[rng.integers(len(photos))]
        w, h = img.size
        side = rng.uniform(0.5, 1.0)
        cw, ch = int(w * side), int(h * side)
        x, y = rng.integers(w - cw + 1), rng.integers(h - ch + 1)
        crop = img.crop((x, y, x + cw, y + ch)).resize(size, Image.BICUBIC)
        if rng.random() < 0.5:
            crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
        path = osp.join(out_dir, f'{i:05d}.jpg')
        crop.save(path, quality=90)
        out.append(path)
    return out
