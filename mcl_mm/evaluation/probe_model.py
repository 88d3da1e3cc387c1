# Copyright (c) mcl_mm contributors. All rights reserved.
"""Rebuild a ResNet (+ FPN) from checkpoint weights alone, for the offline
dense probe of any checkpoint :func:`read_weights` reads."""
import re
from typing import Dict, Optional

import torch
from mmdet.models.necks import FPN
from torch import nn

from mmpretrain.models.backbones import ResNet, ResNetV1c
from ..converters.mcl_checkpoint import fpn_stages
from ..converters.sources import read_weights
from ..converters.state_dict import prefixed

# (blocks per stage, bottleneck) -> ResNet depth
DEPTHS = {
    ((2, 2, 2, 2), False): 18,
    ((3, 4, 6, 3), False): 34,
    ((3, 4, 6, 3), True): 50,
    ((3, 4, 23, 3), True): 101,
    ((3, 8, 36, 3), True): 152,
}


class ProbeNet(nn.Module):
    """A frozen backbone and, where the weights have one, its FPN.

    Args:
        backbone (nn.Module): An mmpretrain ResNet.
        neck (nn.Module, optional): An mmdet FPN on the backbone's outputs.
    """

    def __init__(self,
                 backbone: nn.Module,
                 neck: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = neck


def probe_net(online: Dict[str, torch.Tensor]) -> ProbeNet:
    """Build and load a :class:`ProbeNet` from online weights in mcl_mm's
    names (``backbone.*`` a ResNet, ``neck.*`` an FPN).

    Raises:
        ValueError: If the backbone is not a ResNet of a known depth.
    """
    blocks = []
    for stage in range(1, 5):
        ids = {
            int(m.group(1))
            for k in online
            for m in [re.match(rf'backbone\.layer{stage}\.(\d+)\.', k)] if m
        }
        blocks.append(len(ids))
    bottleneck = 'backbone.layer1.0.conv3.weight' in online
    depth = DEPTHS.get((tuple(blocks), bottleneck))
    if depth is None:
        raise ValueError('the dense probe rebuilds ResNet backbones only; '
                         f'found blocks {blocks} (bottleneck={bottleneck})')
    stages = sorted(set(fpn_stages(online).values())) if any(
        k.startswith('neck.lateral_convs.') for k in online) else []
    resnet = ResNetV1c if 'backbone.stem.0.weight' in online else ResNet
    backbone = resnet(depth=depth, out_indices=tuple(stages) or (3, ))
    backbone.load_state_dict(prefixed(online, 'backbone.'), strict=True)
    neck = None
    if stages:
        lateral = [
            online[f'neck.lateral_convs.{i}.conv.weight']
            for i in range(len(stages))
        ]
        with_norm = 'neck.lateral_convs.0.bn.weight' in online
        neck = FPN([w.shape[1] for w in lateral],
                   lateral[0].shape[0],
                   num_outs=len(stages),
                   norm_cfg=dict(type='BN') if with_norm else None)
        neck.load_state_dict(prefixed(online, 'neck.'), strict=True)
    return ProbeNet(backbone, neck).eval()


def probe_net_from_file(path: str, source: Optional[str] = None) -> tuple:
    """:func:`probe_net` of a checkpoint file; also its format."""
    weights = read_weights(path, source)
    return probe_net(weights.online), weights.source
