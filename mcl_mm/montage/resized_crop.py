# Copyright (c) mcl_mm contributors. All rights reserved.
"""Random resized crops of a batch on the device, one batched op per size.

The CPU workers draw every crop box and flip
(:class:`~mcl_mm.datasets.transforms.MontageAssembly` with
``crop_on_device=True``); :func:`resized_crops` cuts and resizes all boxes
of one output size at once. Each box becomes two resampling matrices
(rows and columns) with Pillow's weights: its antialiased filters
(``Image.resize``, which mmpretrain's ``RandomResizedCrop`` calls with
``backend='pillow'``), the support widened by the downscaling factor, taps
inside the crop only, normalised; a horizontal flip reverses the columns'
matrix. Like Pillow, the columns are resampled first and rounded to 8-bit
levels, then the rows.
"""
import math
from typing import Callable, Dict, Tuple

import torch


def _box(x: torch.Tensor) -> torch.Tensor:
    return ((x > -0.5) & (x <= 0.5)).to(x.dtype)


def _bilinear(x: torch.Tensor) -> torch.Tensor:
    return (1 - x.abs()).clamp(min=0)


def _hamming(x: torch.Tensor) -> torch.Tensor:
    x = x.abs()
    pi_x = math.pi * x
    window = torch.where(
        x == 0, torch.ones_like(x),
        torch.sin(pi_x) / pi_x.clamp(min=1e-12) *
        (0.54 + 0.46 * torch.cos(pi_x)))
    return torch.where(x < 1, window, torch.zeros_like(x))


def _bicubic(x: torch.Tensor, a: float = -0.5) -> torch.Tensor:
    x = x.abs()
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * a
    return torch.where(x < 1, near, torch.where(x < 2, far, 0 * x))


def _lanczos(x: torch.Tensor) -> torch.Tensor:
    inside = x.abs() < 3
    return torch.where(inside,
                       torch.sinc(x) * torch.sinc(x / 3), torch.zeros_like(x))


# Pillow's resampling filters (Resample.c): name -> (support, filter)
PILLOW_FILTERS: Dict[str, Tuple[float, Callable]] = dict(
    box=(0.5, _box),
    bilinear=(1., _bilinear),
    hamming=(1., _hamming),
    bicubic=(2., _bicubic),
    lanczos=(3., _lanczos))


def resample_weights(start: torch.Tensor, length: torch.Tensor, size: int,
                     extent: int, interpolation: str) -> torch.Tensor:
    """Matrices that resample ``[start, start + length)`` of an axis to
    ``size`` samples as Pillow does.

    Args:
        start (torch.Tensor): First pixel of each crop, shape ``(N, )``.
        length (torch.Tensor): Pixels of each crop, shape ``(N, )``.
        size (int): Output samples.
        extent (int): Pixels of the (padded) axis.
        interpolation (str): A key of :data:`PILLOW_FILTERS`.

    Returns:
        torch.Tensor: Weights of shape ``(N, size, extent)``, each row
        summing to 1 and zero outside its crop.
    """
    if interpolation not in PILLOW_FILTERS:
        raise ValueError(
            f'resized crops on the device: interpolation {interpolation!r} '
            f'has no Pillow filter; expected one of {sorted(PILLOW_FILTERS)}')
    support, kernel = PILLOW_FILTERS[interpolation]
    # the taps in double precision, as Pillow computes them; the weights of
    # every pixel of the axis in single precision
    start = start.to(torch.float64)[:, None, None]
    length = length.to(torch.float64)[:, None, None]
    scale = length / size
    filter_scale = scale.clamp(min=1.)
    reach = support * filter_scale
    device = start.device
    center = (torch.arange(size, device=device, dtype=torch.float64) +
              0.5)[None, :, None] * scale
    # Pillow's taps: from int(center - reach + 0.5) up to, not including,
    # int(center + reach + 0.5), inside the crop
    first = torch.floor(center - reach + 0.5).clamp(min=0) + start
    last = torch.minimum(torch.floor(center + reach + 0.5), length) + start
    pixel = torch.arange(
        extent, device=device, dtype=torch.float32)[None, None]
    taps = (pixel >= first.float()) & (pixel < last.float())
    offset = (center + start - 0.5).float()
    weights = kernel((pixel - offset) / filter_scale.float()) * taps
    return weights / weights.sum(-1, keepdim=True)


def resized_crops(images: torch.Tensor,
                  boxes: torch.Tensor,
                  size: int,
                  interpolation: str = 'bicubic') -> torch.Tensor:
    """Cut every box of every image and resize it to ``size`` x ``size``.

    Args:
        images (torch.Tensor): ``(B, C, H, W)`` grey levels in [0, 255]
            (any padding right and below is never read).
        boxes (torch.Tensor): ``(B, V, 5)``: ``x, y, w, h`` of each box in
            its image's pixels and 1 where the crop is flipped
            horizontally.
        size (int): Output side.
        interpolation (str): Pillow filter (:data:`PILLOW_FILTERS`).
            Defaults to ``'bicubic'``.

    Returns:
        torch.Tensor: ``(B, V, C, size, size)`` float32 crops, rounded to
        integer levels in [0, 255] as Pillow's 8-bit output.
    """
    num, views = boxes.shape[:2]
    height, width = images.shape[-2:]
    flat = boxes.reshape(-1, 5)
    columns = resample_weights(flat[:, 0], flat[:, 2], size, width,
                               interpolation)
    flipped = flat[:, 4].bool()[:, None, None]
    columns = torch.where(flipped, columns.flip(1), columns)
    rows = resample_weights(flat[:, 1], flat[:, 3], size, height,
                            interpolation)
    columns = columns.view(num, views, 1, size, width).transpose(-1, -2)
    rows = rows.view(num, views, 1, size, height)
    # columns first, rounded to 8-bit levels, then rows (Pillow's order)
    crops = torch.matmul(images.float()[:, None], columns)
    crops = torch.floor(crops + 0.5).clamp_(0, 255)
    crops = torch.matmul(rows, crops)
    return torch.floor(crops + 0.5).clamp_(0, 255)
