# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.logging import MessageHub
from torch import nn

from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from ..utils.collapse_metrics import collapse_metrics
from .base_selfsup import SelfSupervisor


@MODELS.register_module()
class SSPRL(SelfSupervisor):
    """SS-PRL: Self-Supervised Pyramid Representation Learning.

    One shared backbone embeds the global crops and the patches of every
    local grid (:class:`PyramidViews`); each grid has its own projection
    (mmpretrain's ``SwAVNeck``: Linear-BN-ReLU-Linear, L2-normalised) and
    its own prototypes in :class:`SSPRLHead`, which computes the pyramid
    and cross-grid losses. The queues join from ``queue_start_epoch``
    (the runner's epoch, read from the message hub).

    Args:
        backbone (dict): Config of the backbone.
        necks (Sequence[dict]): One projection config per grid.
        head (dict): Config of the :class:`SSPRLHead`.
        num_patches (Sequence[int]): Patches per view of each local grid
            (g^2). Defaults to (4, 9).
        queue_start_epoch (int): First epoch that uses the queues.
        channels_last (bool): Channels-last parameters and input batches
            (:class:`SelfSupervisor`). Defaults to False.
        data_preprocessor (dict, optional): Config of the preprocessor.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(self,
                 backbone: dict,
                 necks: Sequence[dict],
                 head: dict,
                 num_patches: Sequence[int] = (4, 9),
                 queue_start_epoch: int = 80,
                 pretrained: Optional[str] = None,
                 channels_last: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(
            backbone=backbone,
            head=head,
            pretrained=pretrained,
            channels_last=channels_last,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if len(necks) != len(num_patches) + 1 or \
                self.head.num_grids != len(necks):
            raise ValueError(
                f'SSPRL: {len(num_patches) + 1} grids (num_patches='
                f'{tuple(num_patches)}) need as many necks and head grids, '
                f'got {len(necks)} and {self.head.num_grids}')
        self.necks = nn.ModuleList(MODELS.build(n) for n in necks)
        self.num_patches = tuple(num_patches)
        self.queue_start_epoch = queue_start_epoch
        self.use_channels_last()

    def _embed(self, views: Sequence[torch.Tensor],
               neck: nn.Module) -> torch.Tensor:
        """Backbone once per resolution, then ``neck``, view-major."""
        outs, start = [], 0
        while start < len(views):
            stop = start
            while stop < len(views) and \
                    views[stop].shape[-2:] == views[start].shape[-2:]:
                stop += 1
            outs.append(self.backbone(torch.cat(list(views[start:stop]))))
            start = stop
        return neck(outs)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Pyramid and cross-grid losses of a batch of pyramid views."""
        num_global = sum(self.head.num_crops)
        expected = num_global + 2 * sum(self.num_patches)
        if not isinstance(inputs, (list, tuple)) or len(inputs) != expected:
            got = len(inputs) if isinstance(inputs, (list, tuple)) else \
                type(inputs).__name__
            raise ValueError(
                f'SSPRL: expected {expected} view batches ({num_global} '
                f'global crops, 2 x {self.num_patches} patches) from '
                f'PyramidViews, got {got}')
        epoch = MessageHub.get_current_instance().get_info('epoch', 0)
        self.head.use_queue = epoch >= self.queue_start_epoch
        global_emb = self._embed(inputs[:num_global], self.necks[0])
        local_embs, start = [], num_global
        for s, m in enumerate(self.num_patches, start=1):
            local_embs.append(
                self._embed(inputs[start:start + 2 * m], self.necks[s]))
            start += 2 * m
        losses = self.head.loss(global_emb, local_embs)
        if self.watch_collapse:  # per grid (grid 0: the global crops)
            for s, emb in enumerate([global_emb, *local_embs]):
                for key, value in collapse_metrics(emb).items():
                    losses[f'{key}_g{s}'] = value
        return losses
