# Copyright (c) mcl_mm contributors. All rights reserved.
"""mmpretrain's ``ColorJitter`` (Pillow backend), in ``RandomApply``."""
import math
from typing import List, Tuple

import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from kornia.color import hsv_to_rgb, rgb_to_hsv

from ..datasets.transforms.color_jitter import adjust_hue
from .base import AUGMENTS, LUMA, AugmentSpec, gray

#: The jitter's ops, in the order of its factors and draws.
JITTER_OPS = ('brightness', 'contrast', 'saturation', 'hue')


def _range(value, center: float = 1.0) -> Tuple[float, float]:
    """mmpretrain's ColorJitter range: a number v gives [center - v,
    center + v] (not below 0 for factors)."""
    if isinstance(value, (tuple, list)):
        return float(value[0]), float(value[1])
    low = center - value
    return (max(0.0, low) if center else low), center + value


def _block(m: torch.Tensor) -> torch.Tensor:
    """A 3x3 matrix as the colour block of a 4x4 map on (r, g, b, 1)."""
    return F.pad(m, (0, 1, 0, 1))


def jitter_basis() -> torch.Tensor:
    """(6, 128): per jitter op (brightness, contrast, saturation, hue) its
    4x4 map and below it the 4x4 map of its offset per unit grey mean (only
    contrast's is not zero), as affine maps of z = (b, c, s, sin(theta),
    cos(theta)): z @ basis[:5] + basis[5]."""
    f64 = dict(dtype=torch.float64)
    q = 1 / math.sqrt(3)
    # R(theta) = I + sin(theta) K + (1 - cos(theta)) K @ K rotates about
    # the grey axis (1, 1, 1) / sqrt(3)
    k = torch.tensor([[0., -q, q], [q, 0., -q], [-q, q, 0.]], **f64)
    colour = _block(torch.eye(3, **f64))
    one = torch.eye(4, **f64) - colour
    luma = _block(torch.ones(3, 1, **f64) * torch.tensor(LUMA, **f64))
    offset = F.pad(torch.ones(3, 1, **f64), (3, 0, 0, 1))
    # basis[z, op, 0 (map) | 1 (offset)]
    basis = torch.zeros(6, 4, 2, 4, 4, **f64)
    basis[0, 0, 0] = colour  # brightness: b I + one
    basis[5, 0, 0] = one
    basis[1, 1, 0] = colour  # contrast: c I + one, offset (1 - c) g
    basis[5, 1, 0] = one
    basis[1, 1, 1] = -offset
    basis[5, 1, 1] = offset
    basis[2, 2, 0] = colour - luma  # saturation: s I + (1 - s) luma + one
    basis[5, 2, 0] = luma + one
    basis[3, 3, 0] = _block(k)  # hue: I + sin K + (1 - cos) K^2
    basis[4, 3, 0] = -_block(k @ k)
    basis[5, 3, 0] = torch.eye(4, **f64) + _block(k @ k)
    return basis.flatten(1).float()


@AUGMENTS.register_module(name='ColorJitter')
class ColorJitterSpec(AugmentSpec):
    """mmpretrain's ``ColorJitter`` (Pillow backend) per image: brightness,
    contrast, saturation and hue factors drawn per image and applied in a
    random order drawn per image.

    Brightness scales the image; contrast blends it with the mean of its
    grey version; saturation blends it with its grey version (Pillow's
    enhancers); hue shifts the hue by ``factor`` of a turn.

    - Draws (9 per image): the four factors, uniform over their ranges;
      whether the jitter applies; four keys whose argsort is the op order.
    - Per-op form: Pillow's blends, kornia's HSV hue shift, a clamp after
      every op.
    - Fused: each op is an affine map of (r, g, b, 1) (contrast's offset
      is a map of the image's channel means), composed in the image's own
      order. Hue rotates the colours about the grey axis (as NVIDIA DALI's
      and FFCV's colour twists do) where Pillow shifts the HSV hue, which
      could not fold into the map: on 8 photos the mean absolute
      difference is 1.0-1.2 grey levels at a shift of 0.02 turn, 2.2-2.4
      at 0.05 and 2.1-4.8 at 0.1, the bound of BYOL's recipe.

    Args:
        brightness (float | tuple): Factor range, v -> [1 - v, 1 + v].
        contrast (float | tuple): Factor range.
        saturation (float | tuple): Factor range.
        hue (float | tuple): Shift range, v -> [-v, v], 0 <= v <= 0.5.
        prob (float): The ``RandomApply`` probability. Defaults to 1.
    """

    colour = True
    draw_width = 9

    def __init__(self,
                 brightness=0.,
                 contrast=0.,
                 saturation=0.,
                 hue=0.,
                 prob: float = 1.0) -> None:
        super().__init__(prob)
        self.ranges = (_range(brightness), _range(contrast),
                       _range(saturation), _range(hue, center=0.0))
        basis = jitter_basis()
        self.register_buffer('basis', basis[:5], persistent=False)
        self.register_buffer('basis_const', basis[5:], persistent=False)
        self.register_buffer(
            'phase', torch.tensor([0., math.pi / 2]), persistent=False)
        self.register_buffer(
            'two_pi', torch.full((2, ), 2 * math.pi), persistent=False)
        self.register_buffer(
            'identity_factors',
            torch.tensor([1., 1., 1., 0.]),
            persistent=False)

    # ------------------------------------------------------- parameters
    def params(self) -> List[float]:
        """``prob``, the four ranges' lows, then their spans."""
        low = [r[0] for r in self.ranges]
        span = [r[1] - lo for r, lo in zip(self.ranges, low)]
        return [self.prob] + low + span

    # ------------------------------------------------------------ draws
    def values(self, params: torch.Tensor,
               draws: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Per image: (n, 4) factors (the identity's where the jitter does
        not apply) and (n, 4) its op indices by position."""
        prob, low, span = params.split([1, 4, 4], 1)
        u_factors, u_apply, u_order = draws.split([4, 1, 4], 1)
        factors = torch.where(u_apply < prob,
                              torch.addcmul(low, u_factors, span),
                              self.identity_factors)
        return factors, torch.argsort(u_order, dim=1)

    def draws_for(self, order=(0, 1, 2, 3), **factors) -> torch.Tensor:
        """Draws applying the jitter with ``factors`` (by op name; the
        others at their identity) in ``order`` (op indices by position).
        """
        identity = dict(brightness=1., contrast=1., saturation=1., hue=0.)
        identity.update(factors)
        u = []
        for op, (low, high) in zip(JITTER_OPS, self.ranges):
            u.append((identity[op] - low) / (high - low) if high > low else 0)
        keys = torch.empty(4)
        keys[list(order)] = torch.arange(4.) / 4 + 0.1
        return torch.cat([torch.tensor(u + [0.]), keys])

    # ---------------------------------------------------- CPU reference
    def cpu_reference(self, rgb: np.ndarray, **factors) -> np.ndarray:
        """The CPU ``ColorJitter``'s ops (Pillow backend: mmcv's, the hue
        step :func:`~mcl_mm.datasets.transforms.adjust_hue`, equal to
        mmcv's on numpy 1) with ``factors``, by op name, applied in the
        keywords' order, each rounded and clamped to 8 bits."""
        ops = dict(
            brightness=lambda i, f: mmcv.adjust_brightness(
                i, f, backend='pillow'),
            contrast=lambda i, f: mmcv.adjust_contrast(i, f, backend='pillow'),
            saturation=lambda i, f: mmcv.adjust_color(
                i, alpha=f, backend='pillow'),
            hue=lambda i, f: adjust_hue(i, f, backend='pillow'))
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        for op, factor in factors.items():
            bgr = ops[op](bgr, factor)
        return np.ascontiguousarray(bgr[..., ::-1])

    # ----------------------------------------------------- per-op device
    @staticmethod
    def brightness(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        return (x * f.view(-1, 1, 1, 1)).clamp(0, 255)

    @staticmethod
    def contrast(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        mean = gray(x).mean((1, 2, 3), keepdim=True)
        f = f.view(-1, 1, 1, 1)
        return (mean + f * (x - mean)).clamp(0, 255)

    @staticmethod
    def saturation(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        grey = gray(x)
        f = f.view(-1, 1, 1, 1)
        return (grey + f * (x - grey)).clamp(0, 255)

    @staticmethod
    def hue(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        hsv = rgb_to_hsv(x / 255)
        h = torch.remainder(hsv[:, :1] + f.view(-1, 1, 1, 1) * 2 * math.pi,
                            2 * math.pi)
        return hsv_to_rgb(torch.cat([h, hsv[:, 1:]], 1)).clamp(0, 1) * 255

    def draw(self, n: int,
             device: torch.device) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """The per-op form's draws: per image the four factors and the
        order of the four ops.

        Args:
            n (int): Images.
            device (torch.device): Where the draws live.

        Returns:
            tuple: ``factors`` (brightness, contrast, saturation, hue; each
            (n,)) and ``order`` ((n, 4), op indices by position).
        """
        factors = [
            torch.empty(n, device=device).uniform_(lo, hi)
            for lo, hi in self.ranges
        ]
        order = torch.argsort(torch.rand(n, 4, device=device), dim=1)
        return factors, order

    def apply_ops(self, x: torch.Tensor, factors: List[torch.Tensor],
                  order: torch.Tensor) -> torch.Tensor:
        """At each position every op runs on the whole batch and each image
        keeps the result of its own op there (a select, no index).

        Args:
            x (torch.Tensor): (N, 3, H, W) RGB in [0, 255].
            factors (List[torch.Tensor]): From :meth:`draw`.
            order (torch.Tensor): From :meth:`draw`.
        """
        ops = (self.brightness, self.contrast, self.saturation, self.hue)
        for position in range(4):
            op_here = order[:, position].view(-1, 1, 1, 1)
            for k, op in enumerate(ops):
                x = torch.where(op_here == k, op(x, factors[k]), x)
        return x

    def transform(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        return self.apply_ops(x, *self.draw(x.size(0), x.device))

    # ------------------------------------------------------------ fused
    def compose(self, params: torch.Tensor, draws: torch.Tensor,
                maps: torch.Tensor, luma_mu: torch.Tensor) -> torch.Tensor:
        n = maps.size(0)
        factors, order = self.values(params, draws)
        bcs, hue = factors.split([3, 1], 1)
        # (sin, cos) of the hue angle 2 pi h: sin(2 pi h + (0, pi / 2))
        sin_cos = torch.sin(torch.addcmul(self.phase, hue, self.two_pi))
        # per op its map and its offset per unit grey mean, affine in the
        # factors; then in the image's own order
        ops = torch.addmm(self.basis_const, torch.cat([bcs, sin_cos], 1),
                          self.basis).view(n, 4, 8, 4)
        here, offsets = torch.gather(ops, 1,
                                     order.view(n, 4, 1,
                                                1).expand(n, 4, 8,
                                                          4)).split([4, 4], 2)
        # contrast adds (1 - c) g to every channel, g the grey mean of the
        # image where it is applied; the other ops add nothing
        for op, offset in zip(here.unbind(1), offsets.unbind(1)):
            grey_mean = (maps * luma_mu).sum((1, 2), keepdim=True)
            maps = torch.addcmul(torch.bmm(op, maps), grey_mean, offset)
        return maps
