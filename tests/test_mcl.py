import copy
import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm

from mcl_mm.models import default_level_weights
from mmpretrain.registry import MODELS
from conftest import DEMO_CONFIG, ROOT

CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'mcl', '*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'mcl', 'ablations', '*.py')))


def _model_cfg(path):
    cfg = Config.fromfile(path)
    model = copy.deepcopy(cfg.model)
    # as mmengine's Runner does
    model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    return model


def _views(num_levels, batch, resolution):
    return [torch.rand(batch, 3, resolution, resolution) * 255
            for _ in range(2 * num_levels)]


def _grad_norm(module):
    return sum(p.grad.abs().sum() for p in module.parameters()
               if p.grad is not None)


def test_level_weights_follow_the_paper():
    assert default_level_weights(4) == [1 / 2, 1 / 4, 1 / 8, 1 / 8]
    assert default_level_weights(3) == [1 / 2, 1 / 4, 1 / 4]
    assert default_level_weights(1) == [1.0]


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
    multiple = model.tiler.batch_multiple
    batch = multiple * max(1, 4 // multiple)  # BN needs > 1 sample
    data = model.data_preprocessor(
        dict(inputs=[v.byte() for v in _views(len(scales), batch,
                                               resolution)],
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
    model_cfg.montage.update(resolution=64, scales=(1, ), tiles_per_image=None)
    model_cfg.head.update(num_levels=1)
    # S=1 reads P5 only: the FPN is built on C5 alone
    model_cfg.backbone.out_indices = (3, )
    model_cfg.neck.update(in_channels=[512], num_outs=1)
    model_cfg.pyramid_strides = (32, )
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
        for z, t in ((za, zb), (zb, za)):
            p = F.normalize(model.head.predictors[0]((z, ))[0], dim=1)
            logits = p @ F.normalize(t, dim=1).t() / T
            ref = ref + 2 * T * F.cross_entropy(logits, torch.arange(8))
    torch.testing.assert_close(losses['loss_l0'].detach(), ref,
                               rtol=1e-4, atol=1e-5)
    assert -1 <= losses['neg_cos_l0'] <= 1 and -1 <= losses['pos_cos_l0'] <= 1


def test_target_starts_as_copy_of_online():
    model = _single_level_model()
    online = dict(model.backbone.named_parameters())
    for name, p in model.target_net.module[0].named_parameters():
        torch.testing.assert_close(p, online[name])


def test_resolution_off_the_pyramid_cells_is_refused():
    model_cfg = _model_cfg(DEMO_CONFIG)
    model_cfg.montage.resolution = 100  # 100-px images on 32-px P5 cells
    with pytest.raises(ValueError,
                       match=r'resolution 100 .* level 0.*32-px cells'):
        MODELS.build(model_cfg)


def test_levels_below_one_are_refused():
    model_cfg = _model_cfg(DEMO_CONFIG)
    model_cfg.montage.scales = ()
    with pytest.raises(ValueError, match='at least one level'):
        MODELS.build(model_cfg)
    model_cfg = _model_cfg(DEMO_CONFIG)
    model_cfg.head.num_levels = 0
    with pytest.raises(ValueError, match='num_levels must be >= 1'):
        MODELS.build(model_cfg)


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
    model_cfg.backbone.out_indices = (0, 1, 2, 3)
    model_cfg.neck.update(in_channels=[64, 128, 256, 512], num_outs=4)
    model_cfg.pyramid_strides = (4, 8, 16, 32)
    with pytest.raises(ValueError, match=r'pyramid outputs \[0\] .* read by '
                       'no level'):
        MODELS.build(model_cfg)
