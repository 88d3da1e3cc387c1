"""The paper's MCL variants: supervised multi-level pre-training, R50-C4
pyramid, Swin-T, and the ablation knobs."""
import copy
import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope

from mcl_mm.converters import to_mmdet
from mcl_mm.models import MontageTiler, encode_montages
from mcl_mm.montage import (apply_montage_geometry, match_pyramid_outputs,
                            montages_to_tiles, select_pyramid)
from mmpretrain.registry import MODELS, TRANSFORMS
from mmpretrain.structures import DataSample
from conftest import ROOT

MCL_DIR = osp.join(ROOT, 'configs', 'mcl')
C4 = osp.join(MCL_DIR, 'mcl_r50-c4_32xb128-amp-coslr-100e_in1k.py')
SWIN = osp.join(MCL_DIR, 'mcl_swin-t-fpn_32xb128-amp-adamw-coslr-100e_in1k.py')
SUPERVISED = sorted(glob.glob(osp.join(MCL_DIR, 'supervised', '*.py')))
BENCH = osp.join(ROOT, 'configs', 'benchmarks', 'mmdetection')


def _build(path, resolution=None):
    cfg = Config.fromfile(path)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    if resolution:
        model_cfg.montage.resolution = resolution
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    model.init_weights()
    return model


# --- R50-C4: the pyramid is C4 resized --------------------------------------


def test_c4_pyramid_resizes_c4_to_each_level_stride():
    torch.manual_seed(0)
    model = _build(C4).eval()
    x = torch.randn(1, 3, 224, 224)
    feats = model.backbone(x)
    assert len(feats) == 1 and feats[0].shape == (1, 1024, 14, 14)
    outs = model.neck(feats)
    assert [o.shape[-1] for o in outs] == [112, 56, 28, 14]
    for out in outs[:-1]:
        ref = F.interpolate(
            feats[0],
            size=out.shape[-2:],
            mode='bilinear',
            align_corners=False)
        torch.testing.assert_close(out, ref)
    assert torch.equal(outs[-1], feats[0])
    # level i (r_i = 1, 2, 4, 8) reads stride 16 / r_i: 14x14 cells per tile
    assert model.pyramid_outputs == [3, 2, 1, 0]
    for index, r in zip(model.pyramid_outputs, model.tiler.scales):
        assert outs[index].shape[-1] // r == 14
    # the res5 tile head ends every tile on 7x7 cells
    tile = model.tile_head.tile_layer(torch.randn(2, 1024, 14, 14))
    assert tile.shape == (2, 2048, 7, 7)


def test_c4_variant_converts_res5_into_the_c4_detector(tmp_path):
    from mmdet.registry import MODELS as DET_MODELS
    model = _build(C4)
    state = {
        k: v
        for k, v in model.state_dict().items()
        if not k.startswith('target_net.')
    }
    converted, groups = to_mmdet(state, c4=True)
    assert groups['roi_head.shared_head.layer4'] == len(
        model.tile_head.tile_layer.state_dict())
    init_default_scope('mmdet')
    cfg = Config.fromfile(
        osp.join(BENCH, 'mask-rcnn_r50-c4_syncbn_1x_coco.py'))
    detector = revert_sync_batchnorm(DET_MODELS.build(cfg.model))
    result = detector.load_state_dict(converted, strict=False)
    assert not result.unexpected_keys
    # the benchmark's ResLayerExtraNorm adds a BN after res5 that the
    # detector learns anew (MoCo's detectron2 C4 recipe)
    wanted = [
        k for k in detector.state_dict()
        if k.startswith(('backbone.', 'roi_head.shared_head.layer4.'))
    ]
    assert [
        k for k in result.missing_keys if k.startswith('roi_head.shared_head.')
    ] == [
        f'roi_head.shared_head.norm.{n}'
        for n in ('weight', 'bias', 'running_mean', 'running_var')
    ]
    assert not [k for k in wanted if k in result.missing_keys]
    for key in wanted:
        src = key.replace('roi_head.shared_head.', 'tile_head.tile_layer.')
        assert torch.equal(detector.state_dict()[key], state[src]), key


# --- Swin-T ------------------------------------------------------------------


def test_swin_variant_loads_into_mmdet_mask_rcnn_swin_t():
    from mmdet.registry import MODELS as DET_MODELS
    model = _build(SWIN)
    state = {
        k: v
        for k, v in model.state_dict().items()
        if not k.startswith('target_net.')
    }
    converted, groups = to_mmdet(state)
    assert groups['neck'] == len(model.neck.state_dict())
    init_default_scope('mmdet')
    cfg = Config.fromfile(
        osp.join(BENCH, 'mask-rcnn_swin-t-p4-w7-fpn-conv_1x_coco.py'))
    detector = revert_sync_batchnorm(DET_MODELS.build(cfg.model))
    result = detector.load_state_dict(converted, strict=False)
    assert not result.unexpected_keys
    carried = ('backbone.', 'neck.', 'roi_head.bbox_head.shared_convs.')
    wanted = [k for k in detector.state_dict() if k.startswith(carried)]
    assert wanted and not [k for k in wanted if k in result.missing_keys]
    x = torch.randn(1, 3, 64, 64)
    detector.eval()
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(
            detector.neck(detector.backbone(x))[:4],
            model.neck(model.backbone(x)))


# --- supervised multi-level ------------------------------------------------


def test_supervised_labels_follow_the_tiles():
    # image b is filled with the value 10 * label_b: each tile's pixels
    # name the label it must carry, independently of tile_labels
    tiler = MontageTiler(
        resolution=32, scales=(1, 2, 4, 8), tiles_per_image=(1, 1, 1, 2))
    labels = torch.randint(0, 20, (32, ))
    images = [(labels.float() * 10).view(-1, 1, 1,
                                         1).expand(32, 3, 32 // r, 32 // r)
              for r in tiler.scales]
    montages, index = tiler(images)
    model = _build(SUPERVISED[0], resolution=32)
    tile_labels = model.tile_labels(
        [DataSample().set_gt_label(int(y)) for y in labels], index)
    for montage, r, y in zip(montages, tiler.scales, tile_labels):
        t = 32 // r
        seen = montages_to_tiles(montage, r).reshape(-1, 3 * t * t)
        assert torch.equal(seen.min(1).values, seen.max(1).values)
        assert torch.equal((seen[:, 0] / 10).long(), y)


@pytest.mark.parametrize('path', SUPERVISED, ids=osp.basename)
def test_supervised_config_pipeline_to_loss(path, photo_dir):
    """The shipped pipeline (one view per level, labels packed) feeds the
    model; each level's loss is its weighted cross-entropy."""
    cfg = Config.fromfile(path)
    resolution = 64
    cfg.merge_from_dict({'model.montage.resolution': resolution})
    pipeline = apply_montage_geometry(cfg).train_dataloader.dataset.pipeline
    from mmcv.transforms import Compose
    transform = Compose([TRANSFORMS.build(t) for t in pipeline])
    photos = sorted(glob.glob(osp.join(photo_dir, '*')))
    model = _build(path, resolution=resolution)
    batch = model.tiler.batch_multiple
    samples = [
        transform(dict(img_path=photos[i % len(photos)], gt_label=i % 7))
        for i in range(batch)
    ]
    assert len(samples[0]['inputs']) == 4
    assert [v.shape[-1] for v in samples[0]['inputs']] == [64, 32, 16, 8]
    data = model.data_preprocessor(default_collate(samples), True)
    torch.manual_seed(3)
    losses = model(data['inputs'], data['data_samples'], mode='loss')
    assert sorted(k for k in losses if k.startswith('loss')) == [
        'loss_l0', 'loss_l1', 'loss_l2', 'loss_l3'
    ]
    # independent reference: same tiling draw, plain cross-entropy
    torch.manual_seed(3)
    montages, index = model.tiler(data['inputs'])
    tiles = encode_montages(
        torch.nn.Sequential(model.backbone, model.neck, model.tile_head),
        montages, model.pyramid_outputs, model.tiler.scales)
    labels = torch.tensor([i % 7 for i in range(batch)])
    for i, (z, idx) in enumerate(zip(tiles, index)):
        ref = model.head.level_weights[i] * F.cross_entropy(
            model.head.classifiers[i](z), labels[idx])
        torch.testing.assert_close(losses[f'loss_l{i}'], ref)
    loss = sum(v for k, v in losses.items() if k.startswith('loss'))
    loss.backward()
    for part in (model.backbone, model.neck, model.tile_head, model.head):
        assert sum(p.grad.abs().sum() for p in part.parameters()
                   if p.grad is not None) > 0


def test_supervised_wrong_view_count_is_named():
    model = _build(SUPERVISED[0], resolution=32)
    with pytest.raises(ValueError, match='expected 1 x 4 view batches'):
        model.loss([torch.randn(32, 3, 32, 32)] * 8, [])


# --- ablation knobs --------------------------------------------------------


def test_explicit_pyramid_outputs_are_checked():
    scales, strides = (1, 2), (16, 32)
    assert match_pyramid_outputs(scales, 64, strides) == [1, 0]
    assert match_pyramid_outputs(scales, 64, strides, (0, 0)) == [0, 0]
    with pytest.raises(ValueError, match='outside the outputs 0..1'):
        match_pyramid_outputs(scales, 64, strides, (0, 2))
    with pytest.raises(ValueError, match='one output per level'):
        match_pyramid_outputs(scales, 64, strides, (0, ))
    with pytest.raises(ValueError, match='whole 32-px cells'):
        match_pyramid_outputs(scales, 48, strides, (1, 1))


def test_outputs_read_by_no_level_warn_only_when_explicit():
    backbone = dict(type='ResNet', depth=18, out_indices=(0, 1, 2, 3))
    neck = dict(
        type='mmdet.FPN',
        in_channels=[64, 128, 256, 512],
        out_channels=8,
        num_outs=4)
    strides = (4, 8, 16, 32)
    with pytest.warns(UserWarning, match='find_unused_parameters'):
        b, n, outputs = select_pyramid(
            backbone, neck, strides, [0, 0], explicit=True)
    # an FPN output needs every coarser stage: all four stay
    assert b['out_indices'] == (0, 1, 2, 3) and n['num_outs'] == 4
    assert outputs == [0, 0]
    b, n, outputs = select_pyramid(backbone, neck, strides, [3, 2])
    assert b['out_indices'] == (2, 3) and n['in_channels'] == [256, 512]
    assert outputs == [1, 0]
    assert backbone['out_indices'] == (0, 1, 2, 3)  # the input is a copy
    with pytest.raises(ValueError, match='skip a pyramid output'):
        select_pyramid(backbone, neck, strides, [3, 1])


def test_boundary_smoothing_blends_only_near_inner_borders():
    torch.manual_seed(0)
    sharp = MontageTiler(resolution=32, scales=(2, ), boundary_width=0)
    smooth = MontageTiler(resolution=32, scales=(2, ), boundary_width=3)
    images = [torch.rand(4, 3, 16, 16)]
    torch.manual_seed(1)
    a, index_a = sharp(images)
    torch.manual_seed(1)
    b, index_b = smooth(images)
    assert torch.equal(index_a[0], index_b[0])
    a, b = a[0], b[0]
    # independent: a 7x7 box blur (border-normalised), weight 1 - d / 3
    blur = F.avg_pool2d(a, 7, 1, 3, count_include_pad=False)
    d = (torch.arange(32) + 0.5 - 16).abs()
    w = (1 - d / 3).clamp(min=0)
    mask = torch.maximum(w[:, None], w[None, :])
    torch.testing.assert_close(b, a * (1 - mask) + blur * mask)
    far = mask == 0
    assert torch.equal(b[..., far], a[..., far])
    assert not torch.allclose(b[..., 15, :], a[..., 15, :])
    with pytest.raises(ValueError, match='boundary_width must be in 0..8'):
        MontageTiler(resolution=32, scales=(1, 2), boundary_width=9)
