# Copyright (c) mcl_mm contributors. All rights reserved.
"""Every view pipeline's augmentation specs in a few batched passes.

:class:`FusedAugment` runs the specs of all view pipelines (the same steps,
each pipeline with its own probabilities and ranges, each image copy with
its own draws) in a form whose cost is a few passes over the views and
147 aten ops per training step at S=4, whatever the batch:

- the view batches of one size (one montage level of every view pipeline)
  are one batch, and a step's random draws are drawn in one call, each
  spec's columns in step order (:attr:`AugmentSpec.draw_width`);
- consecutive colour specs compose into one affine colour map per image
  (:meth:`AugmentSpec.compose`), applied in one pass with the BGR-to-RGB
  swap; values are clamped to [0, 255] once, after the map, where Pillow
  clamps after every op (the whole chain differs from Pillow's by 1-6 grey
  levels without hue, most where brightness above 1 clips highlights that
  a later contrast pulls down);
- every other spec runs as its own stage (:meth:`AugmentSpec.build_stage`):
  blur with a separable kernel per image, solarize in place.

The tests bound each op and the whole chain against the CPU transforms.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .base import AUGMENTS, LUMA, AugmentSpec, FusedStage, ViewLayout


def stage_signature(pipeline: Sequence[nn.Module]) -> List[Tuple[str, tuple]]:
    """A pipeline's stages: (kind, its steps' types), consecutive colour
    steps merged into one ``'colour'`` stage.

    Args:
        pipeline (Sequence[nn.Module]): Built augmentation specs.

    Returns:
        List[Tuple[str, tuple]]: Per stage, ``'colour'`` or the spec's
        type name, and the types of its steps.

    Raises:
        TypeError: If a step is not an augmentation spec.
    """
    stages: List[Tuple[str, tuple]] = []
    for step in pipeline:
        if not isinstance(step, AugmentSpec):
            raise TypeError(f'{type(step).__name__} has no fused version; '
                            'fused steps: '
                            f'{sorted(AUGMENTS.module_dict)}')
        cls = type(step)
        if cls.colour and stages and stages[-1][0] == 'colour':
            stages[-1] = ('colour', stages[-1][1] + (cls, ))
        else:
            stages.append(('colour' if cls.colour else cls.__name__, (cls, )))
    return stages


class ColourStage(FusedStage):
    """Consecutive colour specs as one affine map per image on
    (r, g, b, 1), in the specs' order, applied in one pass and clamped
    once.

    Args:
        steps (Sequence[AugmentSpec]): The stage's colour specs (the first
            pipeline's: the others differ only in their parameters).
    """

    def __init__(self, steps: Sequence[AugmentSpec]) -> None:
        super().__init__()
        self.steps = nn.ModuleList(steps)
        self.register_buffer('eye', torch.eye(4), persistent=False)
        self.register_buffer(
            'bgr', torch.eye(4)[[2, 1, 0, 3]], persistent=False)
        self.register_buffer(
            'luma_column',
            torch.tensor([*LUMA, 0.])[:, None],
            persistent=False)

    def maps(self, params: Sequence[torch.Tensor],
             draws: Sequence[torch.Tensor], means: torch.Tensor,
             bgr: bool) -> torch.Tensor:
        """Per image, the 4x4 map on (r, g, b, 1) of the stage.

        Args:
            params (Sequence[torch.Tensor]): Per step, (n, k) each image's
                parameters.
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
        for step, p, u in zip(self.steps, params, draws):
            m = step.compose(p, u, m, luma_mu)
        return m

    def forward(self,
                params: Sequence[torch.Tensor],
                draws: Sequence[torch.Tensor],
                xs: List[torch.Tensor],
                layout: ViewLayout,
                prepared=None,
                bgr: bool = False) -> List[torch.Tensor]:
        # from the float values: a reduction of the uint8 views to float
        # would first copy them to float
        means = torch.cat([x.mean(2) for x in xs])
        linear, offset = self.maps(params, draws, means,
                                   bgr)[:, :3].split([3, 1], 2)
        counts = [x.size(0) for x in xs]
        return [
            torch.baddbmm(b, a, x).clamp_(0, 255)
            for x, a, b in zip(xs, linear.split(counts), offset.split(counts))
        ]


class FusedAugment(nn.Module):
    """Every view pipeline's augmentation specs, fused (see the module
    doc).

    Args:
        pipelines (Sequence[Sequence[AugmentSpec]]): Per view pipeline, its
            built specs in order (:func:`build_augment`). All pipelines
            must have the same steps in the same order (their
            probabilities and ranges may differ).

    Raises:
        TypeError: If a step is not an augmentation spec.
        ValueError: If the pipelines' steps differ.
    """

    def __init__(self, pipelines: Sequence[Sequence[AugmentSpec]]) -> None:
        super().__init__()
        signatures = [stage_signature(p) for p in pipelines]
        if any(s != signatures[0] for s in signatures):
            raise ValueError(
                'fused device augments need the same steps in every view '
                f'pipeline, got {signatures}; set '
                'model.data_preprocessor.fuse_augments=False')
        self.num_pipelines = len(pipelines)
        # per stage its steps; the steps' parameters per pipeline are
        # columns of one table, their draws columns of one draw, both in
        # step order
        stages: List[FusedStage] = []
        self.stage_steps: List[int] = []
        table: List[List[float]] = [[] for _ in pipelines]
        self.param_widths: List[int] = []
        self.draw_widths: List[int] = []
        first = 0
        for kind, types in signatures[0]:
            for i in range(first, first + len(types)):
                for row, p in zip(table, pipelines):
                    row += p[i].params()
                self.param_widths.append(len(pipelines[0][i].params()))
                self.draw_widths.append(pipelines[0][i].draw_width)
            if kind == 'colour':
                stages.append(
                    ColourStage(pipelines[0][first:first + len(types)]))
            else:
                stages.append(types[0].build_stage(
                    [p[first] for p in pipelines]))
            self.stage_steps.append(len(types))
            first += len(types)
        self.stages = nn.ModuleList(stages)
        self.register_buffer('params', torch.tensor(table), persistent=False)
        self._layouts: Dict[tuple, ViewLayout] = {}
        self._prepared: Dict[tuple, object] = {}

    def _layout(self, groups: List[List[int]], batch: int, num_levels: int,
                scales: List[float],
                sizes: List[Tuple[int, int]]) -> Tuple[ViewLayout, tuple]:
        """The view layout of one step (:class:`ViewLayout`) and its key;
        built once per layout with what each stage prepares for it, so no
        step copies anything to the device."""
        device = self.params.device
        key = (tuple(map(tuple,
                         groups)), batch, tuple(sizes), tuple(scales), device)
        if key not in self._layouts:
            pipe, image_scales = [], []
            for members in groups:
                for view in members:
                    pipe += [view // num_levels] * batch
                    image_scales += [scales[view % num_levels]] * batch
            self._layouts[key] = ViewLayout(
                groups=groups,
                batch=batch,
                num_levels=num_levels,
                sizes=[sizes[g[0]] for g in groups],
                image_scales=image_scales,
                group_scales=[
                    max(scales[i % num_levels] for i in g) for g in groups
                ],
                pipelines=torch.tensor(pipe, device=device),
                channel_image=torch.arange(len(pipe),
                                           device=device).repeat_interleave(3))
            for s, stage in enumerate(self.stages):
                self._prepared[key + (s, )] = stage.prepare(self._layouts[key])
        return self._layouts[key], key

    def draw(self, n: int, device: torch.device) -> torch.Tensor:
        """(n, d) uniform draws in [0, 1): per image, its steps' draws in
        step order (``draw_widths``; what each means: the spec's
        :meth:`~AugmentSpec.values`)."""
        return torch.rand(n, sum(self.draw_widths), device=device)

    def forward(
            self,
            views: List[torch.Tensor],
            bgr: bool = False,
            blur_scales: Optional[Sequence[float]] = None
    ) -> List[torch.Tensor]:
        """Augment one step's view batches.

        Args:
            views (List[torch.Tensor]): Every pipeline's views, its levels
                in order (``split_views``' layout), each (B, 3, H, W),
                uint8 or float in [0, 255].
            bgr (bool): Whether the views are BGR (made RGB here).
            blur_scales (Sequence[float], optional): The factor on blur
                radii of each level (the caller's:
                ``MontageDataPreprocessor.blur_scales``). Defaults to 1 at
                every level.

        Returns:
            List[torch.Tensor]: RGB float views in the same order.
        """
        if len(views) % self.num_pipelines:
            raise ValueError(f'FusedAugment: {len(views)} view batches for '
                             f'{self.num_pipelines} view pipelines')
        num_levels = len(views) // self.num_pipelines
        scales = [1.] * num_levels if blur_scales is None else [
            float(s) for s in blur_scales
        ]
        # the views of one size are one batch (a level of every pipeline)
        by_size: Dict[tuple, List[int]] = {}
        for i, v in enumerate(views):
            by_size.setdefault(tuple(v.shape[1:]), []).append(i)
        groups = list(by_size.values())
        batch = views[0].size(0)
        layout, key = self._layout(groups, batch, num_levels, scales,
                                   [tuple(v.shape[-2:]) for v in views])
        pipe = layout.pipelines
        params = iter(self.params[pipe].split(self.param_widths, 1))
        draws = iter(
            self.draw(pipe.numel(), pipe.device).split(self.draw_widths, 1))
        # each group flattened, (n, 3, h * w)
        raw = [torch.cat([views[i] for i in g]).flatten(2) for g in groups]
        first_colour = bool(self.stages) and isinstance(
            self.stages[0], ColourStage)
        xs = [x.float() for x in raw]
        # the BGR swap folds into a first colour stage, or comes first
        fold = bgr and first_colour
        if bgr and not fold:
            xs = [x[:, [2, 1, 0]] for x in xs]
        for s, (stage, count) in enumerate(zip(self.stages, self.stage_steps)):
            prepared = self._prepared[key + (s, )]
            if isinstance(stage, ColourStage):
                xs = stage([next(params) for _ in range(count)],
                           [next(draws) for _ in range(count)],
                           xs,
                           layout,
                           bgr=fold and s == 0)
            else:
                xs = stage(next(params), next(draws), xs, layout, prepared)
        out: List[torch.Tensor] = [None] * len(views)  # type: ignore
        for g, x, hw in zip(groups, xs, layout.sizes):
            for i, part in zip(g, x.view(-1, 3, *hw).split(batch)):
                out[i] = part
        return out
