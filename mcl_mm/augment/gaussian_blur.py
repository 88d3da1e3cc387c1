# Copyright (c) mcl_mm contributors. All rights reserved.
"""mmpretrain's ``GaussianBlur`` (Pillow's ``ImageFilter.GaussianBlur``),
with its radius in pixels of the full-size view."""
import math
from typing import List, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from kornia.filters import gaussian_blur2d

from mmpretrain.registry import TRANSFORMS
from .base import AUGMENTS, AugmentSpec, FusedStage, ViewLayout


def box_radius(sigma: Union[float, torch.Tensor]):
    """Pillow's extended box radius for a Gaussian blur of ``sigma`` made of
    three box passes (``ImagingGaussianBlur``; Gwosdek et al., SSVM 2011):
    each box has variance sigma^2 / 3."""
    var = sigma**2 / 3
    lower = ((12 * var + 1)**0.5 - 1) // 2
    frac = (2 * lower + 1) * (lower *
                              (lower + 1) - 3 * var) / (6 * (var -
                                                             (lower + 1)**2))
    return lower + frac


def pillow_blur_kernel(sigma: float, radius: int) -> torch.Tensor:
    """Pillow's 1-D ``GaussianBlur(sigma)`` kernel (three extended boxes
    convolved), on taps -radius..radius (float64)."""
    r = box_radius(float(sigma))
    lower = math.floor(r)
    taps = torch.arange(-radius, radius + 1, dtype=torch.float64).abs()
    box = ((taps <= lower).double() + (taps == lower + 1).double() *
           (r - lower)) / (2 * r + 1)
    kernel = box
    for _ in range(2):
        kernel = F.conv1d(
            F.pad(kernel, (radius, radius))[None, None],
            box.flip(0)[None, None])[0, 0]
    return kernel


def kernel_radius(sigma: float) -> int:
    """The support radius of Pillow's kernel for ``sigma``: three boxes of
    integer radius floor(r) + 1."""
    return 3 * (math.floor(box_radius(float(sigma))) + 1)


@AUGMENTS.register_module(name='GaussianBlur')
class GaussianBlurSpec(AugmentSpec):
    """mmpretrain's ``GaussianBlur`` with a radius (sigma) drawn uniformly
    per image from ``magnitude_range`` (``magnitude_std='inf'``).

    Sigma is in pixels of the full-size view: a copy made at ``scale`` times
    that size (a montage level's copy cropped straight to its tile) is
    blurred by ``scale * sigma`` of its own pixels, with a kernel to match,
    which is the blur of the full-size copy shrunk to that size, as the MCL
    authors blur before they shrink. The caller passes ``scale`` (the
    montage geometry's blur scale); nothing here derives it.

    - Draws (2 per image): sigma, uniform over ``magnitude_range``;
      whether the blur applies.
    - Per-op form: kornia's sampled Gaussian (kernel +-3 sigma), edges
      replicated as Pillow extends them.
    - Fused (:class:`GaussianBlurStage`): Pillow's own kernel, three
      extended boxes of variance sigma^2 / 3 each (so also below one pixel,
      where a sampled Gaussian hardly blurs), looked up in a table over
      sigma and interpolated; each image filtered with its own separable
      kernel (two grouped 1-D convolutions).

    Args:
        magnitude_range (Tuple[float, float]): Sigma range in pixels.
        magnitude_std (str | float): Must be 'inf' (uniform draws).
        prob (float): Defaults to 0.5.
    """

    draw_width = 2
    #: Sigmas in the fused stage's kernel table; kernels between two are
    #: interpolated (the variance is off by at most (step / 2)^2).
    table_size = 1024

    def __init__(self,
                 magnitude_range: Tuple[float, float] = (0.1, 2.0),
                 magnitude_std='inf',
                 prob: float = 0.5) -> None:
        super().__init__(prob)
        if magnitude_std != 'inf':
            raise ValueError("GaussianBlur on the device draws sigma "
                             "uniformly: magnitude_std must be 'inf'")
        self.magnitude_range = tuple(magnitude_range)

    # ------------------------------------------------------- parameters
    def params(self) -> List[float]:
        """``prob``, the lowest sigma and the range's span."""
        low, high = self.magnitude_range
        return [self.prob, low, high - low]

    @classmethod
    def scaled_config(cls, cfg: dict, factor: float) -> dict:
        """``cfg`` with its ``radius`` or ``magnitude_range`` times
        ``factor``."""
        cfg = dict(cfg)
        for key in ('magnitude_range', 'radius'):
            value = cfg.get(key)
            if isinstance(value, (tuple, list)):
                cfg[key] = type(value)(v * factor for v in value)
            elif value is not None:
                cfg[key] = value * factor
        return cfg

    # ------------------------------------------------------------ draws
    def values(self, params: torch.Tensor,
               draws: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Per image, (n,) its sigma at the full size and (n,) whether the
        blur applies."""
        prob, low, span = params.unbind(1)
        u_sigma, u_apply = draws.unbind(1)
        return torch.addcmul(low, u_sigma, span), u_apply < prob

    def draws_for(self, sigma: float) -> torch.Tensor:
        """Draws blurring with ``sigma`` (full-size pixels)."""
        low, high = self.magnitude_range
        return torch.tensor([
            (sigma - low) / (high - low) if high > low else 0., 0.
        ])

    # ---------------------------------------------------- CPU reference
    def cpu_reference(self, rgb: np.ndarray, sigma: float) -> np.ndarray:
        """mmpretrain's ``GaussianBlur`` with ``radius=sigma``."""
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        out = TRANSFORMS.build(
            dict(type='GaussianBlur', radius=sigma,
                 prob=1.))(dict(img=bgr))['img']
        return np.ascontiguousarray(out[..., ::-1])

    # ----------------------------------------------------- per-op device
    @staticmethod
    def kernel_size(sigma: float) -> int:
        """The odd kernel side that holds +-3 ``sigma`` (at least 3)."""
        return 2 * max(1, math.ceil(3 * sigma)) + 1

    def transform(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        sigma = torch.empty(
            x.size(0), device=x.device).uniform_(*self.magnitude_range) * scale
        size = min(
            self.kernel_size(self.magnitude_range[1] * scale),
            2 * (min(x.shape[-2:]) // 2) - 1)
        return gaussian_blur2d(
            x, (size, size),
            torch.stack([sigma, sigma], 1),
            border_type='replicate')

    # ------------------------------------------------------------ fused
    @classmethod
    def build_stage(cls, column: Sequence['GaussianBlurSpec']) -> FusedStage:
        return GaussianBlurStage(column, cls.table_size)


class GaussianBlurStage(FusedStage):
    """The blur of every view pipeline, fused: Pillow's kernels for sigma
    0 to the largest of the pipelines' ranges in one table, each image's
    kernel interpolated from it at its sigma times its level's factor.

    Args:
        column (Sequence[GaussianBlurSpec]): The blur of each pipeline.
        table_size (int): Sigmas in the kernel table.
    """

    def __init__(self, column: Sequence[GaussianBlurSpec],
                 table_size: int) -> None:
        super().__init__()
        self.spec = column[0]
        self.largest_sigma = max(s.magnitude_range[1] for s in column)
        self.radius = kernel_radius(self.largest_sigma)
        self.rows_per_sigma = table_size / max(self.largest_sigma, 1e-6)
        # each row with the difference to the next for the interpolation
        # (none after the last)
        kernels = torch.stack([
            pillow_blur_kernel(s, self.radius)
            for s in torch.linspace(0, self.largest_sigma, table_size + 1)
        ])
        steps = F.pad(kernels[1:] - kernels[:-1], (0, 0, 0, 1))
        self.register_buffer(
            'table', torch.cat([kernels, steps], 1).float(), persistent=False)

    def prepare(self, layout: ViewLayout) -> Tuple[torch.Tensor, List[int]]:
        """Per image its level's factor in rows of the table per sigma, and
        per group the taps its sigmas can reach."""
        scale = torch.tensor(
            [s * self.rows_per_sigma for s in layout.image_scales],
            device=layout.pipelines.device)
        radii = [
            kernel_radius(self.largest_sigma * s) for s in layout.group_scales
        ]
        return scale, radii

    def kernels(self, pos: torch.Tensor) -> torch.Tensor:
        """(m, 2 R + 1) Pillow's kernels for (m,) sigmas given in rows of
        the table (``rows_per_sigma``), interpolated between the two
        nearest rows."""
        row = pos.long()
        kernel, step = self.table[row].chunk(2, 1)
        return torch.addcmul(kernel, (pos - row).unsqueeze(1), step)

    @staticmethod
    def blur(x: torch.Tensor, weights: Tuple[torch.Tensor, torch.Tensor],
             size: Tuple[int, int]) -> torch.Tensor:
        """Filter each image of ``x`` (n, c, h * w) with its own separable
        kernel, edges replicated as Pillow extends them.

        Args:
            x (torch.Tensor): The images, flattened.
            weights (Tuple[torch.Tensor, torch.Tensor]): (n * c, 1, k, 1)
                and (n * c, 1, 1, k): each image's 1-D kernel per channel,
                vertical and horizontal.
            size (Tuple[int, int]): The images' (h, w).

        Returns:
            torch.Tensor: The filtered images, flattened.
        """
        n, c, _ = x.shape
        radius = weights[0].size(2) // 2
        y = F.pad(x.view(1, n * c, *size), (radius, ) * 4, mode='replicate')
        # along the rows first: the slower vertical pass then runs on fewer
        # columns
        y = F.conv2d(y, weights[1], groups=n * c)
        return F.conv2d(y, weights[0], groups=n * c).view_as(x)

    def forward(
            self, params: torch.Tensor, draws: torch.Tensor,
            xs: List[torch.Tensor], layout: ViewLayout,
            prepared: Tuple[torch.Tensor, List[int]]) -> List[torch.Tensor]:
        scale, radii = prepared
        sigma, applied = self.spec.values(params, draws)
        kernels = self.kernels((sigma * scale * applied)[layout.channel_image])
        size, top = kernels.size(1), self.radius
        counts = [3 * x.size(0) for x in xs]
        out = []
        for x, kv, kh, hw, r in zip(xs,
                                    kernels.view(-1, 1, size, 1).split(counts),
                                    kernels.view(-1, 1, 1, size).split(counts),
                                    layout.sizes, radii):
            if r < top:
                kv = kv.narrow(2, top - r, 2 * r + 1)
                kh = kh.narrow(3, top - r, 2 * r + 1)
            out.append(self.blur(x, (kv, kh), hw))
        return out
