"""Released checkpoint layouts built from the key names and shapes their
authors use (random tensors), for the converter tests."""
import argparse
from collections import OrderedDict
from typing import Dict

import torch

State = Dict[str, torch.Tensor]


def _sub(state: State, prefix: str) -> State:
    return {
        k[len(prefix):]: v
        for k, v in state.items() if k.startswith(prefix)
    }


def mcl_authors(ours: State) -> dict:
    """The MCL authors' OpenSelfSup checkpoint holding the tensors of an
    mcl_mm R50-FPN S=4 MCL state dict ``ours`` (written key by key from
    the authors' module names)."""
    enc = {}
    for prefix, tgt in (('encoder_q.', ''), ('encoder_k.',
                                             'target_net.module.')):
        part = {
            '0.': _sub(ours, tgt + ('0.' if tgt else 'backbone.')),
            '1.': _sub(ours, tgt + ('1.' if tgt else 'neck.')),
        }
        head = _sub(ours, tgt + ('2.' if tgt else 'tile_head.'))
        for k, v in part['0.'].items():
            enc[f'{prefix}0.{k}'] = v
        for k, v in part['1.'].items():
            enc[f'{prefix}1.{k}'] = v
        for k, v in head.items():
            if k.startswith('shared_convs.'):
                enc[f'{prefix}2.cls_convs.' + k[len('shared_convs.'):]] = v
            else:
                layer, rest = k[len('projection.'):].split('.', 1)
                index = dict(fc0=0, bn0=1, fc1=3, bn1=4)[layer]
                enc[f'{prefix}2.mlp.{index}.{rest}'] = v
    for k, v in _sub(ours, 'head.predictors.').items():
        level, layer, rest = k.split('.', 2)
        index = dict(fc0=0, bn0=1, fc1=3)[layer]
        enc[f'head.predictor.{level}.mlp.{index}.{rest}'] = v
    state = OrderedDict()
    for k, v in enc.items():
        if k.startswith('encoder_q.0.'):
            state['backbone.' + k[len('encoder_q.0.'):]] = v  # the alias
    state.update(enc)
    return dict(
        meta=dict(epoch=100, iter=31200, mmcv_version='1.0.3'),
        state_dict=state,
        optimizer=dict(state={}, param_groups=[dict(lr=0.1)]))


def torchvision_resnet50() -> State:
    import torchvision
    torch.manual_seed(1)
    model = torchvision.models.resnet50()
    for name, buf in model.named_buffers():
        if 'running_mean' in name:
            buf.normal_()
    return model.state_dict()


def fpn_state(seed: int = 2) -> State:
    from mmdet.models.necks import FPN
    torch.manual_seed(seed)
    fpn = FPN([256, 512, 1024, 2048],
              256,
              num_outs=4,
              norm_cfg=dict(type='BN'))
    for name, buf in fpn.named_buffers():
        if 'running_mean' in name:
            buf.normal_()
    return fpn.state_dict()


def soco(resnet: State, fpn: State) -> dict:
    """SoCo's raw FPN checkpoint: DDP prefix, momentum copies, argparse
    options."""
    model = OrderedDict()
    for part, state in (('encoder', resnet), ('neck', fpn)):
        for k, v in state.items():
            model[f'module.{part}.{k}'] = v
            model[f'module.{part}_k.{k}'] = v + 1
    torch.manual_seed(3)
    for i in range(1, 5):
        model[f'module.head.conv{i}.weight'] = torch.randn(256, 256, 3, 3)
        for stat in ('weight', 'bias', 'running_mean', 'running_var'):
            model[f'module.head.bn{i}.{stat}'] = torch.randn(256)
        model[f'module.head.bn{i}.num_batches_tracked'] = torch.tensor(5)
    model['module.head.fc1.weight'] = torch.randn(1024, 12544)
    model['module.head.fc1.bias'] = torch.randn(1024)
    for k in [k for k in model if k.startswith('module.head.')]:
        model[k.replace('module.head.', 'module.head_k.')] = model[k] * 2
    model['module.projector.linear1.weight'] = torch.randn(4096, 1024)
    model['module.predictor.linear1.weight'] = torch.randn(4096, 256)
    return dict(
        opt=argparse.Namespace(
            arch='resnet50', batch_size=64, lr=1.0, aug='ImageAsymBboxCutout'),
        model=model,
        optimizer=dict(state={}, param_groups=[dict(lr=1.0)]),
        scheduler=dict(last_epoch=100),
        epoch=100,
        amp=dict(loss_scaler0=dict(loss_scale=65536.0, unskipped=0)))
