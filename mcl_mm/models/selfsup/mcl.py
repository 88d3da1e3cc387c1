# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import nn

from mmpretrain.models.utils import CosineEMA
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from ..utils.collapse_metrics import collapse_metrics
from ..utils.montage_encoder import encode_montages
from .base_montage import BaseMontageModel


@MODELS.register_module()
class MCL(BaseMontageModel):
    """MCL: Multi-Level Contrastive Learning for dense prediction.

    Every image of a batch is tiled into montages at S levels (level ``i``
    shrinks it by r_i and packs r_i x r_i tiles into one montage); all
    montages of one view pass the online encoder (backbone + FPN + tile head)
    once, level ``i`` reading the pyramid output on which its tiles cover as
    many cells as a level-0 image covers on the coarsest output. Every tile
    is an instance: a per-level predictor must pick, among the EMA target
    embeddings of the other view's full images (gathered over all GPUs), the
    image the tile shows.

    Args:
        backbone (dict): Config of the backbone (e.g. ResNet with
            ``out_indices=(0, 1, 2, 3)``, the full pyramid's stages).
        neck (dict): Config of the FPN (``mmdet.FPN``, one output per
            backbone stage); built on the stages the levels read.
        tile_head (dict): Config of the :class:`TileEmbedHead`.
        head (dict): Config of the :class:`MCLHead` (``num_levels``
            follows the montage).
        montage (dict): Config of the :class:`MontageTiler`.
        base_momentum (float): Start of the target's EMA momentum in
            mmpretrain's convention (0.01 = the target keeps 99%), annealed
            to 0 on a cosine schedule. Defaults to 0.01.
        pyramid_strides (Sequence[int]): Stride of each output of the full
            FPN, finest first. Defaults to (4, 8, 16, 32), P2-P5.
        pyramid_outputs (int | Sequence[int], optional): The pyramid
            output each level reads, an int for the same output at every
            level (an ablation knob); by default matched by stride, see
            :func:`match_pyramid_outputs`.
        pretrained (str, optional): Checkpoint to initialise from.
        data_preprocessor (dict, optional): Config of the data preprocessor;
            ``SelfSupDataPreprocessor`` by default.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 tile_head: dict,
                 head: dict,
                 montage: dict,
                 base_momentum: float = 0.01,
                 pyramid_strides: Sequence[int] = (4, 8, 16, 32),
                 pyramid_outputs: Optional[Union[int, Sequence[int]]] = None,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            tile_head=tile_head,
            head=head,
            montage=montage,
            pyramid_strides=pyramid_strides,
            pyramid_outputs=pyramid_outputs,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.target_net = CosineEMA(self.encoder, momentum=base_momentum)

    def init_weights(self) -> None:
        """Initialise the online network and start the target as its copy."""
        super().init_weights()
        self.target_net.module.load_state_dict(
            nn.Sequential(self.backbone, self.neck,
                          self.tile_head).state_dict())

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Compute the multi-level loss of a batch.

        Args:
            inputs (List[torch.Tensor]): 2 x S batches of views, as produced
                by :class:`MontageAssembly`: view A levels 0..S-1, then view
                B levels 0..S-1.
            data_samples (List[DataSample]): Unused.

        Returns:
            Dict[str, torch.Tensor]: Weighted losses per level (both
            directions summed), the mean positive / negative cosines and
            the collapse metrics ``std_l{i}`` / ``erank_l{i}`` of the online
            tile embeddings (:func:`collapse_metrics`).
        """
        views = self.split_views(inputs, pipelines=2)
        online = self.encoder
        tiles, tile_index = [], []
        for view in views:
            montages, index = self.tiler(view)
            tiles.append(
                encode_montages(online, montages, self.pyramid_outputs,
                                self.tiler.scales))
            tile_index.append(index)

        with torch.no_grad():
            self.target_net.update_parameters(online)
            targets = [
                encode_montages(self.target_net.module,
                                [self.tiler.resize(view[0], 0)],
                                self.pyramid_outputs[:1],
                                self.tiler.scales[:1])[0] for view in views
            ]

        losses = {}
        # collapse watch: per level, the online tile embeddings of both views
        for i, (za, zb) in enumerate(zip(*tiles)):
            for key, value in collapse_metrics(torch.cat([za, zb])).items():
                losses[f'{key}_l{i}'] = value
        for a, b in ((0, 1), (1, 0)):
            for key, value in self.head.loss(tiles[a], tile_index[a],
                                             targets[b]).items():
                if key.startswith('loss'):
                    losses[key] = losses.get(key, 0) + value
                else:
                    losses[key] = losses.get(key, 0) + value / 2
        return losses
