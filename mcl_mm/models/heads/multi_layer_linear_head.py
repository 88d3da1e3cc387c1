# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer

from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample


@MODELS.register_module()
class MultiLayerLinearClsHead(ClsHead):
    """One linear classifier per backbone layer (multi-layer linear probe).

    The protocol of Goyal et al. (2019) as OpenSelfSup's multi-head
    benchmark runs it: each of conv1..conv5 is normalised by a BatchNorm
    without affine parameters, average-pooled to roughly 9k dimensions,
    flattened and classified by its own ``nn.Linear``. The defaults are the
    ResNet-50 values at 224 px (dims 9216, 9216, 8192, 9216, 8192).

    Training sums one cross-entropy per layer (``loss_conv1``...); at test
    time every layer's softmax scores are stored as ``pred_score_<name>``
    (read by :class:`MultiLayerAccuracy`) and ``pred_score`` holds the last
    layer's, so stock single-label metrics work too.

    Args:
        num_classes (int): Number of classes.
        in_channels (Sequence[int]): Channels of each input feature.
        feat_sizes (Sequence[int]): Spatial size of each input feature.
        kernel_sizes (Sequence[int]): Average-pool kernel per layer.
        strides (Sequence[int]): Average-pool stride per layer.
        paddings (Sequence[int]): Average-pool padding per layer.
        layer_names (Sequence[str]): Names used in losses and predictions.
        norm_cfg (dict, optional): Norm before pooling; None for none.
            Defaults to BN without affine parameters.
        loss (dict): Classification loss per layer.
        init_cfg (dict, optional): Initialisation of the linear layers.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: Sequence[int] = (64, 256, 512, 1024, 2048),
                 feat_sizes: Sequence[int] = (112, 56, 28, 14, 7),
                 kernel_sizes: Sequence[int] = (10, 16, 13, 8, 6),
                 strides: Sequence[int] = (10, 8, 5, 3, 1),
                 paddings: Sequence[int] = (4, 0, 0, 0, 0),
                 layer_names: Sequence[str] = ('conv1', 'conv2', 'conv3',
                                               'conv4', 'conv5'),
                 norm_cfg: Optional[dict] = dict(
                     type='BN', affine=False, momentum=0.1),
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 init_cfg: Optional[dict] = dict(
                     type='Normal', layer='Linear', std=0.01),
                 **kwargs) -> None:
        super().__init__(loss=loss, init_cfg=init_cfg, **kwargs)
        fields = dict(
            in_channels=in_channels,
            feat_sizes=feat_sizes,
            kernel_sizes=kernel_sizes,
            strides=strides,
            paddings=paddings,
            layer_names=layer_names)
        n = len(in_channels)
        for key, value in fields.items():
            if len(value) != n:
                raise ValueError(
                    f'MultiLayerLinearClsHead: {key} has {len(value)} '
                    f'entries, expected {n} (one per entry of in_channels)')
        self.num_classes = num_classes
        self.layer_names = tuple(layer_names)
        self.pools = nn.ModuleList(
            nn.AvgPool2d(k, s, p)
            for k, s, p in zip(kernel_sizes, strides, paddings))
        self.norms = nn.ModuleList(
            build_norm_layer(norm_cfg, c)[1] if norm_cfg else nn.Identity()
            for c in in_channels)
        self.dims = [
            c * ((size + 2 * p - k) // s + 1)**2 for c, size, k, s, p in zip(
                in_channels, feat_sizes, kernel_sizes, strides, paddings)
        ]
        self.fcs = nn.ModuleList(nn.Linear(d, num_classes) for d in self.dims)

    def forward(self, feats: Tuple[torch.Tensor]) -> List[torch.Tensor]:
        """Class scores of each layer, in ``layer_names`` order."""
        if len(feats) != len(self.fcs):
            raise ValueError(
                f'MultiLayerLinearClsHead: got {len(feats)} backbone '
                f'features, expected {len(self.fcs)} ({self.layer_names})')
        scores = []
        for name, x, norm, pool, fc, dim in zip(self.layer_names, feats,
                                                self.norms, self.pools,
                                                self.fcs, self.dims):
            x = pool(norm(x)).flatten(1)
            if x.size(1) != dim:
                raise ValueError(
                    f'MultiLayerLinearClsHead: {name} pools to {x.size(1)} '
                    f'dims, expected {dim}: feat_sizes must match the '
                    f'input resolution')
            scores.append(fc(x))
        return scores

    def loss(self, feats: Tuple[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> dict:
        """One loss term per layer: ``loss_<name>``."""
        target = torch.cat([s.gt_label for s in data_samples])
        return {
            f'loss_{name}':
            self.loss_module(
                score, target, avg_factor=score.size(0), **kwargs)
            for name, score in zip(self.layer_names, self(feats))
        }

    def predict(
        self,
        feats: Tuple[torch.Tensor],
        data_samples: Optional[List[Optional[DataSample]]] = None
    ) -> List[DataSample]:
        """Last layer's prediction plus ``pred_score_<name>`` per layer."""
        scores = self(feats)
        samples = self._get_predictions(scores[-1], data_samples)
        for name, score in zip(self.layer_names, scores):
            probs = F.softmax(score, dim=1).detach()
            for sample, prob in zip(samples, probs):
                sample.set_field(prob, f'pred_score_{name}')
        return samples
