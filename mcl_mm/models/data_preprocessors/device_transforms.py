# Copyright (c) mcl_mm contributors. All rights reserved.
"""BYOL's photometric view augmentation, batched on the device.

Each module takes a batch of RGB images as floats in [0, 255] and draws
its own random parameters for every image (every tile copy), with the names,
probabilities and ranges of the CPU transforms it replaces (mmpretrain's
``ColorJitter`` in ``RandomApply``, mmcv's ``RandomGrayscale``,
mmpretrain's ``GaussianBlur`` and ``Solarize``). The CPU ops work on 8-bit
images with Pillow; these work in float and round nowhere, so they agree
with them within a grey level or so (the tests state each tolerance).
Kornia supplies the HSV conversion and the Gaussian filter; the blends
that Pillow's enhancers compute (brightness, contrast, saturation) are
written here, because kornia's own ``adjust_contrast`` /
``adjust_saturation`` follow other definitions.
"""
import math
from typing import List, Sequence, Tuple

import torch
from kornia.color import hsv_to_rgb, rgb_to_hsv
from kornia.filters import gaussian_blur2d
from mmengine.registry import Registry
from torch import nn

DEVICE_TRANSFORMS = Registry('device transform')


def build_device_transform(cfg: dict) -> nn.Module:
    """Build a :data:`DEVICE_TRANSFORMS` entry from its config (no scope
    switching: the registry is this package's own)."""
    args = dict(cfg)
    name = args.pop('type')
    cls = DEVICE_TRANSFORMS.get(name)
    if cls is None:
        raise KeyError(f'{name} has no device version; device transforms: '
                       f'{sorted(DEVICE_TRANSFORMS.module_dict)}')
    return cls(**args)


# Pillow's "L" conversion (ITU-R 601-2), R, G, B
_LUMA = (0.299, 0.587, 0.114)


def _gray(x: torch.Tensor, weights: Sequence[float] = _LUMA) -> torch.Tensor:
    w = x.new_tensor(weights).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def _uniform(n: int, low: float, high: float,
             device: torch.device) -> torch.Tensor:
    return torch.empty(n, device=device).uniform_(low, high)


def _chosen(n: int, prob: float, device: torch.device) -> torch.Tensor:
    """A boolean mask: each image takes the op with probability ``prob``."""
    return torch.rand(n, device=device) < prob


class DeviceTransform(nn.Module):
    """Applies :meth:`transform` to a random subset of the batch.

    Every image is transformed and a per-image select keeps the unchosen
    ones: no step waits for the device (a boolean index would copy the
    chosen count to the host, hundreds of times per training step).

    Args:
        prob (float): Probability that an image is transformed.
    """

    def __init__(self, prob: float = 1.0) -> None:
        super().__init__()
        self.prob = prob

    def transform(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """Transform every image of ``x`` with its own random parameters
        (``x`` itself is left as it is).

        Args:
            x (torch.Tensor): (N, 3, H, W) RGB in [0, 255].
            scale (float): The side of these copies relative to the
                full-size view (1 / r_i for a level-i copy made at its tile
                size); only transforms measured in pixels use it.
        """
        raise NotImplementedError

    def forward(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """Transform the chosen images of a (N, 3, H, W) batch (``scale``:
        see :meth:`transform`)."""
        if self.prob <= 0:
            return x
        chosen = _chosen(x.size(0), self.prob, x.device)
        return torch.where(
            chosen.view(-1, 1, 1, 1), self.transform(x, scale), x)


def _range(value, center: float = 1.0) -> Tuple[float, float]:
    """mmpretrain's ColorJitter range: a number v gives [center - v,
    center + v] (not below 0 for factors)."""
    if isinstance(value, (tuple, list)):
        return float(value[0]), float(value[1])
    low = center - value
    return (max(0.0, low) if center else low), center + value


@DEVICE_TRANSFORMS.register_module(name='ColorJitter')
class BatchColorJitter(DeviceTransform):
    """mmpretrain's ``ColorJitter`` (Pillow backend) per image: brightness,
    contrast, saturation and hue factors drawn per image and applied in a
    random order drawn per image.

    Brightness scales the image; contrast blends it with the mean of its
    grey version; saturation blends it with its grey version (Pillow's
    enhancers); hue shifts the HSV hue by ``factor`` of a turn.

    Args:
        brightness (float | tuple): Factor range, v -> [1 - v, 1 + v].
        contrast (float | tuple): Factor range.
        saturation (float | tuple): Factor range.
        hue (float | tuple): Shift range, v -> [-v, v], 0 <= v <= 0.5.
        prob (float): The ``RandomApply`` probability. Defaults to 1.
    """

    def __init__(self,
                 brightness=0.,
                 contrast=0.,
                 saturation=0.,
                 hue=0.,
                 prob: float = 1.0) -> None:
        super().__init__(prob)
        self.ranges = (_range(brightness), _range(contrast),
                       _range(saturation), _range(hue, center=0.0))

    @staticmethod
    def brightness(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        return (x * f.view(-1, 1, 1, 1)).clamp(0, 255)

    @staticmethod
    def contrast(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        mean = _gray(x).mean((1, 2, 3), keepdim=True)
        f = f.view(-1, 1, 1, 1)
        return (mean + f * (x - mean)).clamp(0, 255)

    @staticmethod
    def saturation(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        gray = _gray(x)
        f = f.view(-1, 1, 1, 1)
        return (gray + f * (x - gray)).clamp(0, 255)

    @staticmethod
    def hue(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        hsv = rgb_to_hsv(x / 255)
        h = torch.remainder(hsv[:, :1] + f.view(-1, 1, 1, 1) * 2 * math.pi,
                            2 * math.pi)
        return hsv_to_rgb(torch.cat([h, hsv[:, 1:]], 1)).clamp(0, 1) * 255

    def draw(self, n: int,
             device: torch.device) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """Per image: the four factors and the order of the four ops.

        Args:
            n (int): Images.
            device (torch.device): Where the draws live.

        Returns:
            tuple: ``factors`` (brightness, contrast, saturation, hue; each
            (n,)) and ``order`` ((n, 4), op indices by position).
        """
        factors = [_uniform(n, lo, hi, device) for lo, hi in self.ranges]
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


@DEVICE_TRANSFORMS.register_module(name='RandomGrayscale')
class BatchGrayscale(DeviceTransform):
    """mmcv's ``RandomGrayscale``: the weighted channel sum, kept as three
    channels.

    Args:
        prob (float): Defaults to 0.1.
        channel_weights (Sequence[float]): Weights in the CPU pipeline's
            BGR order (as mmcv's transform takes them), normalised to sum 1.
        keep_channels (bool): Must be True (the views stay 3-channel).
    """

    def __init__(self,
                 prob: float = 0.1,
                 channel_weights: Sequence[float] = (1., 1., 1.),
                 keep_channels: bool = True) -> None:
        super().__init__(prob)
        if not keep_channels:
            raise ValueError('RandomGrayscale on the device keeps 3 channels')
        total = float(sum(channel_weights))
        b, g, r = (w / total for w in channel_weights)
        self.rgb_weights = (r, g, b)

    def transform(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        return _gray(x, self.rgb_weights).expand_as(x).contiguous()


@DEVICE_TRANSFORMS.register_module(name='GaussianBlur')
class BatchGaussianBlur(DeviceTransform):
    """mmpretrain's ``GaussianBlur`` with a radius (sigma) drawn uniformly
    per image from ``magnitude_range`` (``magnitude_std='inf'``); kornia's
    Gaussian filter, edges replicated as Pillow does.

    Sigma is in pixels of the full-size view: a copy made at ``scale`` times
    that size (a montage level's copy cropped straight to its tile) is
    blurred by ``scale * sigma`` of its own pixels, with a kernel to match,
    which is the blur of the full-size copy shrunk to that size, as the MCL
    authors blur before they shrink.

    Args:
        magnitude_range (Tuple[float, float]): Sigma range in pixels.
        magnitude_std (str | float): Must be 'inf' (uniform draws).
        prob (float): Defaults to 0.5.
    """

    def __init__(self,
                 magnitude_range: Tuple[float, float] = (0.1, 2.0),
                 magnitude_std='inf',
                 prob: float = 0.5) -> None:
        super().__init__(prob)
        if magnitude_std != 'inf':
            raise ValueError("GaussianBlur on the device draws sigma "
                             "uniformly: magnitude_std must be 'inf'")
        self.magnitude_range = tuple(magnitude_range)

    @staticmethod
    def kernel_size(sigma: float) -> int:
        """The odd kernel side that holds +-3 ``sigma`` (at least 3)."""
        return 2 * max(1, math.ceil(3 * sigma)) + 1

    def transform(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        sigma = _uniform(x.size(0), *self.magnitude_range, x.device) * scale
        size = min(
            self.kernel_size(self.magnitude_range[1] * scale),
            2 * (min(x.shape[-2:]) // 2) - 1)
        return gaussian_blur2d(
            x, (size, size),
            torch.stack([sigma, sigma], 1),
            border_type='replicate')


@DEVICE_TRANSFORMS.register_module(name='Solarize')
class BatchSolarize(DeviceTransform):
    """mmpretrain's ``Solarize``: values >= ``thr`` become 255 - value.

    Args:
        thr (float): Threshold. Defaults to 128.
        prob (float): Defaults to 0.5.
    """

    def __init__(self, thr: float = 128, prob: float = 0.5) -> None:
        super().__init__(prob)
        self.thr = thr

    def transform(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        return torch.where(x < self.thr, x, 255 - x)
