"""Released checkpoints (the MCL authors', SoCo, detectron2 .pkl, backbone
only) read by their own layouts, converted, and reported."""
import copy
import datetime
import os.path as osp
import pickle
import re
import subprocess
import sys
from collections import Counter

import pytest
import released_layouts as layouts
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope

from mcl_mm.converters.checkpoint_file import read_checkpoint
from mcl_mm.converters.conversion import convert_file
from mcl_mm.converters.load_report import check_load, problems
from mcl_mm.converters.sources import read_weights
from mmpretrain.registry import MODELS
from conftest import IN1K, ROOT

BENCH = osp.join(ROOT, 'configs', 'benchmarks')
MASK_RCNN = osp.join(BENCH, 'mmdetection',
                     'mask-rcnn_r50-fpn-conv_syncbn_1x_coco.py')


@pytest.fixture(scope='module')
def authors(tmp_path_factory):
    """An mcl_mm R50-FPN S=4 state (online and a different EMA target) and
    the MCL authors' checkpoint holding the same tensors."""
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(Config.fromfile(IN1K).model))
    model.init_weights()
    ours = {}
    for k, v in model.state_dict().items():
        v = v.clone()
        if v.is_floating_point():
            v.normal_()
            if k.endswith('running_var'):
                v = v.abs() + 0.5
            if k.startswith('target_net.'):
                v += 10  # the target differs from the online network
        ours[k] = v
    path = str(tmp_path_factory.mktemp('authors') / 'mcl_authors.pth')
    torch.save(layouts.mcl_authors(ours), path)
    return ours, path


def test_authors_file_has_the_released_layout(authors):
    _, path = authors
    ckpt = read_checkpoint(path)
    assert set(ckpt) == {'meta', 'state_dict', 'optimizer'}
    state = ckpt['state_dict']
    assert len(state) == 1158
    parts = Counter('.'.join(k.split('.')[:2]) for k in state)
    assert parts['encoder_q.0'] == parts['encoder_k.0'] == 318
    assert state['encoder_q.2.mlp.4.running_mean'].shape == (256, )
    assert 'encoder_q.2.mlp.4.weight' not in state  # BN1d(affine=False)


@pytest.mark.slow  # an R50 S=4 loss step
def test_authors_to_mcl_loads_strict_and_takes_a_loss_step(authors, tmp_path):
    ours, path = authors
    out = str(tmp_path / 'mcl.pth')
    report = convert_file(path, out, 'mcl')
    assert all(f == t for f, t in report.groups.values())
    state = torch.load(out, weights_only=True)['state_dict']
    # online from encoder_q, target from encoder_k, predictors per level
    for key in ('backbone.layer3.2.conv2.weight',
                'neck.fpn_convs.1.conv.weight',
                'tile_head.shared_convs.3.bn.running_var',
                'tile_head.projection.fc1.bias', 'head.predictors.2.fc1.bias',
                'target_net.module.0.layer1.0.conv1.weight',
                'target_net.module.2.projection.bn0.weight'):
        assert torch.equal(state[key], ours[key]), key
    assert int(state['target_net.steps']) == 31200  # the authors' iteration
    cfg = Config.fromfile(IN1K)
    cfg.model.montage.resolution = 64
    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.load_state_dict(state, strict=True)
    views = [
        torch.rand(32, 3, 64 // 2**i, 64 // 2**i) * 255 for i in range(4)
    ] * 2
    data = model.data_preprocessor(dict(inputs=views, data_samples=None), True)
    # CosineEMA's momentum follows target_net.steps over max_iters
    MessageHub.get_current_instance().update_info('max_iters', 10**5)
    losses = model.loss(data['inputs'], None)
    loss = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(loss)
    loss.backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0


def test_authors_fpn_in_the_detector_reproduces_their_pyramid(
        authors, tmp_path):
    from mmdet.models.necks import FPN
    from mmdet.registry import MODELS as DET_MODELS
    _, path = authors
    out = str(tmp_path / 'det.pth')
    report = convert_file(path, out, 'mmdet')
    assert report.groups['backbone'] == (318, 318)
    assert report.groups['neck'] == (48, 48)
    assert report.groups['roi_head.bbox_head'][0] == 24  # the 4 head convs
    src = read_checkpoint(path)['state_dict']
    init_default_scope('mmdet')
    detector = revert_sync_batchnorm(
        DET_MODELS.build(Config.fromfile(MASK_RCNN).model)).eval()
    result = detector.load_state_dict(
        torch.load(out, weights_only=True)['state_dict'], strict=False)
    assert not result.unexpected_keys
    head = detector.roi_head.bbox_head.shared_convs
    assert torch.equal(head[2].conv.weight,
                       src['encoder_q.2.cls_convs.2.conv.weight'])
    assert torch.equal(detector.backbone.layer2[1].conv1.weight,
                       src['encoder_q.0.layer2.1.conv1.weight'])
    # reference: an mmdet FPN holding the authors' encoder_q.1 tensors
    fpn = FPN([256, 512, 1024, 2048],
              256,
              num_outs=4,
              norm_cfg=dict(type='BN')).eval()
    fpn.load_state_dict({
        k[len('encoder_q.1.'):]: v
        for k, v in src.items() if k.startswith('encoder_q.1.')
    })
    torch.manual_seed(1)
    feats = [
        torch.randn(1, c, s, s)
        for c, s in zip([256, 512, 1024, 2048], [32, 16, 8, 4])
    ]
    with torch.no_grad():
        ours, ref = detector.neck(feats)[:4], fpn(feats)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b)


def test_detectron2_pkl_round_trips(authors, tmp_path):
    ours, path = authors
    pkl = str(tmp_path / 'mcl.pkl')
    convert_file(path, pkl, 'detectron2')
    with open(pkl, 'rb') as f:
        assert pickle.load(f)['matching_heuristics'] is True
    back = read_weights(pkl)
    assert back.source == 'detectron2'
    for key in ('backbone.conv1.weight', 'backbone.bn1.running_mean',
                'backbone.layer4.0.downsample.1.weight',
                'neck.lateral_convs.3.conv.weight', 'neck.fpn_convs.0.bn.bias',
                'tile_head.shared_convs.1.bn.weight'):
        assert torch.equal(back.online[key], ours[key]), key
    det = str(tmp_path / 'from_pkl.pth')
    report = convert_file(pkl, det, 'mmdet')
    assert report.groups['neck'] == (48, 48)


def test_soco_checkpoint_loads_safely_and_converts(tmp_path):
    resnet, fpn = layouts.torchvision_resnet50(), layouts.fpn_state()
    ckpt = layouts.soco(resnet, fpn)
    path = str(tmp_path / 'soco.pth')
    torch.save(ckpt, path)
    assert read_checkpoint(path)['opt'].arch == 'resnet50'  # weights_only
    out = str(tmp_path / 'soco_det.pth')
    report = convert_file(path, out, 'mmdet')
    assert report.groups['roi_head.bbox_head'] == (26, 30)  # convs + fc1
    state = torch.load(out, weights_only=True)['state_dict']
    assert torch.equal(state['backbone.layer1.0.conv1.weight'],
                       resnet['layer1.0.conv1.weight'])  # never encoder_k
    assert torch.equal(state['neck.fpn_convs.2.conv.weight'],
                       fpn['fpn_convs.2.conv.weight'])
    model = ckpt['model']
    assert torch.equal(state['roi_head.bbox_head.shared_fcs.0.weight'],
                       model['module.head.fc1.weight'])
    assert torch.equal(state['roi_head.bbox_head.shared_convs.3.bn.bias'],
                       model['module.head.bn4.bias'])
    reasons = set(report.dropped.values())
    assert 'momentum copy' in reasons
    assert 'SoCo projector (pre-training only)' in reasons


def test_a_pickled_object_other_than_the_allowed_is_refused(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(model={}, opt=datetime.date(2021, 6, 1)), path)
    with pytest.raises(pickle.UnpicklingError, match='weights_only=True'):
        read_checkpoint(path)
    pkl = str(tmp_path / 'evil.pkl')
    with open(pkl, 'wb') as f:
        pickle.dump(dict(model={}, hook=Counter(a=1)), f)
    with pytest.raises(pickle.UnpicklingError, match='refusing'):
        read_checkpoint(pkl)


@pytest.mark.parametrize(
    'layout',
    ['mmpretrain-mocov2', 'openselfsup-byol', 'pixpro', 'torchvision'])
def test_backbone_only_sources_take_the_online_resnet(layout, tmp_path):
    resnet = layouts.torchvision_resnet50()
    other = {k: v + 1 for k, v in resnet.items()}
    state = {
        'mmpretrain-mocov2': {
            **{
                'backbone.' + k: v
                for k, v in resnet.items() if not k.startswith('fc.')
            },
            **{
                'momentum_encoder.0.' + k: v
                for k, v in other.items()
            }
        },
        'openselfsup-byol': {
            **{
                'online_net.0.' + k: v
                for k, v in resnet.items()
            },
            **{
                'target_net.0.' + k: v
                for k, v in other.items()
            }
        },
        'pixpro': {
            **{
                'module.encoder.' + k: v
                for k, v in resnet.items()
            },
            **{
                'module.encoder_k.' + k: v
                for k, v in other.items()
            }
        },
        'torchvision': resnet,
    }[layout]
    path = str(tmp_path / 'ckpt.pth')
    torch.save(
        dict(state_dict=state) if layout != 'torchvision' else state, path)
    out = str(tmp_path / 'tv.pth')
    report = convert_file(path, out, 'torchvision')
    assert report.groups == {'backbone': (318, 318)}
    converted = torch.load(out, weights_only=True)
    import torchvision
    net = torchvision.models.resnet50()
    net.fc = torch.nn.Identity()
    net.load_state_dict(converted, strict=True)
    for k in ('conv1.weight', 'layer4.2.bn3.running_mean'):
        assert torch.equal(converted[k], resnet[k])


def test_a_partial_backbone_fails_unless_allowed(tmp_path):
    resnet = {
        k: v
        for k, v in layouts.torchvision_resnet50().items()
        if not k.startswith('layer4.')
    }
    path = str(tmp_path / 'cut.pth')
    torch.save(resnet, path)
    with pytest.raises(ValueError, match=r'backbone: only 258 of 318'):
        convert_file(path, str(tmp_path / 'out.pth'), 'mmseg')
    assert not osp.exists(tmp_path / 'out.pth')
    report = convert_file(
        path, str(tmp_path / 'out.pth'), 'mmseg', allow_partial=True)
    assert report.groups['backbone'] == (258, 318)  # no layer4
    tool = osp.join(ROOT, 'tools', 'model_converters', 'convert_mcl.py')
    proc = subprocess.run(
        [sys.executable, tool, path,
         str(tmp_path / 'o.pth'), '--to', 'mmseg'],
        capture_output=True,
        text=True)
    assert proc.returncode == 1 and '--allow-partial' in proc.stderr


def test_check_load_flags_a_deep_stem_target(tmp_path):
    resnet = layouts.torchvision_resnet50()
    ckpt = str(tmp_path / 'seg.pth')
    convert_file(_torchvision_file(resnet, tmp_path), ckpt, 'mmseg')
    plain = osp.join(BENCH, 'mmsegmentation',
                     'fcn_r50-d8_4xb4-20k_voc12aug-512x512.py')
    report, how = check_load(plain, ckpt)
    assert 'init_cfg' in how and report.groups['backbone'] == (318, 318)
    assert not problems(report)
    cfg = Config.fromfile(plain)
    cfg.model.backbone.type = 'ResNetV1c'  # mmseg's own FCN backbone
    cfg.model.backbone.pop('deep_stem')
    deep = str(tmp_path / 'fcn_v1c.py')
    cfg.dump(deep)
    report, _ = check_load(deep, ckpt)
    found = problems(report)
    assert any('deep-stem ResNetV1c' in p for p in found)
    assert report.groups['backbone'][0] < report.groups['backbone'][1]


def _torchvision_file(state, tmp_path):
    path = str(tmp_path / 'tv_src.pth')
    torch.save(copy.deepcopy(state), path)
    return path


@pytest.mark.slow
def test_check_load_command_line_exit_codes(authors, tmp_path):
    _, path = authors
    det = str(tmp_path / 'det.pth')
    convert_file(path, det, 'mmdet')
    tool = osp.join(ROOT, 'tools', 'analysis_tools', 'check_load.py')
    proc = subprocess.run([sys.executable, tool, MASK_RCNN, det],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'load_from' in proc.stdout
    assert re.search(r'neck +48 / 48', proc.stdout)
