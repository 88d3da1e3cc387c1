# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import List, Optional, Sequence, Union

import torch
from torch import nn

from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.registry import MODELS
from ..utils.montage_encoder import match_pyramid_levels


class BaseMontageModel(BaseSelfSupervisor):
    """What MCL and its supervised variant share: a montage tiler, a
    backbone + pyramid + tile head encoder, and the pyramid output each
    montage level reads.

    Args:
        backbone (dict): Config of the backbone.
        neck (dict): Config of the pyramid (``mmdet.FPN`` or
            :class:`C4Pyramid`).
        tile_head (dict): Config of the :class:`TileEmbedHead`.
        head (dict): Config of the per-level head (``num_levels`` must
            equal the montage's).
        montage (dict): Config of the :class:`MontageTiler`.
        pyramid_strides (Sequence[int]): Stride of each pyramid output,
            finest first; see :func:`match_pyramid_levels`.
        pyramid_levels (Sequence[int], optional): Explicit output per level
            (an ablation knob); by default matched by stride.
        pretrained (str, optional): Checkpoint to initialise from.
        data_preprocessor (dict, optional): Config of the preprocessor.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 tile_head: dict,
                 head: dict,
                 montage: dict,
                 pyramid_strides: Sequence[int] = (4, 8, 16, 32),
                 pyramid_levels: Optional[Sequence[int]] = None,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        name = type(self).__name__
        self.tiler = MODELS.build(montage)
        self.tile_head = MODELS.build(tile_head)
        if self.head.num_levels != self.tiler.num_levels:
            raise ValueError(
                f'{name}: head.num_levels={self.head.num_levels} but montage '
                f'has {self.tiler.num_levels} levels (scales='
                f'{self.tiler.scales})')
        self.pyramid_levels = match_pyramid_levels(
            self.tiler.scales, self.tiler.resolution, pyramid_strides,
            self.neck.num_outs, pyramid_levels, name)

    @property
    def encoder(self) -> nn.Sequential:
        """nn.Sequential: The online (backbone, neck, tile_head)."""
        return nn.Sequential(self.backbone, self.neck, self.tile_head)

    def check_views(self, inputs: List[torch.Tensor], pipelines: int) -> None:
        """Refuse anything but ``pipelines`` x S view batches."""
        num_levels = self.tiler.num_levels
        if isinstance(inputs, (list, tuple)) and \
                len(inputs) == pipelines * num_levels:
            return
        got = len(inputs) if isinstance(inputs, (list, tuple)) else \
            type(inputs).__name__
        raise ValueError(
            f'{type(self).__name__}: expected {pipelines} x {num_levels} '
            f'view batches from MontageAssembly(num_levels={num_levels}) '
            f'with {pipelines} view pipeline(s), got {got}')
