# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.dist import all_gather, get_rank
from mmengine.model import BaseModule, ModuleList

from mmpretrain.registry import MODELS


def default_level_weights(num_levels: int) -> List[float]:
    """MCL's level weights: 1/2^(i+1), the last level repeating the previous.

    They sum to one: S=4 gives (1/2, 1/4, 1/8, 1/8), S=1 gives (1, ).
    """
    weights = [0.5**(i + 1) for i in range(num_levels)]
    weights[-1] = 0.5**(num_levels - 1)
    return weights


def check_level_weights(num_levels: int,
                        level_weights: Optional[Union[str, Sequence[float]]],
                        owner: str) -> List[float]:
    """The weight of each level: :func:`default_level_weights` when None,
    ``1 / S`` each for ``'equal'`` (both follow the number of levels), or
    one given weight per level.

    Raises:
        ValueError: Naming ``owner``, if ``num_levels < 1`` or the weights
            are not one per level.
    """
    if num_levels < 1:
        raise ValueError(f'{owner}: num_levels must be >= 1, got {num_levels}')
    if level_weights == 'equal':
        return [1 / num_levels] * num_levels
    level_weights = list(level_weights or default_level_weights(num_levels))
    if len(level_weights) != num_levels:
        raise ValueError(f'{owner}: level_weights needs one weight per '
                         f'level: expected {num_levels}, got '
                         f'{len(level_weights)}')
    return level_weights


@MODELS.register_module()
class MCLHead(BaseModule):
    """Per-level predictors and the multi-level contrastive loss of MCL.

    Level ``i`` has its own predictor; its tile predictions are compared by
    cosine with the (gathered) image targets of the other view, and the loss
    of that level is weighted by ``level_weights[i]``.

    Args:
        num_levels (int): Number of montage levels S; the model sets it
            from its montage.
        predictor (dict): Config of one level's predictor (built once per
            level), e.g. an mmpretrain ``NonLinearNeck`` with
            ``with_avg_pool=False``.
        loss (dict): Config of the loss, e.g. ``TileContrastiveLoss``.
        level_weights (str | Sequence[float], optional): Weight of each
            level, or ``'equal'``. Defaults to :func:`default_level_weights`.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(self,
                 num_levels: int,
                 predictor: dict,
                 loss: dict,
                 level_weights: Optional[Union[str, Sequence[float]]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        level_weights = check_level_weights(num_levels, level_weights,
                                            'MCLHead')
        self.num_levels = num_levels
        self.level_weights = level_weights
        # mmengine's ModuleList: init_weights reaches the predictors' init_cfg
        self.predictors = ModuleList(
            MODELS.build(predictor) for _ in range(num_levels))
        self.loss_module = MODELS.build(loss)

    def loss(self, tiles: Sequence[torch.Tensor],
             tile_index: Sequence[torch.Tensor],
             target: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Loss of one direction (tiles of one view vs targets of the other).

        Args:
            tiles (Sequence[torch.Tensor]): One (N_i, D) online tile
                embedding per level.
            tile_index (Sequence[torch.Tensor]): One (N_i,) index per level
                of the local image each tile shows.
            target (torch.Tensor): (B, D) target embedding of each local
                image; gathered across GPUs here.

        Returns:
            Dict[str, torch.Tensor]: ``loss_l{i}`` (weighted) and the mean
            positive / negative cosine ``pos_cos_l{i}`` / ``neg_cos_l{i}``.
        """
        target = F.normalize(target.detach(), dim=1)
        targets = torch.cat(all_gather(target))
        offset = get_rank() * target.size(0)
        losses = {}
        for i, (z, index) in enumerate(zip(tiles, tile_index)):
            pred = self.predictors[i]((z, ))[0]
            labels = index + offset
            losses[f'loss_l{i}'] = self.level_weights[i] * self.loss_module(
                pred, targets, labels)
            with torch.no_grad():  # no boolean mask: nothing waits
                cos = F.normalize(pred, dim=1) @ targets.t()
                pos = cos.gather(1, labels[:, None])
                losses[f'pos_cos_l{i}'] = pos.mean()
                losses[f'neg_cos_l{i}'] = (cos.sum() - pos.sum()) / (
                    cos.numel() - pos.numel())
        return losses
