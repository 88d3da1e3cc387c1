# Copyright (c) mcl_mm contributors. All rights reserved.
"""Rename MCL weights for the frameworks that fine-tune them."""
import re
from typing import Dict, Tuple

import torch

from .mcl_checkpoint import fpn_stages
from .state_dict import State, prefixed


def to_mmdet(state: State,
             fpn_start_level: int = 0,
             with_fpn: bool = True,
             with_box_head: bool = True,
             c4: bool = False) -> Tuple[State, Dict[str, int]]:
    """MCL online weights as an mmdet detector state dict.

    Args:
        state (dict): Online MCL weights (:func:`load_mcl_state`).
        fpn_start_level (int): ``start_level`` of the detector's FPN (0 for
            Mask R-CNN, 1 for RetinaNet). FPN convs are matched by the
            backbone stage they read, not by list position.
        with_fpn (bool): Carry the FPN into ``neck``.
        with_box_head (bool): Carry the 4 tile-head convs into
            ``roi_head.bbox_head.shared_convs`` (Shared4Conv1FCBBoxHead).
        c4 (bool): R50-C4 detector: res5 (the C4 variant's tile head, or
            else backbone stage 4) goes to ``roi_head.shared_head.layer4``,
            no FPN, no box head convs.

    Returns:
        tuple: The new state dict and the number of tensors per group.
    """
    out: State = {}
    groups: Dict[str, int] = {}
    backbone = prefixed(state, 'backbone.', 'backbone.')
    if c4:
        # res5 is the tile head of the C4 variant, else backbone stage 4
        head = prefixed(state, 'tile_head.tile_layer.layer4.',
                        'roi_head.shared_head.layer4.')
        if not head:
            head = prefixed(backbone, 'backbone.layer4.',
                            'roi_head.shared_head.layer4.')
            backbone = {
                k: v
                for k, v in backbone.items()
                if not k.startswith('backbone.layer4.')
            }
        out.update(head)
        groups['roi_head.shared_head.layer4'] = len(head)
        with_fpn = with_box_head = False
    out.update(backbone)
    groups['backbone'] = len(backbone)
    if with_fpn:
        count = 0
        for lateral, stage in fpn_stages(state).items():
            target = stage - fpn_start_level
            if target < 0:
                continue  # the detector's FPN does not read this stage
            for kind in ('lateral_convs', 'fpn_convs'):
                part = prefixed(state, f'neck.{kind}.{lateral}.',
                                f'neck.{kind}.{target}.')
                out.update(part)
                count += len(part)
        groups['neck'] = count
    if with_box_head:
        convs = prefixed(state, 'tile_head.shared_convs.',
                         'roi_head.bbox_head.shared_convs.')
        # a detector-style source's first box-head fc (SoCo's fc1)
        convs.update(
            prefixed(state, 'box_fc.', 'roi_head.bbox_head.shared_fcs.0.'))
        out.update(convs)
        groups['roi_head.bbox_head'] = len(convs)
    return out, groups


def to_mmseg(state: State) -> Tuple[State, Dict[str, int]]:
    """The MCL backbone as mmseg ``backbone.*`` weights."""
    out = prefixed(state, 'backbone.', 'backbone.')
    return out, dict(backbone=len(out))


def to_torchvision(state: State) -> Tuple[State, Dict[str, int]]:
    """The MCL backbone under torchvision ResNet names (identical to
    mmpretrain's, without the prefix); there is no ``fc``."""
    out = prefixed(state, 'backbone.')
    return out, dict(backbone=len(out))


def _detectron2_resnet_name(key: str) -> str:
    if not key.startswith('layer'):
        key = 'stem.' + key
    for t in (1, 2, 3, 4):
        key = key.replace(f'layer{t}', f'res{t + 1}')
    for t in (1, 2, 3):
        key = key.replace(f'bn{t}', f'conv{t}.norm')
    key = key.replace('downsample.0', 'shortcut')
    return key.replace('downsample.1', 'shortcut.norm')


def to_detectron2(state: State) -> Tuple[dict, Dict[str, int]]:
    """MCL weights in detectron2's naming, as numpy arrays.

    Backbone as ``stem.*`` / ``res{2-5}.*``, FPN as
    ``backbone.fpn_lateral{2-5}`` / ``backbone.fpn_output{2-5}`` (by the
    stage read), tile-head convs as ``roi_heads.box_head.conv{1-4}``; conv
    norms become ``.norm``. Load it with ``MODEL.WEIGHTS`` (the dict carries
    ``matching_heuristics``).
    """
    model = {}
    backbone = prefixed(state, 'backbone.')
    for k, v in backbone.items():
        model[_detectron2_resnet_name(k)] = v
    for lateral, stage in fpn_stages(state).items():
        for kind, name in (('lateral_convs', 'fpn_lateral'), ('fpn_convs',
                                                              'fpn_output')):
            part = prefixed(state, f'neck.{kind}.{lateral}.')
            for k, v in part.items():
                k = re.sub(r'^conv\.', '', k).replace('bn.', 'norm.')
                model[f'backbone.{name}{stage + 2}.{k}'] = v
    for k, v in prefixed(state, 'tile_head.shared_convs.').items():
        i, rest = k.split('.', 1)
        rest = re.sub(r'^conv\.', '', rest).replace('bn.', 'norm.')
        model[f'roi_heads.box_head.conv{int(i) + 1}.{rest}'] = v
    for k, v in prefixed(state, 'box_fc.').items():
        model[f'roi_heads.box_head.fc1.{k}'] = v
    model = {
        k: v.numpy()
        for k, v in model.items() if not k.endswith('num_batches_tracked')
    }
    fpn = sum(1 for k in model if k.startswith('backbone.fpn'))
    head = sum(1 for k in model if k.startswith('roi_heads.'))
    groups = dict(backbone=len(model) - fpn - head, fpn=fpn, box_head=head)
    return dict(
        model=model, __author__='mcl_mm', matching_heuristics=True), groups


def to_mcl(online: State,
           target: State,
           steps: int = 1) -> Tuple[State, Dict[str, int]]:
    """A state dict of mcl_mm's MCL model: the online network as it is, the
    EMA target under ``target_net.module.{0,1,2}`` (backbone, neck, tile
    head; the online network where the source kept no target).

    Args:
        online (State): Online weights in mcl_mm's names.
        target (State): Target weights in the same names, or empty.
        steps (int): The target's update count (``target_net.steps``):
            mmpretrain's ``CosineEMA`` anneals its momentum by it, so a
            continued run goes on from the source's iteration; never 0,
            which would make the first update copy the online network over
            the released target.

    Returns:
        tuple: The state dict and the number of tensors per group.
    """
    out = {
        k: v
        for k, v in online.items()
        if k.startswith(('backbone.', 'neck.', 'tile_head.', 'head.'))
    }
    groups = {
        part: sum(1 for k in out if k.startswith(part + '.'))
        for part in ('backbone', 'neck', 'tile_head', 'head')
    }
    source = target or online
    count = 0
    for i, part in enumerate(('backbone.', 'neck.', 'tile_head.')):
        for k, v in prefixed(source, part).items():
            out[f'target_net.module.{i}.{k}'] = v
            count += 1
    out['target_net.steps'] = torch.tensor(max(1, steps))
    groups['target_net'] = count + 1
    return out, groups
