# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import nn

from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.models.utils import CosineEMA
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from ..utils.fpn_level import fpn_single_level


@MODELS.register_module()
class MCL(BaseSelfSupervisor):
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
            ``out_indices=(0, 1, 2, 3)``).
        neck (dict): Config of the FPN (``mmdet.FPN``, one output per
            backbone stage).
        tile_head (dict): Config of the :class:`TileEmbedHead`.
        head (dict): Config of the :class:`MCLHead`.
        montage (dict): Config of the :class:`MontageTiler`.
        base_momentum (float): Start of the target's EMA momentum in
            mmpretrain's convention (0.01 = the target keeps 99%), annealed
            to 0 on a cosine schedule. Defaults to 0.01.
        pyramid_strides (Sequence[int]): Stride of each FPN output, finest
            first; every output must be read by a level. Defaults to
            (4, 8, 16, 32), i.e. P2-P5 for S=4.
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
        self.tiler = MODELS.build(montage)
        self.tile_head = MODELS.build(tile_head)
        if self.head.num_levels != self.tiler.num_levels:
            raise ValueError(
                f'MCL: head.num_levels={self.head.num_levels} but montage '
                f'has {self.tiler.num_levels} levels (scales='
                f'{self.tiler.scales})')
        self.pyramid_levels = self._match_pyramid(pyramid_strides)
        self.target_net = CosineEMA(
            nn.Sequential(self.backbone, self.neck, self.tile_head),
            momentum=base_momentum)

    def _match_pyramid(self, strides: Sequence[int]) -> List[int]:
        """Pick for each level the FPN output on which its tiles cover as
        many cells as a level-0 image covers on the coarsest output."""
        strides = list(strides)
        if len(strides) != len(self.neck.fpn_convs):
            raise ValueError(
                f'MCL: pyramid_strides {tuple(strides)} names '
                f'{len(strides)} outputs but the neck has '
                f'{len(self.neck.fpn_convs)}')
        resolution = self.tiler.resolution
        levels = []
        for i, r in enumerate(self.tiler.scales):
            stride = strides[-1] / r
            if stride not in strides:
                raise ValueError(
                    f'MCL: level {i} (scale {r}) needs a pyramid output of '
                    f'stride {strides[-1]}/{r}; the pyramid has strides '
                    f'{tuple(strides)}')
            tile = resolution // r
            if tile % stride:
                raise ValueError(
                    f'MCL: resolution {resolution} does not fit level {i}: '
                    f'its {tile}-px tiles do not land on whole '
                    f'{int(stride)}-px cells of pyramid output '
                    f'{strides.index(stride)}; use a resolution divisible '
                    f'by {strides[-1]}')
            levels.append(strides.index(stride))
        unused = sorted(set(range(len(strides))) - set(levels))
        if unused:
            raise ValueError(
                f'MCL: pyramid outputs {unused} (strides '
                f'{[strides[k] for k in unused]}) are read by no level '
                f'(scales {self.tiler.scales}); their weights would get no '
                'gradient, which DDP refuses. Build the FPN from the stages '
                'the levels use, e.g. for S=3: backbone out_indices=(1, 2, '
                '3), neck in_channels of C3-C5, pyramid_strides=(8, 16, 32)')
        return levels

    def init_weights(self) -> None:
        """Initialise the online network and start the target as its copy."""
        super().init_weights()
        self.target_net.module.load_state_dict(
            nn.Sequential(self.backbone, self.neck,
                          self.tile_head).state_dict())

    def encode(self, encoder: nn.Sequential, montages: Sequence[torch.Tensor],
               pyramid_levels: Sequence[int],
               scales: Sequence[int]) -> List[torch.Tensor]:
        """Embed every tile of every level with one backbone pass.

        Args:
            encoder (nn.Sequential): (backbone, neck, tile_head), online or
                target.
            montages (Sequence[torch.Tensor]): One (n_i, C, H, H) batch of
                montages per level.
            pyramid_levels (Sequence[int]): The FPN output each level reads.
            scales (Sequence[int]): Tiles per side of each level.

        Returns:
            List[torch.Tensor]: One (n_i * r_i**2, D) embedding per level.
        """
        backbone, neck, tile_head = encoder
        feats = backbone(torch.cat(list(montages)))
        maps, start = [], 0
        for m, level in zip(montages, pyramid_levels):
            stop = start + m.size(0)
            maps.append(
                fpn_single_level(neck, [f[start:stop] for f in feats], level))
            start = stop
        return tile_head(maps, scales)

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
            directions summed) and the mean positive / negative cosines.
        """
        num_levels = self.tiler.num_levels
        if not isinstance(inputs, (list, tuple)) or \
                len(inputs) != 2 * num_levels:
            got = len(inputs) if isinstance(inputs, (list, tuple)) else \
                type(inputs).__name__
            raise ValueError(
                f'MCL: expected 2 x {num_levels} view batches from '
                f'MontageAssembly(num_levels={num_levels}), got {got}')
        views = [inputs[:num_levels], inputs[num_levels:]]
        online = nn.Sequential(self.backbone, self.neck, self.tile_head)
        tiles, tile_index = [], []
        for view in views:
            montages, index = self.tiler(view)
            tiles.append(
                self.encode(online, montages, self.pyramid_levels,
                            self.tiler.scales))
            tile_index.append(index)

        with torch.no_grad():
            self.target_net.update_parameters(online)
            targets = [
                self.encode(self.target_net.module,
                            [self.tiler.resize(view[0], 0)],
                            self.pyramid_levels[:1], self.tiler.scales[:1])[0]
                for view in views
            ]

        losses = {}
        for a, b in ((0, 1), (1, 0)):
            for key, value in self.head.loss(tiles[a], tile_index[a],
                                             targets[b]).items():
                if key.startswith('loss'):
                    losses[key] = losses.get(key, 0) + value
                else:
                    losses[key] = losses.get(key, 0) + value / 2
        return losses
