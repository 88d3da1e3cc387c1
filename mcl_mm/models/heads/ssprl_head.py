# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from mmpretrain.models.losses.swav_loss import distributed_sinkhorn
from mmpretrain.registry import MODELS


@MODELS.register_module()
class SSPRLHead(BaseModule):
    """SS-PRL's per-grid prototypes, correlation learners and losses.

    The paper's pyramid "scales" are called grids here (grid 0: the global
    views; grid s >= 1: a local crop cut into g x g patches), because in
    this package a scale is an MCL montage's tiles per side.

    Grid 0 is SwAV on the multi-crop global views (codes from the two
    large crops, Sinkhorn-Knopp via mmpretrain's ``distributed_sinkhorn``,
    swapped prediction by every other crop). Each local grid ``s`` has its
    own prototypes; the codes of all patches of one view are computed
    jointly over the batch and predicted from the other view's patches
    (L_pyr). The cross-grid term L_cross lets the bias-free correlation
    learner ``g_s`` (Linear(K_s, K_0), rows re-normalised) map a pooled
    summary of an image's grid-``s`` patches onto the grid-0 prototypes
    and scores it by cross-entropy against the detached grid-0 codes of
    both large crops, averaged over 2 local views x 2 codes.

    ``cross_mode='scores'`` (default) follows the authors' code: the mean of
    the patches' raw prototype cosine scores, L2-normalised, then ``g_s``,
    divided by the temperature and softmaxed. ``cross_mode='probs'`` is the
    paper's form: the mean of the patches' softmax probabilities P_s, then
    ``g_s``, divided by the temperature and softmaxed (our reading of
    g_s(Avg(P_s)), which needs a normalisation to be a distribution).

    Args:
        feat_dim (int): Embedding dimension. Defaults to 128.
        num_prototypes (Sequence[int]): K_s per grid. Defaults to
            (300, 150, 150).
        grid_weights (Sequence[float]): alpha_s. Defaults to (1, .25, .25).
        cross_weights (Sequence[float]): beta_s of grids 1.. Defaults to
            (.25, .25).
        cross_lambda (float): lambda. Defaults to 1.0.
        cross_mode (str): 'scores' (code) or 'probs' (paper).
        temperature (float): tau. Defaults to 0.1.
        epsilon (float): Sinkhorn-Knopp epsilon. Defaults to 0.05.
        sinkhorn_iterations (int): Defaults to 3.
        num_crops (Sequence[int]): Large and small global crops. Defaults to
            (2, 6); the large ones make codes.
        global_queue (int): Queued embeddings per large crop. Defaults to
            1920.
        local_queue (int): Queued patch embeddings per local grid and
            view. Defaults to 5000.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 feat_dim: int = 128,
                 num_prototypes: Sequence[int] = (300, 150, 150),
                 grid_weights: Sequence[float] = (1.0, 0.25, 0.25),
                 cross_weights: Sequence[float] = (0.25, 0.25),
                 cross_lambda: float = 1.0,
                 cross_mode: str = 'scores',
                 temperature: float = 0.1,
                 epsilon: float = 0.05,
                 sinkhorn_iterations: int = 3,
                 num_crops: Sequence[int] = (2, 6),
                 global_queue: int = 1920,
                 local_queue: int = 5000,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        num_grids = len(num_prototypes)
        if len(grid_weights) != num_grids or \
                len(cross_weights) != num_grids - 1:
            raise ValueError(
                f'SSPRLHead: {num_grids} grids need {num_grids} '
                f'grid_weights and {num_grids - 1} cross_weights, got '
                f'{len(grid_weights)} and {len(cross_weights)}')
        if cross_mode not in ('scores', 'probs'):
            raise ValueError("SSPRLHead: cross_mode must be 'scores' or "
                             f"'probs', got {cross_mode!r}")
        self.num_grids = num_grids
        self.grid_weights = tuple(grid_weights)
        self.cross_weights = tuple(cross_weights)
        self.cross_lambda = cross_lambda
        self.cross_mode = cross_mode
        self.temperature = temperature
        self.epsilon = epsilon
        self.sinkhorn_iterations = sinkhorn_iterations
        self.num_crops = tuple(num_crops)
        self.prototypes = nn.ModuleList(
            nn.Linear(feat_dim, k, bias=False) for k in num_prototypes)
        self.prototype_correlation = nn.ModuleList(
            nn.Linear(k, num_prototypes[0], bias=False)
            for k in num_prototypes[1:])
        # queues are buffers, so checkpoints carry them and --resume works
        self.register_buffer('global_queue',
                             torch.zeros(num_crops[0], global_queue, feat_dim))
        for s in range(1, num_grids):
            self.register_buffer(f'local_queue{s}',
                                 torch.zeros(2, local_queue, feat_dim))
        self.use_queue = False  # switched on by the model

    @torch.no_grad()
    def normalize_prototypes(self) -> None:
        """Re-normalise every prototype and every row of every g_s."""
        for layer in list(self.prototypes) + list(self.prototype_correlation):
            layer.weight.copy_(F.normalize(layer.weight, dim=1))

    @torch.no_grad()
    def sinkhorn(self, scores: torch.Tensor) -> torch.Tensor:
        """Codes of the rows of ``scores`` (B, K), doubly normalised."""
        world = dist.get_world_size() if dist.is_initialized() else 1
        return distributed_sinkhorn(scores, self.sinkhorn_iterations, world,
                                    self.epsilon)

    @torch.no_grad()
    def codes(self, scores: torch.Tensor, emb: torch.Tensor,
              queue: torch.Tensor, prototypes: nn.Linear) -> torch.Tensor:
        """Codes of one batch of scores, with the queued embeddings joining
        the Sinkhorn problem once the queue is on and full; then the batch
        enters the queue. The queue is trimmed to a multiple of the batch."""
        n = emb.size(0)
        length = queue.size(0) - queue.size(0) % n
        if self.use_queue and length:
            used = queue[:length]
            if not torch.all(used[-1] == 0):
                scores = torch.cat([prototypes(used), scores])
            queue[n:length] = queue[:length - n].clone()
            queue[:n] = emb.detach()
        return self.sinkhorn(scores)[-n:]

    def _swapped(self, code: torch.Tensor,
                 scores: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.stack([
            -torch.sum(code * F.log_softmax(s / self.temperature, 1),
                       1).mean() for s in scores
        ]).mean()

    def cross_logits(self, patch_scores: torch.Tensor,
                     grid: int) -> torch.Tensor:
        """Log-probabilities over the grid-0 prototypes of one view.

        Args:
            patch_scores (torch.Tensor): (M, B, K_s) prototype scores of the
                M patches of each image.
            grid (int): The local grid s >= 1.
        """
        if self.cross_mode == 'scores':
            pooled = F.normalize(patch_scores.mean(0), dim=1)
        else:
            pooled = F.softmax(patch_scores / self.temperature, 2).mean(0)
        logits = self.prototype_correlation[grid - 1](pooled)
        return F.log_softmax(logits / self.temperature, dim=1)

    def cross_loss(self, local_scores: torch.Tensor, codes: torch.Tensor,
                   grid: int) -> torch.Tensor:
        """L_cross of one grid.

        Args:
            local_scores (torch.Tensor): (2, M, B, K_s) scores of the two
                views' patches.
            codes (torch.Tensor): (2, B, K_0) detached codes of the two
                large crops.
            grid (int): s >= 1.
        """
        return torch.stack([
            -torch.sum(code * self.cross_logits(view, grid), 1).mean()
            for view in local_scores for code in codes
        ]).mean()

    def loss(self, global_emb: torch.Tensor,
             local_embs: List[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """All SS-PRL terms.

        Args:
            global_emb (torch.Tensor): (sum(num_crops) * B, D) embeddings of
                the global crops, crop-major (the large crops first).
            local_embs (List[torch.Tensor]): Per local grid, (2 * M_s * B,
                D) embeddings, ordered view, patch, image.

        Returns:
            Dict[str, torch.Tensor]: ``loss_global``, ``loss_local{s}``,
            ``loss_cross{s}`` (weighted) and ``queue_on``.
        """
        self.normalize_prototypes()
        b = global_emb.size(0) // sum(self.num_crops)
        scores = self.prototypes[0](global_emb).split(b)
        codes = torch.stack([
            self.codes(scores[i].detach(), global_emb[i * b:(i + 1) * b],
                       self.global_queue[i], self.prototypes[0])
            for i in range(self.num_crops[0])
        ])
        losses = dict(loss_global=self.grid_weights[0] * torch.stack([
            self._swapped(codes[i], scores[:i] + scores[i + 1:])
            for i in range(self.num_crops[0])
        ]).mean())
        for s, emb in enumerate(local_embs, start=1):
            local = self.prototypes[s](emb).view(
                2, -1, b, self.prototypes[s].out_features)
            queue = getattr(self, f'local_queue{s}')
            flat = local.flatten(1, 2)  # (2, M * B, K_s)
            view_emb = emb.view(2, -1, emb.size(1))
            q = [
                self.codes(flat[v].detach(), view_emb[v], queue[v],
                           self.prototypes[s]) for v in range(2)
            ]
            losses[f'loss_local{s}'] = self.grid_weights[s] * (
                self._swapped(q[0], [flat[1]]) +
                self._swapped(q[1], [flat[0]]))
            losses[f'loss_cross{s}'] = (
                self.cross_lambda * self.cross_weights[s - 1] *
                self.cross_loss(local, codes[:2], s))
        losses['queue_on'] = torch.tensor(float(self.use_queue))
        return losses
