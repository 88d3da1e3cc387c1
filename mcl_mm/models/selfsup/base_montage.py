# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import List, Optional, Sequence, Union

import torch
from torch import nn

from mmpretrain.registry import MODELS
from ...montage import match_pyramid_outputs, select_pyramid, split_views
from ..data_preprocessors import MontageDataPreprocessor
from .base_selfsup import SelfSupervisor


class BaseMontageModel(SelfSupervisor):
    """What MCL and its supervised variant share: a montage tiler, a
    backbone + pyramid + tile head encoder, and the pyramid output each
    montage level reads.

    The montage (``montage.scales``, ``resolution``, ``tiles_per_image``)
    is the one source of the geometry: the head's number of levels, the
    pyramid output each level reads and the backbone stages the pyramid is
    built on follow from it here, when the model is built
    (:func:`select_pyramid`), and a :class:`MontageDataPreprocessor` gets
    its geometry (:class:`MontageGeometry`); the data pipeline follows it
    through :class:`MontageRunner`.

    Args:
        backbone (dict): Config of the backbone, with one ``out_indices``
            entry per output of the full pyramid.
        neck (dict): Config of the full pyramid (``mmdet.FPN`` or
            :class:`C4Pyramid`); only the outputs the levels need are built.
        tile_head (dict): Config of the :class:`TileEmbedHead`.
        head (dict): Config of the per-level head; its ``num_levels`` is
            set from the montage.
        montage (dict): Config of the :class:`MontageTiler`.
        pyramid_strides (Sequence[int]): Stride of each output of the full
            pyramid, finest first; see :func:`match_pyramid_outputs`.
        pyramid_outputs (int | Sequence[int], optional): Explicit pyramid
            output per level, indices into the full pyramid, or an int for
            the same output at every level (an ablation knob); by default
            matched by stride.
        pretrained (str, optional): Checkpoint to initialise from.
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
                 pretrained: Optional[str] = None,
                 channels_last: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        name = type(self).__name__
        tiler = MODELS.build(montage)
        outputs = match_pyramid_outputs(tiler.scales, tiler.resolution,
                                        pyramid_strides, pyramid_outputs, name)
        backbone, neck, outputs = select_pyramid(backbone, neck,
                                                 pyramid_strides, outputs,
                                                 pyramid_outputs is not None,
                                                 name)
        head = dict(head)
        if head.setdefault('num_levels', tiler.num_levels) != \
                tiler.num_levels:
            raise ValueError(
                f'{name}: head.num_levels={head["num_levels"]} but the '
                f'montage has {tiler.num_levels} levels (scales='
                f'{tiler.scales}); leave head.num_levels out, it follows '
                'model.montage.scales')
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            channels_last=channels_last,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.tiler = tiler
        if isinstance(self.data_preprocessor, MontageDataPreprocessor):
            self.data_preprocessor.geometry = tiler.geometry
        self.tile_head = MODELS.build(tile_head)
        self.pyramid_outputs = outputs

    @property
    def encoder(self) -> nn.Sequential:
        """nn.Sequential: The online (backbone, neck, tile_head)."""
        return nn.Sequential(self.backbone, self.neck, self.tile_head)

    def split_views(self, inputs: List[torch.Tensor],
                    pipelines: int) -> List[List[torch.Tensor]]:
        """The S view batches of each of ``pipelines`` view pipelines (see
        :func:`split_views`)."""
        return split_views(inputs, self.tiler.num_levels, pipelines,
                           type(self).__name__)
