import copy
import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm

from mcl_mm.engine import apply_device_augment
from mcl_mm.models import default_level_weights
from mcl_mm.montage import apply_montage_geometry
from mmpretrain.registry import MODELS
from conftest import DEMO_CONFIG, ROOT

CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'mcl', '*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'mcl', 'ablations', '*.py')))


def _model_cfg(path):
    # as MontageRunner does: the photometric steps move to the device
    cfg = apply_device_augment(apply_montage_geometry(Config.fromfile(path)))
    model = copy.deepcopy(cfg.model)
    # as mmengine's Runner does
    model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    return model


def _views(num_levels, batch, resolution):
    return [
        torch.rand(batch, 3, resolution, resolution) * 255
        for _ in range(2 * num_levels)
    ]


def _grad_norm(module):
    return sum(p.grad.abs().sum() for p in module.parameters()
               if p.grad is not None)


def test_level_weights_follow_the_paper():
    assert default_level_weights(4) == [1 / 2, 1 / 4, 1 / 8, 1 / 8]
    assert default_level_weights(3) == [1 / 2, 1 / 4, 1 / 4]
    assert default_level_weights(1) == [1.0]


@pytest.mark.slow  # a backward pass of every R50/Swin config
@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_every_config_builds_and_trains_one_step(path):
    torch.manual_seed(0)
    model_cfg = _model_cfg(path)
    # keep the config's levels and scales, shrink the pixels for the CPU
    scales = model_cfg.montage.scales
    resolution = 64
    model_cfg.montage.resolution = resolution
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    model.init_weights()
    if 'supervised' not in path:  # the device path is the default
        assert [len(p) for p in model.data_preprocessor.augments] == [4, 4]
    multiple = model.tiler.batch_multiple
    batch = multiple * max(1, 4 // multiple)  # BN needs > 1 sample
    data = model.data_preprocessor(
        dict(
            inputs=[v.byte() for v in _views(len(scales), batch, resolution)],
            data_samples=None), True)
    losses = model(data['inputs'], data['data_samples'], mode='loss')
    loss = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(loss)
    assert len([k for k in losses if k.startswith('loss')]) == len(scales)
    loss.backward()
    for part in (model.backbone, model.neck, model.tile_head, model.head):
        # every weight-bearing part learns (C4Pyramid has no weights)
        assert _grad_norm(part) > 0 or not list(part.parameters())
    # the target network gets no gradient
    assert all(p.grad is None for p in model.target_net.parameters())


def _single_level_model():
    model_cfg = _model_cfg(DEMO_CONFIG)
    model_cfg.montage.update(resolution=64, scales=(1, ))
    model_cfg.head.loss.temperature = 0.5
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model


def test_single_level_loss_equals_reference_cross_entropy():
    torch.manual_seed(0)
    model = _single_level_model()
    views = [torch.randn(8, 3, 64, 64) for _ in range(2)]
    losses = model.loss(views, None)
    assert set(k for k in losses if k.startswith('loss')) == {'loss_l0'}

    # reference: full FPN forward, unpermuted batch, target = online copy
    # (the EMA target equals the online net at its first update)
    def embed(x):
        p5 = model.neck(model.backbone(x))[-1]
        for conv in model.tile_head.shared_convs:
            p5 = conv(p5)
        return model.tile_head.projection((p5, ))[0]

    with torch.no_grad():
        za, zb = embed(views[0]), embed(views[1])
        T = 0.5
        ref = 0
        pos_cos = neg_cos = 0
        off_diagonal = ~torch.eye(8, dtype=torch.bool)
        for z, t in ((za, zb), (zb, za)):
            p = F.normalize(model.head.predictors[0]((z, ))[0], dim=1)
            cos = p @ F.normalize(t, dim=1).t()
            ref = ref + 2 * T * F.cross_entropy(cos / T, torch.arange(8))
            # the logged cosines: the mean of both directions
            pos_cos = pos_cos + cos.diagonal().mean() / 2
            neg_cos = neg_cos + cos[off_diagonal].mean() / 2
    torch.testing.assert_close(
        losses['loss_l0'].detach(), ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(
        losses['pos_cos_l0'], pos_cos, atol=1e-5, rtol=0)
    torch.testing.assert_close(
        losses['neg_cos_l0'], neg_cos, atol=1e-5, rtol=0)


def test_target_starts_as_copy_of_online():
    model = _single_level_model()
    online = dict(model.backbone.named_parameters())
    for name, p in model.target_net.module[0].named_parameters():
        torch.testing.assert_close(p, online[name])


def test_resolution_off_the_pyramid_cells_is_refused():
    model_cfg = _model_cfg(DEMO_CONFIG)
    model_cfg.montage.resolution = 100  # 100-px images on 32-px P5 cells
    with pytest.raises(
            ValueError, match=r'resolution 100 .* level 0.*32-px cells'):
        MODELS.build(model_cfg)


def test_levels_below_one_are_refused():
    model_cfg = _model_cfg(DEMO_CONFIG)
    model_cfg.montage.scales = ()
    with pytest.raises(ValueError, match='at least one level'):
        MODELS.build(model_cfg)
    head_cfg = _model_cfg(DEMO_CONFIG).head
    with pytest.raises(ValueError, match='num_levels must be >= 1'):
        MODELS.build(dict(head_cfg, num_levels=0))


def test_head_and_montage_levels_must_agree():
    model_cfg = _model_cfg(DEMO_CONFIG)
    model_cfg.head.num_levels = 2
    with pytest.raises(ValueError, match='head.num_levels=2 .* 3 levels'):
        MODELS.build(model_cfg)


def test_wrong_number_of_views_is_refused():
    model = _single_level_model()
    with pytest.raises(ValueError, match=r'expected 2 x 1 view batches'):
        model.loss([torch.randn(8, 3, 64, 64)] * 3, None)


def test_pyramid_output_read_by_no_level_is_refused():
    model_cfg = _model_cfg(DEMO_CONFIG)
    model_cfg.montage.scales = (1, 4)  # P5 and P3: P4 would get no gradient
    with pytest.raises(
            ValueError, match=r'pyramid outputs \[2\] .* read by '
            'no level'):
        MODELS.build(model_cfg)


@pytest.mark.parametrize('scales, stages', [((1, ), (3, )), ((1, 2), (2, 3)),
                                            ((1, 2, 4), (1, 2, 3)),
                                            ((1, 2, 4, 8), (0, 1, 2, 3))])
def test_pyramid_follows_the_montage_scales(scales, stages):
    """The head's levels, the backbone stages and the FPN inputs follow
    model.montage.scales alone (R18: C2-C5 have 64-512 channels)."""
    model_cfg = _model_cfg(DEMO_CONFIG)
    model_cfg.montage.update(scales=scales, resolution=64)
    model = MODELS.build(model_cfg)
    assert model.head.num_levels == len(scales)
    assert len(model.head.predictors) == len(scales)
    assert tuple(model.backbone.out_indices) == stages
    channels = [64, 128, 256, 512]
    assert [c.conv.in_channels for c in model.neck.lateral_convs
            ] == [channels[s] for s in stages]
    # level i reads the output of stride 32 / r_i: the coarsest is last
    strides = [(4, 8, 16, 32)[s] for s in stages]
    assert [strides[k]
            for k in model.pyramid_outputs] == [32 // r for r in scales]


def test_level_weights_can_follow_the_number_of_levels():
    from mcl_mm.models.heads.mcl_head import check_level_weights
    assert check_level_weights(3, 'equal', 'x') == [1 / 3] * 3
    assert check_level_weights(2, None, 'x') == [1 / 2, 1 / 2]
    with pytest.raises(ValueError, match='expected 2, got 4'):
        check_level_weights(2, (0.25, ) * 4, 'x')
