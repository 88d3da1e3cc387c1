# Copyright (c) mcl_mm contributors. All rights reserved.
"""mmpretrain's ``Solarize``."""
from typing import List, Sequence, Tuple

import numpy as np
import torch

from mmpretrain.registry import TRANSFORMS
from .base import AUGMENTS, AugmentSpec, FusedStage, ViewLayout


@AUGMENTS.register_module(name='Solarize')
class SolarizeSpec(AugmentSpec):
    """mmpretrain's ``Solarize``: values >= ``thr`` become 255 - value.

    - Draws (1 per image): whether the image is solarized.
    - Per-op form: the select.
    - Fused (:class:`SolarizeStage`): in place, only on the images of the
      pipelines whose probability is not 0; at Pillow's threshold 128 as
      the reflection min(x, 255 - x) (two ops), otherwise as a select
      against a per-image threshold.

    Args:
        thr (float): Threshold. Defaults to 128.
        prob (float): Defaults to 0.5.
    """

    draw_width = 1

    def __init__(self, thr: float = 128, prob: float = 0.5) -> None:
        super().__init__(prob)
        self.thr = thr

    def params(self) -> List[float]:
        """``prob``, then ``thr``."""
        return [self.prob, self.thr]

    def values(self, params: torch.Tensor,
               draws: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Per image, (n, 1) whether it is solarized and (n, 1) the
        threshold."""
        prob, thr = params.split(1, 1)
        return draws < prob, thr

    def draws_for(self) -> torch.Tensor:
        """Draws solarizing the image."""
        return torch.zeros(1)

    def cpu_reference(self, rgb: np.ndarray) -> np.ndarray:
        """mmpretrain's ``Solarize`` with ``prob=1``."""
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        out = TRANSFORMS.build(dict(type='Solarize', thr=self.thr,
                                    prob=1.))(dict(img=bgr))['img']
        return np.ascontiguousarray(out[..., ::-1])

    def transform(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        return torch.where(x < self.thr, x, 255 - x)

    @classmethod
    def build_stage(cls, column: Sequence['SolarizeSpec']) -> FusedStage:
        return SolarizeStage(column)


class SolarizeStage(FusedStage):
    """Solarize of every view pipeline, fused, in place on the rows of the
    pipelines that may solarize.

    Args:
        column (Sequence[SolarizeSpec]): The solarize of each pipeline.
    """

    def __init__(self, column: Sequence[SolarizeSpec]) -> None:
        super().__init__()
        self.spec = column[0]
        self.active = [i for i, s in enumerate(column) if s.prob > 0]
        # at Pillow's default threshold it is a reflection (two ops)
        self.reflects = all(s.thr == 128 for s in column)
        self.register_buffer('never', torch.tensor(256.), persistent=False)
        self.register_buffer(
            'reflect', torch.tensor([255., 512.]), persistent=False)

    def prepare(
            self,
            layout: ViewLayout) -> Tuple[List[Tuple[int, int]], torch.Tensor]:
        """Per group the run of rows covering the pipelines that may
        solarize, and those rows' indices in the concatenated groups."""
        runs, rows, first = [], [], 0
        batch = layout.batch
        for g in layout.groups:
            at = [
                k for k, view in enumerate(g)
                if view // layout.num_levels in self.active
            ] or [0]
            start, end = at[0] * batch, (at[-1] + 1) * batch
            runs.append((start, end - start))
            rows += range(first + start, first + end)
            first += len(g) * batch
        return runs, torch.tensor(rows, device=layout.pipelines.device)

    def forward(
        self, params: torch.Tensor, draws: torch.Tensor,
        xs: List[torch.Tensor], layout: ViewLayout,
        prepared: Tuple[List[Tuple[int, int]], torch.Tensor]
    ) -> List[torch.Tensor]:
        runs, rows = prepared
        chosen, thr = self.spec.values(params, draws)
        counts = [length for _, length in runs]
        if self.reflects:
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
