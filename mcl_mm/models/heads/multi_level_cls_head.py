# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from mmpretrain.evaluation.metrics import Accuracy
from mmpretrain.registry import MODELS
from .mcl_head import check_level_weights


@MODELS.register_module()
class MultiLevelClsHead(BaseModule):
    """Per-tile classification at every montage level.

    The supervised counterpart of :class:`MCLHead`: level ``i`` has its own
    linear classifier over the pooled tile embeddings, its cross-entropy
    against the labels of the images the tiles show is weighted by
    ``level_weights[i]``.

    Args:
        num_levels (int): Number of montage levels S; the model sets it
            from its montage.
        in_channels (int): Dimension of a tile embedding.
        num_classes (int): Number of classes.
        loss (dict): Classification loss of one level.
        level_weights (str | Sequence[float], optional): Weight of each
            level, or ``'equal'``. Defaults to MCL's 1/2^(i+1)
            (:func:`default_level_weights`).
        init_cfg (dict, optional): Initialisation of the classifiers.
    """

    def __init__(
        self,
        num_levels: int,
        in_channels: int,
        num_classes: int,
        loss: dict = dict(type='CrossEntropyLoss'),
        level_weights: Optional[Union[str, Sequence[float]]] = None,
        init_cfg: Optional[dict] = dict(
            type='Normal', layer='Linear', std=0.01)
    ) -> None:
        super().__init__(init_cfg)
        level_weights = check_level_weights(num_levels, level_weights,
                                            'MultiLevelClsHead')
        self.num_levels = num_levels
        self.level_weights = level_weights
        self.classifiers = nn.ModuleList(
            nn.Linear(in_channels, num_classes) for _ in range(num_levels))
        self.loss_module = MODELS.build(loss)

    def loss(self, tiles: Sequence[torch.Tensor],
             labels: Sequence[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Weighted cross-entropy and top-1 accuracy of every level.

        Args:
            tiles (Sequence[torch.Tensor]): One (N_i, D) tile embedding per
                level.
            labels (Sequence[torch.Tensor]): One (N_i,) label per tile.

        Returns:
            Dict[str, torch.Tensor]: ``loss_l{i}`` and ``acc_l{i}`` (%).
        """
        losses = {}
        for i, (z, y) in enumerate(zip(tiles, labels)):
            score = self.classifiers[i](z)
            losses[f'loss_l{i}'] = self.level_weights[i] * self.loss_module(
                score, y, avg_factor=score.size(0))
            with torch.no_grad():
                losses[f'acc_l{i}'] = Accuracy.calculate(score, y)[0][0]
        return losses
