# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import nn

from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from ..utils.collapse_metrics import collapse_metrics
from ..utils.foreach_ema import ForeachCosineEMA
from ..utils.montage_encoder import (encode_all_outputs, encode_montages,
                                     pyramid_output)
from .base_montage import BaseMontageModel

# forward_mode -> how the online network embeds the tiles of one view
FORWARD_MODES = dict(tiles=encode_montages, authors=encode_all_outputs)


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

    Two forwards give the same embeddings of the same tiles and differ in
    what else runs through the norm layers, i.e. in their batch statistics
    and cost (``forward_mode``):

    - ``'tiles'``: the pyramid runs level by level on that level's
      montages and only on the output the level reads; the tile head runs
      on the tiles of all levels together; the target embeds the level-0
      images alone.
    - ``'authors'``: as the MCL authors' code, the backbone and every
      pyramid output run on all montages of all levels together, the tile
      head on every cell of every output (one call per output,
      :func:`encode_all_outputs`), and the target on all montages, its
      level-0 images read from that pass.

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
        forward_mode (str): ``'tiles'`` or ``'authors'`` (see above; the
            latter needs the default ``pyramid_outputs`` and one level-0
            tile per image). Defaults to ``'tiles'``.
        pretrained (str, optional): Checkpoint to initialise from.
        channels_last (bool): Channels-last parameters and input batches
            (:class:`SelfSupervisor`). Defaults to False.
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
                 forward_mode: str = 'tiles',
                 pretrained: Optional[str] = None,
                 channels_last: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        if forward_mode not in FORWARD_MODES:
            raise ValueError(f'MCL: forward_mode must be one of '
                             f'{tuple(FORWARD_MODES)}, got {forward_mode!r}')
        super().__init__(
            backbone=backbone,
            neck=neck,
            tile_head=tile_head,
            head=head,
            montage=montage,
            pyramid_strides=pyramid_strides,
            pyramid_outputs=pyramid_outputs,
            pretrained=pretrained,
            channels_last=channels_last,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if forward_mode == 'authors' and (pyramid_outputs is not None
                                          or self.tiler.scales[0] != 1 or
                                          self.tiler.tiles_per_image[0] != 1):
            raise ValueError(
                "MCL: forward_mode='authors' needs the default "
                'pyramid_outputs and a level 0 of one tile per image at '
                f'scale 1; got pyramid_outputs={pyramid_outputs}, scales='
                f'{self.tiler.scales}, tiles_per_image='
                f'{self.tiler.tiles_per_image}')
        self.forward_mode = forward_mode
        self.target_net = ForeachCosineEMA(
            self.encoder, momentum=base_momentum)
        self.use_channels_last()

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
            directions summed), the mean positive / negative cosines and,
            when ``watch_collapse`` is set, the collapse metrics
            ``std_l{i}`` / ``erank_l{i}`` of the online tile embeddings
            (:func:`collapse_metrics`).
        """
        views = self.split_views(inputs, pipelines=2)
        encode = FORWARD_MODES[self.forward_mode]
        online = self.encoder
        tiles, tile_index, view_montages = [], [], []
        for view in views:
            montages, index = self.tiler(view)
            tiles.append(
                encode(online, montages, self.pyramid_outputs,
                       self.tiler.scales))
            tile_index.append(index)
            view_montages.append(montages)

        with torch.no_grad():
            self.target_net.update_parameters(online)
            if self.forward_mode == 'authors':
                targets = [
                    self.target_in_context(m, i[0])
                    for m, i in zip(view_montages, tile_index)
                ]
            else:
                targets = [
                    encode_montages(self.target_net.module,
                                    [self.tiler.resize(view[0], 0)],
                                    self.pyramid_outputs[:1],
                                    self.tiler.scales[:1])[0] for view in views
                ]

        losses = {}
        if self.watch_collapse:  # per level, both views' online tiles
            for i, (za, zb) in enumerate(zip(*tiles)):
                for key, value in collapse_metrics(torch.cat([za,
                                                              zb])).items():
                    losses[f'{key}_l{i}'] = value
        for a, b in ((0, 1), (1, 0)):
            for key, value in self.head.loss(tiles[a], tile_index[a],
                                             targets[b]).items():
                if key.startswith('loss'):
                    losses[key] = losses.get(key, 0) + value
                else:
                    losses[key] = losses.get(key, 0) + value / 2
        return losses

    def target_in_context(self, montages: List[torch.Tensor],
                          index: torch.Tensor) -> torch.Tensor:
        """The authors' target: the target network runs on the montages of
        all levels together and each level-0 image's embedding is read
        from that pass (only the coarsest output is computed: the others
        change neither the backbone's statistics nor its embedding).

        Args:
            montages (List[torch.Tensor]): One view's montages per level.
            index (torch.Tensor): Level 0's tile index (a permutation of
                the batch).

        Returns:
            torch.Tensor: (B, D) target embedding of each image, in batch
            order.
        """
        backbone, neck, tile_head = self.target_net.module
        top = pyramid_output(neck, backbone(torch.cat(montages)),
                             self.pyramid_outputs[0])
        embedded = tile_head([top], [1])[0][:montages[0].size(0)]
        return torch.empty_like(embedded).index_copy_(0, index, embedded)
