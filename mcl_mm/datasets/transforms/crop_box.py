# Copyright (c) mcl_mm contributors. All rights reserved.
import math
from typing import Sequence, Tuple

import numpy as np


def random_crop_box(
    h: int,
    w: int,
    area: Sequence[float],
    ratio: Sequence[float] = (3. / 4., 4. / 3.)
) -> Tuple[int, int, int, int]:
    """A RandomResizedCrop box ``(x1, y1, x2, y2)`` in an ``h x w`` image:
    a fraction of the image area uniform in ``area``, aspect (w / h)
    log-uniform in ``ratio``;
    after 10 failed draws, the largest centred square."""
    for _ in range(10):
        size = h * w * np.random.uniform(*area)
        r = math.exp(np.random.uniform(*np.log(ratio)))
        cw = int(round(math.sqrt(size * r)))
        ch = int(round(math.sqrt(size / r)))
        if 0 < cw <= w and 0 < ch <= h:
            x = np.random.randint(0, w - cw + 1)
            y = np.random.randint(0, h - ch + 1)
            return (x, y, x + cw, y + ch)
    side = min(h, w)
    return ((w - side) // 2, (h - side) // 2, (w + side) // 2, (h + side) // 2)
