# Copyright (c) mcl_mm contributors. All rights reserved.
"""The device transforms of every view pipeline in a few batched passes.

:class:`FusedAugment` runs the recipe of the per-op device transforms
(:mod:`.device_transforms`: the same names, probabilities and ranges, each
image copy with its own draws) in a form whose cost is a few passes over
the views and 147 aten ops per training step at S=4, whatever the batch:

- the view batches of one size (one montage level of every view pipeline)
  are one batch, and a step's random parameters are drawn in one call;
- consecutive colour steps (``ColorJitter``, its four ops in the order
  drawn for each image, and ``RandomGrayscale``) compose into one affine
  colour map per image, applied in one pass with the BGR-to-RGB swap.
  Brightness, saturation and greyscale are linear; contrast blends with the
  image's grey mean, which is the same affine map of the image's channel
  means; hue rotates the colours about the grey axis (as NVIDIA DALI's and
  FFCV's colour twists do) where Pillow shifts the HSV hue, which could
  not fold into the map: on 8 photos the mean absolute difference is
  1.0-1.2 grey levels at a shift of 0.02 turn, 2.2-2.4 at 0.05 and 2.1-4.8
  at 0.1, the bound of BYOL's recipe. Values are clamped to [0, 255] once,
  after the map, where Pillow clamps after every op (the whole chain
  differs from Pillow's by 1-6 grey levels without hue, most where
  brightness above 1 clips highlights that a later contrast pulls down);
- blur filters each image with its own separable kernel (two grouped 1-D
  convolutions): Pillow's ``GaussianBlur`` kernel, three extended boxes of
  variance sigma^2 / 3 each (so also below one pixel, where a sampled
  Gaussian hardly blurs), looked up in a table over sigma and
  interpolated, with sigma scaled per level as
  :class:`~.device_transforms.BatchGaussianBlur` does;
- solarize runs only on the images of pipelines that may solarize, in
  place: at Pillow's threshold 128 as the reflection min(x, 255 - x) (two
  ops), otherwise as a select against a per-image threshold.

The tests bound each op and the whole chain against the Pillow ops.
"""
import math
from typing import Callable, Dict, List, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from .device_transforms import (_LUMA, BatchColorJitter, BatchGaussianBlur,
                                BatchGrayscale, BatchSolarize)


def _jitter_params(t: BatchColorJitter) -> List[float]:
    low = [r[0] for r in t.ranges]
    return [t.prob] + low + [r[1] - lo for r, lo in zip(t.ranges, low)]


def _grey_params(t: BatchGrayscale) -> List[float]:
    # the 4x4 map, row-major: every channel the weighted sum
    m = torch.eye(4)
    m[:3, :3] = torch.tensor(t.rgb_weights)[None]
    return [t.prob] + m.flatten().tolist()


def _blur_params(t: BatchGaussianBlur) -> List[float]:
    low, high = t.magnitude_range
    return [t.prob, low, high - low]


# per device transform: its stage (consecutive colour steps compose into one
# map), its parameters per pipeline (probability first) and its draws
STAGES: Dict[type, Tuple[str, Callable[[nn.Module], List[float]], int]] = {
    BatchColorJitter: ('colour', _jitter_params, 9),
    BatchGrayscale: ('colour', _grey_params, 1),
    BatchGaussianBlur: ('blur', _blur_params, 2),
    BatchSolarize: ('solarize', lambda t: [t.prob, t.thr], 1),
}


def stage_signature(pipeline: Sequence[nn.Module]) -> List[Tuple[str, tuple]]:
    """A pipeline's stages: (kind, its steps' types), colour steps merged.

    Raises:
        TypeError: If a step has no fused version.
    """
    stages: List[Tuple[str, tuple]] = []
    for step in pipeline:
        if type(step) not in STAGES:
            raise TypeError(f'{type(step).__name__} has no fused version; '
                            'fused steps: '
                            f'{sorted(c.__name__ for c in STAGES)}')
        kind = STAGES[type(step)][0]
        if kind == 'colour' and stages and stages[-1][0] == 'colour':
            stages[-1] = ('colour', stages[-1][1] + (type(step), ))
        else:
            stages.append((kind, (type(step), )))
    return stages


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
    luma = _block(torch.ones(3, 1, **f64) * torch.tensor(_LUMA, **f64))
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


class FusedAugment(nn.Module):
    """Every view pipeline's device transforms, fused (see the module doc).

    Args:
        pipelines (Sequence[Sequence[nn.Module]]): Per view pipeline, its
            built device transforms in order. All pipelines must have the
            same steps in the same order (their probabilities and ranges
            may differ).
        blur_per_level (bool): Whether blur radii scale with each level's
            copy size (``MontageDataPreprocessor``'s switch).
        blur_table_size (int): Sigmas in the blur kernel table; kernels
            between two are interpolated (the variance is off by at most
            (step / 2)^2).

    Raises:
        TypeError: If a step has no fused version.
        ValueError: If the pipelines' steps differ.
    """

    def __init__(self,
                 pipelines: Sequence[Sequence[nn.Module]],
                 blur_per_level: bool = True,
                 blur_table_size: int = 1024) -> None:
        super().__init__()
        signatures = [stage_signature(p) for p in pipelines]
        if any(s != signatures[0] for s in signatures):
            raise ValueError(
                'fused device augments need the same steps in every view '
                f'pipeline, got {signatures}; set '
                'model.data_preprocessor.fuse_augments=False')
        self.num_pipelines = len(pipelines)
        self.blur_per_level = blur_per_level
        # per stage: its kind and steps (pipeline 0's, for their types and
        # static settings); the steps' parameters per pipeline are columns
        # of one table, their draws columns of one draw, both in step order
        self.stages: List[Tuple[str, List[nn.Module]]] = []
        table: List[List[float]] = [[] for _ in pipelines]
        self.param_widths: List[int] = []
        self.draw_widths: List[int] = []
        # per solarize stage, the pipelines it may apply to
        self.active_pipelines: Dict[int, List[int]] = {}
        first = 0
        for kind, types in signatures[0]:
            if kind == 'solarize':
                self.active_pipelines[len(self.stages)] = [
                    i for i, p in enumerate(pipelines) if p[first].prob > 0
                ]
            for i, cls in enumerate(types):
                values = [STAGES[cls][1](p[first + i]) for p in pipelines]
                for row, v in zip(table, values):
                    row += v
                self.param_widths.append(len(values[0]))
                self.draw_widths.append(STAGES[cls][2])
            self.stages.append(
                (kind, list(pipelines[0][first:first + len(types)])))
            first += len(types)
        self.register_buffer('params', torch.tensor(table), persistent=False)
        basis = jitter_basis()
        self.register_buffer('basis', basis[:5], persistent=False)
        self.register_buffer('basis_const', basis[5:], persistent=False)
        self.register_buffer('eye', torch.eye(4), persistent=False)
        self.register_buffer(
            'eye_flat', torch.eye(4).flatten(), persistent=False)
        self.register_buffer(
            'bgr', torch.eye(4)[[2, 1, 0, 3]], persistent=False)
        self.register_buffer(
            'luma_column',
            torch.tensor([*_LUMA, 0.])[:, None],
            persistent=False)
        self.register_buffer('never', torch.tensor(256.), persistent=False)
        self.register_buffer(
            'reflect', torch.tensor([255., 512.]), persistent=False)
        # solarize at Pillow's default threshold is a reflection (two ops)
        self.solarize_reflects = all(step.thr == 128 for p in pipelines
                                     for step in p
                                     if isinstance(step, BatchSolarize))
        self.register_buffer(
            'phase', torch.tensor([0., math.pi / 2]), persistent=False)
        self.register_buffer(
            'two_pi', torch.full((2, ), 2 * math.pi), persistent=False)
        self.register_buffer(
            'identity_factors',
            torch.tensor([1., 1., 1., 0.]),
            persistent=False)
        # blur: Pillow's kernels for sigma = 0..largest, each row with the
        # difference to the next for the interpolation (none after the last)
        self.largest_sigma = max([
            step.magnitude_range[1] for p in pipelines
            for step in p if isinstance(step, BatchGaussianBlur)
        ] or [0.])
        self.blur_radius = kernel_radius(self.largest_sigma)
        self.blur_rows_per_sigma = blur_table_size / max(
            self.largest_sigma, 1e-6)
        kernels = torch.stack([
            pillow_blur_kernel(s, self.blur_radius)
            for s in torch.linspace(0, self.largest_sigma, blur_table_size + 1)
        ])
        steps = F.pad(kernels[1:] - kernels[:-1], (0, 0, 0, 1))
        self.register_buffer(
            'blur_table',
            torch.cat([kernels, steps], 1).float(),
            persistent=False)
        self._layouts: Dict[tuple, Tuple[torch.Tensor, ...]] = {}

    def _layout(self, groups: List[List[int]], batch: int, scales: List[float],
                sizes: List[Tuple[int, int]]) -> Tuple[torch.Tensor, ...]:
        """Per image of the concatenated groups its pipeline and its copy's
        scale in rows of the blur table per sigma, and per channel its
        image; built once per layout, so no step copies anything to the
        device."""
        device = self.params.device
        key = (tuple(map(tuple, groups)), batch, tuple(sizes), device)
        if key not in self._layouts:
            pipe, scale = [], []
            for members in groups:
                for view in members:
                    pipe += [view // len(scales)] * batch
                    scale += [
                        scales[view % len(scales)] * self.blur_rows_per_sigma
                    ] * batch
            channel_image = torch.arange(
                len(pipe), device=device).repeat_interleave(3)
            pipe_t = torch.tensor(pipe, device=device)
            scale_t = torch.tensor(scale, device=device)
            self._layouts[key] = (pipe_t, scale_t, channel_image)
        return self._layouts[key]

    # ------------------------------------------------------------ colour
    def colour_maps(self, steps: List[nn.Module],
                    params: Sequence[torch.Tensor],
                    draws: Sequence[torch.Tensor], means: torch.Tensor,
                    bgr: bool) -> torch.Tensor:
        """Per image, the 4x4 map on (r, g, b, 1) of a colour stage: its
        steps in order, a jitter's ops in the image's own drawn order.

        Args:
            steps (List[nn.Module]): The stage's steps.
            params (Sequence[torch.Tensor]): Per step, (n, k) each image's
                parameters (``STAGES``' layout).
            draws (Sequence[torch.Tensor]): Per step, (n, d) each image's
                uniform draws.
            means (torch.Tensor): (n, 3) each image's channel means at the
                stage's input (contrast's grey mean is a map of them).
            bgr (bool): Whether the input is BGR (the map swaps it).

        Returns:
            torch.Tensor: (n, 4, 4).
        """
        n = means.size(0)
        m = (self.bgr if bgr else self.eye).expand(n, 4, 4)
        # luma_i * mu_j of the channel means (mu, 1): g = <m, luma mu^T>
        luma_mu = F.pad(means, (0, 1), value=1.)[:, None] * self.luma_column
        for step, p, u in zip(steps, params, draws):
            if isinstance(step, BatchGrayscale):
                prob, grey = p.split([1, 16], 1)
                grey = torch.where(u < prob, grey, self.eye_flat)
                m = torch.bmm(grey.view(n, 4, 4), m)
            else:
                m = self._jitter(p, u, m, luma_mu)
        return m

    def _jitter(self, p: torch.Tensor, u: torch.Tensor, m: torch.Tensor,
                luma_mu: torch.Tensor) -> torch.Tensor:
        """Compose one ``ColorJitter`` step onto the maps ``m``: per image,
        applied with its probability, factors and op order drawn."""
        n = m.size(0)
        prob, low, span = p.split([1, 4, 4], 1)
        u_factors, u_apply, u_order = u.split([4, 1, 4], 1)
        # an image the step skips gets the identity factors
        factors = torch.where(u_apply < prob,
                              torch.addcmul(low, u_factors, span),
                              self.identity_factors)
        bcs, hue = factors.split([3, 1], 1)
        # (sin, cos) of the hue angle 2 pi h: sin(2 pi h + (0, pi / 2))
        sin_cos = torch.sin(torch.addcmul(self.phase, hue, self.two_pi))
        # per op its map and its offset per unit grey mean, affine in the
        # factors; then in the image's own order
        maps = torch.addmm(self.basis_const, torch.cat([bcs, sin_cos], 1),
                           self.basis).view(n, 4, 8, 4)
        order = torch.argsort(u_order, dim=1)
        here, offsets = torch.gather(maps, 1,
                                     order.view(n, 4, 1,
                                                1).expand(n, 4, 8,
                                                          4)).split([4, 4], 2)
        # contrast adds (1 - c) g to every channel, g the grey mean of the
        # image where it is applied; the other ops add nothing
        for op, offset in zip(here.unbind(1), offsets.unbind(1)):
            grey_mean = (m * luma_mu).sum((1, 2), keepdim=True)
            m = torch.addcmul(torch.bmm(op, m), grey_mean, offset)
        return m

    def _colour(self, steps: List[nn.Module], params: Sequence[torch.Tensor],
                draws: Sequence[torch.Tensor], xs: List[torch.Tensor],
                bgr: bool) -> List[torch.Tensor]:
        # from the float values: a reduction of the uint8 views to float
        # would first copy them to float
        means = torch.cat([x.mean(2) for x in xs])
        linear, offset = self.colour_maps(steps, params, draws, means,
                                          bgr)[:, :3].split([3, 1], 2)
        counts = [x.size(0) for x in xs]
        return [
            torch.baddbmm(b, a, x).clamp_(0, 255)
            for x, a, b in zip(xs, linear.split(counts), offset.split(counts))
        ]

    # -------------------------------------------------------------- blur
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
        """
        n, c, _ = x.shape
        radius = weights[0].size(2) // 2
        y = F.pad(x.view(1, n * c, *size), (radius, ) * 4, mode='replicate')
        # along the rows first: the slower vertical pass then runs on fewer
        # columns
        y = F.conv2d(y, weights[1], groups=n * c)
        return F.conv2d(y, weights[0], groups=n * c).view_as(x)

    def blur_kernels(self, pos: torch.Tensor) -> torch.Tensor:
        """(m, 2 R + 1) Pillow's kernels for (m,) sigmas given in rows of
        the table (``blur_rows_per_sigma``), interpolated between the two
        nearest rows."""
        row = pos.long()
        kernel, step = self.blur_table[row].chunk(2, 1)
        return torch.addcmul(kernel, (pos - row).unsqueeze(1), step)

    def _blur(self, p: torch.Tensor, u: torch.Tensor, xs: List[torch.Tensor],
              sizes: List[Tuple[int, int]], scale: torch.Tensor,
              channel_image: torch.Tensor,
              level_scales: List[float]) -> List[torch.Tensor]:
        prob, low, span = p.unbind(1)
        u_sigma, u_apply = u.unbind(1)
        sigma = torch.addcmul(low, u_sigma, span) * scale * (u_apply < prob)
        kernels = self.blur_kernels(sigma[channel_image])
        size, top = kernels.size(1), self.blur_radius
        counts = [3 * x.size(0) for x in xs]
        out = []
        for x, kv, kh, hw, level in zip(
                xs,
                kernels.view(-1, 1, size, 1).split(counts),
                kernels.view(-1, 1, 1, size).split(counts), sizes,
                level_scales):
            # the taps this level's sigmas can reach
            r = kernel_radius(self.largest_sigma * level)
            if r < top:
                kv = kv.narrow(2, top - r, 2 * r + 1)
                kh = kh.narrow(3, top - r, 2 * r + 1)
            out.append(self.blur(x, (kv, kh), hw))
        return out

    # ---------------------------------------------------------- solarize
    def _solarize(self, p: torch.Tensor, u: torch.Tensor,
                  xs: List[torch.Tensor], runs: List[Tuple[int, int]],
                  rows: torch.Tensor) -> List[torch.Tensor]:
        """Solarize in place the rows ``runs`` of each group (the images of
        pipelines whose probability is not 0; ``rows``: their indices)."""
        prob, thr = p.split(1, 1)
        chosen = u < prob
        counts = [length for _, length in runs]
        if self.solarize_reflects:
            # threshold 128 on 8-bit values is the reflection 255 - x of
            # every x above 127.5: min(x, 255 - x); an image left alone
            # reflects about 256 instead, above every value
            centres = torch.where(chosen, self.reflect[0], self.reflect[1])
            for x, (start, length), c in zip(
                    xs, runs, centres[rows].view(-1, 1, 1).split(counts)):
                part = x if length == x.size(0) else x.narrow(0, start, length)
                torch.minimum(part, c - part, out=part)
            return xs
        # an image left alone gets a threshold above every value
        thr = torch.where(chosen, thr, self.never)
        for x, (start,
                length), t in zip(xs, runs, thr[rows].view(-1, 1,
                                                           1).split(counts)):
            part = x if length == x.size(0) else x.narrow(0, start, length)
            torch.where(part >= t, 255 - part, part, out=part)
        return xs

    def _active_rows(self, stage: int, groups: List[List[int]], batch: int,
                     num_levels: int) -> Tuple[list, torch.Tensor]:
        """Per group the run of rows covering the pipelines whose step
        ``stage`` may apply (probability above 0), and those rows' indices
        in the concatenated groups; built once per layout."""
        key = ('rows', stage, tuple(map(tuple,
                                        groups)), batch, self.params.device)
        if key not in self._layouts:
            active = self.active_pipelines[stage]
            runs, rows, first = [], [], 0
            for g in groups:
                at = [
                    k
                    for k, view in enumerate(g) if view // num_levels in active
                ] or [0]
                start, end = at[0] * batch, (at[-1] + 1) * batch
                runs.append((start, end - start))
                rows += range(first + start, first + end)
                first += len(g) * batch
            self._layouts[key] = (runs,
                                  torch.tensor(
                                      rows, device=self.params.device))
        return self._layouts[key]

    # ----------------------------------------------------------- forward
    def draw(self, n: int, device: torch.device) -> torch.Tensor:
        """(n, d) uniform draws in [0, 1): per image, its steps' draws in
        step order (``draw_widths``): a jitter's four factors, whether it
        applies and its four op order keys; whether grey applies; a blur's
        sigma and whether it applies; whether solarize applies."""
        return torch.rand(n, sum(self.draw_widths), device=device)

    def forward(self,
                views: List[torch.Tensor],
                bgr: bool = False) -> List[torch.Tensor]:
        """Augment one step's view batches.

        Args:
            views (List[torch.Tensor]): Every pipeline's views, its levels
                in order (``split_views``' layout), each (B, 3, H, W),
                uint8 or float in [0, 255].
            bgr (bool): Whether the views are BGR (made RGB here).

        Returns:
            List[torch.Tensor]: RGB float views in the same order.
        """
        if len(views) % self.num_pipelines:
            raise ValueError(f'FusedAugment: {len(views)} view batches for '
                             f'{self.num_pipelines} view pipelines')
        num_levels = len(views) // self.num_pipelines
        full = views[0].size(-1)
        scales = [
            v.size(-1) / full if self.blur_per_level else 1.
            for v in views[:num_levels]
        ]
        # the views of one size are one batch (a level of every pipeline)
        by_size: Dict[tuple, List[int]] = {}
        for i, v in enumerate(views):
            by_size.setdefault(tuple(v.shape[1:]), []).append(i)
        groups = list(by_size.values())
        sizes = [tuple(views[g[0]].shape[-2:]) for g in groups]
        batch = views[0].size(0)
        pipe, scale, channel_image = self._layout(
            groups, batch, scales, [tuple(v.shape[-2:]) for v in views])
        level_scales = [max(scales[i % num_levels] for i in g) for g in groups]
        params = iter(self.params[pipe].split(self.param_widths, 1))
        draws = iter(
            self.draw(pipe.numel(), pipe.device).split(self.draw_widths, 1))
        # each group flattened, (n, 3, h * w)
        raw = [torch.cat([views[i] for i in g]).flatten(2) for g in groups]
        first_colour = bool(self.stages) and self.stages[0][0] == 'colour'
        xs = [x.float() for x in raw]
        # the BGR swap folds into a first colour stage, or comes first
        fold = bgr and first_colour
        if bgr and not fold:
            xs = [x[:, [2, 1, 0]] for x in xs]
        for s, (kind, steps) in enumerate(self.stages):
            if kind == 'colour':
                xs = self._colour(steps, [next(params) for _ in steps],
                                  [next(draws) for _ in steps], xs, fold
                                  and s == 0)
            elif kind == 'blur':
                xs = self._blur(
                    next(params), next(draws), xs, sizes, scale, channel_image,
                    level_scales)
            else:
                xs = self._solarize(
                    next(params), next(draws), xs,
                    *self._active_rows(s, groups, batch, num_levels))
        out: List[torch.Tensor] = [None] * len(views)  # type: ignore
        for g, x, hw in zip(groups, xs, sizes):
            for i, part in zip(g, x.view(-1, 3, *hw).split(batch)):
                out[i] = part
        return out
