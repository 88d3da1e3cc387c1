# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Union

import torch

from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from ..utils.montage_encoder import encode_montages
from .base_montage import BaseMontageModel


@MODELS.register_module()
class MultiLevelSupervised(BaseMontageModel):
    """Supervised multi-level pre-training (MCL's pretext task with labels).

    Each labelled image comes as S independently augmented copies (one
    pipeline, :class:`MontageAssembly` with one view), copy ``i`` tiled into
    the montages of level ``i`` exactly as in :class:`MCL`. The labels are
    gathered in the order of the tiles, and every tile is classified by its
    level's classifier (:class:`MultiLevelClsHead`): one weighted
    cross-entropy per level. No target network.

    Args:
        backbone (dict): Config of the backbone.
        neck (dict): Config of the pyramid (``mmdet.FPN`` or
            :class:`C4Pyramid`).
        tile_head (dict): Config of the :class:`TileEmbedHead`.
        head (dict): Config of the :class:`MultiLevelClsHead`
            (``num_levels`` follows the montage).
        montage (dict): Config of the :class:`MontageTiler`.
        pyramid_strides (Sequence[int]): Stride of each output of the full
            pyramid.
        pyramid_outputs (int | Sequence[int], optional): Explicit pyramid
            output per level, or one for every level.
        channels_last (bool): Channels-last parameters and input batches
            (:class:`SelfSupervisor`). Defaults to False.
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
                 pyramid_outputs: Optional[Union[int, Sequence[int]]] = None,
                 channels_last: bool = False,
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
            channels_last=channels_last,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.use_channels_last()

    def tile_labels(self, data_samples: List[DataSample],
                    tile_index: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """The label of the image each tile shows, level by level."""
        labels = torch.cat([s.gt_label for s in data_samples])
        if labels.numel() != len(data_samples):
            raise ValueError('MultiLevelSupervised: expects one class label '
                             'per image')
        return [labels.to(index.device)[index] for index in tile_index]

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Weighted per-tile cross-entropy of every level.

        Args:
            inputs (List[torch.Tensor]): S batches, copy ``i`` of every image
                for level ``i``.
            data_samples (List[DataSample]): With ``gt_label``.

        Returns:
            Dict[str, torch.Tensor]: ``loss_l{i}`` and ``acc_l{i}``.
        """
        montages, tile_index = self.tiler(
            self.split_views(inputs, pipelines=1)[0])
        tiles = encode_montages(self.encoder, montages, self.pyramid_outputs,
                                self.tiler.scales)
        return self.head.loss(tiles, self.tile_labels(data_samples,
                                                      tile_index))
