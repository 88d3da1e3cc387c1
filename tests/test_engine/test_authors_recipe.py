"""The R50-FPN ImageNet configs against the authors' schedule, LARS
exclusions and inits (configs/selfsup/MCL/MCL.py, hooks/lr_hook.py,
apis/train.py and models/necks.py of their code), each re-computed here
from the authors' definitions."""
import math
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS
from torch import nn

from mcl_mm.montage import apply_montage_geometry
from mmpretrain.registry import MODELS
from conftest import IN1K, ROOT

COCO = f'{ROOT}/configs/mcl/mcl_r50-fpn_32xb128-amp-coslr-400e_coco.py'


def _authors_lr(it: int,
                total: int,
                warmup: int,
                base: float = 16.0,
                min_lr: float = 1e-4,
                ratio: float = 1e-4) -> float:
    """mmcv's CosineAnnealingIntervalLrUpdaterHook with linear warm-up by
    iteration: the cosine over the whole run, times the warm-up factor."""
    cosine = min_lr + 0.5 * (base - min_lr) * (1 +
                                               math.cos(math.pi * it / total))
    if it >= warmup:
        return cosine
    return cosine * (1 - (1 - it / warmup) * (1 - ratio))


@pytest.mark.parametrize('path, epochs', [(IN1K, 100), (COCO, 400)])
def test_schedule_is_the_authors(path, epochs):
    cfg = Config.fromfile(path)
    iters_per_epoch = 20
    total = epochs * iters_per_epoch
    param = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=cfg.optim_wrapper.optimizer.lr)
    schedulers = []
    for s in cfg.param_scheduler:
        s = dict(s, optimizer=optimizer)
        s.setdefault('end', cfg.train_cfg.max_epochs)  # as the Runner does
        if s.pop('convert_to_iter_based', False):
            cls = PARAM_SCHEDULERS.get(s.pop('type'))
            schedulers.append(
                cls.build_iter_from_epoch(epoch_length=iters_per_epoch, **s))
        else:
            schedulers.append(PARAM_SCHEDULERS.build(s))
    lrs = []
    for _ in range(total):
        lrs.append(optimizer.param_groups[0]['lr'])
        for s in schedulers:
            s.step()
    warmup = 10 * iters_per_epoch
    expected = [_authors_lr(i, total, warmup) for i in range(total)]
    # mmengine's LinearLR reaches factor 1 one iteration before the end of
    # the warm-up (mmcv's at its end): within 0.5 % there, equal after it
    assert lrs == pytest.approx(expected, rel=5.1e-3)
    assert lrs[warmup:] == pytest.approx(expected[warmup:], rel=1e-6)
    if epochs == 100:
        assert lrs[total // 2] == pytest.approx(8.0, rel=1e-3)
        assert max(lrs) == pytest.approx(15.6, abs=0.05)


def _authors_excluded(name: str) -> bool:
    """The authors' regexes on the authors' name of the same parameter."""
    return any(
        re.search(r, name) for r in (r'(bn|gn)(\d+)?.(weight|bias)', 'bias'))


def _authors_name(model: nn.Module, name: str) -> str:
    """The authors' module name of one of our parameters: their ResNet
    norms are bn1-3 and downsample.1 as ours; their FPN and head ConvModule
    norms are 'bn' as ours; their MLPs are nn.Sequential (mlp.0 Linear,
    mlp.1 BatchNorm1d, ...), whatever our names."""
    module_name, _, leaf = name.rpartition('.')
    parent = model.get_submodule(module_name.rpartition('.')[0])
    if type(parent).__name__ != 'NonLinearNeck':
        return name
    module = model.get_submodule(module_name)
    return f'mlp.0.{leaf}' if isinstance(module, nn.Linear) else \
        f'mlp.1.{leaf}'


def test_lars_exclusions_are_the_authors():
    cfg = apply_montage_geometry(Config.fromfile(IN1K))
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    excluded = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            excluded[id(p)] = (group.get('lars_exclude',
                                         False), group['weight_decay'] == 0)
    checked = 0
    for name, p in model.named_parameters():
        if not p.requires_grad or name.startswith('target_net'):
            continue
        authors = _authors_excluded(_authors_name(model, name))
        assert excluded[id(p)] == (authors, authors), name
        checked += 1
    assert checked > 200  # R50 + FPN + head + MLPs
    # what the authors' names leave under decay and LARS scaling
    names = dict(model.named_parameters())
    kept = [
        n for n in names
        if id(names[n]) in excluded and not excluded[id(names[n])][0]
    ]
    assert 'backbone.layer1.0.downsample.1.weight' in kept
    assert 'tile_head.projection.bn0.weight' in kept
    assert 'head.predictors.0.bn0.weight' in kept
    assert 'backbone.bn1.weight' not in kept


def test_mlp_inits_are_the_authors():
    torch.manual_seed(0)
    cfg = apply_montage_geometry(Config.fromfile(IN1K))
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    projection = [
        m for m in model.tile_head.projection.modules()
        if isinstance(m, nn.Linear)
    ]
    predictors = [
        m for m in model.head.predictors.modules() if isinstance(m, nn.Linear)
    ]
    for m in projection:  # Kaiming normal, fan_in, relu: std sqrt(2 / in)
        assert m.weight.std().item() == pytest.approx(
            math.sqrt(2 / m.in_features), rel=0.05)
        assert m.bias.abs().max().item() == 0
    for m in predictors:
        assert m.weight.std().item() == pytest.approx(0.01, rel=0.05)
        assert m.bias.abs().max().item() == 0
    # PyTorch's default (the demo config): uniform, std 1 / sqrt(3 * in)
    demo = Config.fromfile(f'{ROOT}/configs/mcl/'
                           'mcl_r18-fpn_1xb16-96px-s3-100it_demo.py')
    other = revert_sync_batchnorm(
        MODELS.build(apply_montage_geometry(demo).model))
    other.init_weights()
    linear = other.head.predictors[0].fc0
    assert linear.weight.std().item() == pytest.approx(
        1 / math.sqrt(3 * linear.in_features), rel=0.05)


def test_backbone_init_switch_gives_the_authors_fan_in():
    """The ablation config's backbone convs are Kaiming normal with fan_in
    (their resnet.py), the shipped config's with mmpretrain's fan_out: the
    std of every conv against sqrt(2 / fan) from its own shape."""
    authors = (f'{ROOT}/configs/mcl/ablations/'
               'mcl_r50-fpn_s4-authors-init_in1k.py')
    for path, mode in ((authors, 'fan_in'), (IN1K, 'fan_out')):
        torch.manual_seed(0)
        cfg = Config.fromfile(path).model.backbone
        cfg.norm_cfg = dict(type='BN')
        backbone = MODELS.build(cfg)
        backbone.init_weights()
        convs = [m for m in backbone.modules() if isinstance(m, nn.Conv2d)]
        assert len(convs) == 53
        for conv in convs:
            out_ch, in_ch, kh, kw = conv.weight.shape
            fan = (in_ch if mode == 'fan_in' else out_ch) * kh * kw
            std = conv.weight.std().item()
            assert std == pytest.approx(
                math.sqrt(2 / fan), rel=0.1), (path, conv.weight.shape)
        for m in backbone.modules():
            if isinstance(m, nn.BatchNorm2d):
                assert m.weight.eq(1).all() and m.bias.eq(0).all()
