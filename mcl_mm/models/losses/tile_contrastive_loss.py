# Copyright (c) mcl_mm contributors. All rights reserved.
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmpretrain.registry import MODELS


@MODELS.register_module()
class TileContrastiveLoss(BaseModule):
    """Cross-entropy over cosine logits of tiles against image targets.

    ``loss = 2T * CE(cos(pred, targets) / T, labels)``, the scaling of the
    MCL authors (at ``T = 1`` it is twice the InfoNCE loss).

    Args:
        temperature (float): Softmax temperature T. Defaults to 1.0.
    """

    def __init__(self, temperature: float = 1.0) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError('TileContrastiveLoss: temperature must be > 0, '
                             f'got {temperature}')
        self.temperature = temperature

    def forward(self, pred: torch.Tensor, targets: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (torch.Tensor): (N, D) tile predictions.
            targets (torch.Tensor): (M, D) image targets of all GPUs.
            labels (torch.Tensor): (N,) index of each tile's image in
                ``targets``.

        Returns:
            torch.Tensor: The scalar loss.
        """
        logits = F.normalize(pred, dim=1) @ F.normalize(targets, dim=1).t()
        return 2 * self.temperature * F.cross_entropy(
            logits / self.temperature, labels)
