"""MCL checkpoints converted for mmdet, mmseg, torchvision and detectron2."""
import os.path as osp
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope

from mcl_mm.converters import (fpn_stages, load_mcl_state, to_detectron2,
                               to_mmdet, to_mmseg, to_torchvision)
from conftest import ROOT

BENCH = osp.join(ROOT, 'configs', 'benchmarks')


def _detector(config):
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    cfg = Config.fromfile(config)
    return revert_sync_batchnorm(MODELS.build(cfg.model)).eval()


def _load(model, state):
    result = model.load_state_dict(state, strict=False)
    return list(result.missing_keys), list(result.unexpected_keys)


def _equal_to_source(converted, state, rename):
    for key, value in converted.items():
        src = state[rename(key)]
        assert torch.equal(torch.as_tensor(value), src), key


@pytest.mark.slow
def test_refuses_a_file_that_is_not_mcl(tmp_path):
    path = tmp_path / 'resnet.pth'
    torch.save(dict(state_dict={'backbone.conv1.weight': torch.ones(1)}), path)
    with pytest.raises(
            ValueError,
            match=r'not an MCL checkpoint: no weights '
            r"under \['tile_head.'\]"):
        load_mcl_state(str(path))
    proc = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'model_converters', 'convert_mcl.py'),
        str(path),
        str(tmp_path / 'out.pth')
    ],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 1
    assert 'not a checkpoint of mcl_mm / mcl-authors' in proc.stderr
    assert '--from' in proc.stderr


@pytest.mark.slow
def test_mask_rcnn_fpn_conv_loads_backbone_fpn_and_head(mcl_ckpt, tmp_path):
    mcl, path = mcl_ckpt
    state = load_mcl_state(path)
    assert fpn_stages(state) == {0: 0, 1: 1, 2: 2, 3: 3}
    # through the command-line tool, as a user would
    out = tmp_path / 'mmdet.pth'
    proc = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'model_converters', 'convert_mcl.py'), path,
        str(out), '--to', 'mmdet'
    ],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r'roi_head.bbox_head +24 / 30', proc.stdout)
    assert re.search(r'backbone +318 / 318', proc.stdout)
    converted = torch.load(out, weights_only=True)['state_dict']
    _equal_to_source(
        converted, state, lambda k: k.replace(
            'roi_head.bbox_head.shared_convs', 'tile_head.shared_convs'))

    detector = _detector(
        osp.join(BENCH, 'mmdetection',
                 'mask-rcnn_r50-fpn-conv_syncbn_1x_coco.py'))
    missing, unexpected = _load(detector, converted)
    assert unexpected == []
    assert [
        k for k in missing
        if k.startswith(('backbone.', 'neck.',
                         'roi_head.bbox_head.shared_convs.'))
    ] == []
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ours = mcl.neck(mcl.backbone(x))
        theirs = detector.neck(detector.backbone(x))
    assert len(theirs) == 5  # P6 by max-pooling, no weights
    for a, b in zip(ours, theirs[:4]):
        torch.testing.assert_close(a, b)


def test_retinanet_gets_c3_to_c5_fpn_by_stage(mcl_ckpt):
    _, path = mcl_ckpt
    state = load_mcl_state(path)
    converted, groups = to_mmdet(state, fpn_start_level=1, with_box_head=False)
    assert 'roi_head.bbox_head.shared_convs' not in groups
    detector = _detector(
        osp.join(BENCH, 'mmdetection', 'retinanet_r50-fpn_syncbn_1x_coco.py'))
    missing, unexpected = _load(detector, converted)
    assert unexpected == []
    # only the P6/P7 extra convs, which MCL does not have, start anew
    assert sorted({
        '.'.join(k.split('.')[:3])
        for k in missing if k.startswith(('backbone.', 'neck.'))
    }) == ['neck.fpn_convs.3', 'neck.fpn_convs.4']
    dstate = detector.state_dict()
    for j in range(3):  # RetinaNet lateral j reads C(j+3) = MCL lateral j+1
        for kind in ('lateral_convs', 'fpn_convs'):
            assert torch.equal(dstate[f'neck.{kind}.{j}.conv.weight'],
                               state[f'neck.{kind}.{j + 1}.conv.weight'])


def test_mask_rcnn_c4_gets_stage4_in_its_shared_head(mcl_ckpt):
    import mmpretrain.models.utils.res_layer_extra_norm  # noqa: F401
    _, path = mcl_ckpt
    state = load_mcl_state(path)
    converted, groups = to_mmdet(state, c4=True)
    assert groups['roi_head.shared_head.layer4'] > 0
    detector = _detector(
        osp.join(BENCH, 'mmdetection', 'mask-rcnn_r50-c4_syncbn_1x_coco.py'))
    missing, unexpected = _load(detector, converted)
    assert unexpected == []
    assert [
        k for k in missing
        if k.startswith(('backbone.', 'roi_head.shared_head.layer4.'))
    ] == []
    torch.testing.assert_close(
        detector.state_dict()['roi_head.shared_head.layer4.0.conv1.weight'],
        state['backbone.layer4.0.conv1.weight'])


def test_mmseg_fcn_backbone(mcl_ckpt):
    from mmseg.registry import MODELS
    _, path = mcl_ckpt
    converted, _ = to_mmseg(load_mcl_state(path))
    init_default_scope('mmseg')
    cfg = Config.fromfile(
        osp.join(BENCH, 'mmsegmentation',
                 'fcn_r50-d8_4xb4-20k_voc12aug-512x512.py'))
    segmentor = revert_sync_batchnorm(MODELS.build(cfg.model))
    missing, unexpected = _load(segmentor, converted)
    assert unexpected == []
    assert [k for k in missing if k.startswith('backbone.')] == []


def test_torchvision_resnet50_loads_strictly(mcl_ckpt):
    import torchvision
    mcl, path = mcl_ckpt
    converted, _ = to_torchvision(load_mcl_state(path))
    net = torchvision.models.resnet50()
    net.fc = torch.nn.Identity()  # a pre-trained backbone has no classifier
    net.load_state_dict(converted, strict=True)
    net.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ours = mcl.backbone(x)[-1].mean((2, 3))
        torch.testing.assert_close(net(x), ours)


def test_detectron2_pickle(mcl_ckpt, tmp_path):
    _, path = mcl_ckpt
    state = load_mcl_state(path)
    obj, groups = to_detectron2(state)
    out = tmp_path / 'mcl.pkl'
    with open(out, 'wb') as f:
        pickle.dump(obj, f)
    with open(out, 'rb') as f:
        model = pickle.load(f)['model']

    def count(prefix):
        return sum(
            1 for k in state
            if k.startswith(prefix) and not k.endswith('num_batches_tracked'))

    # R50: 53 convs + 53 BNs x 4; FPN: 8 convs + BNs; 4 head convs + BNs
    assert groups == dict(
        backbone=count('backbone.'),
        fpn=count('neck.'),
        box_head=count('tile_head.shared_convs.'))
    assert groups == dict(backbone=265, fpn=40, box_head=20)
    np.testing.assert_array_equal(model['stem.conv1.weight'],
                                  state['backbone.conv1.weight'].numpy())
    np.testing.assert_array_equal(
        model['res5.2.conv3.norm.running_var'],
        state['backbone.layer4.2.bn3.running_var'].numpy())
    np.testing.assert_array_equal(
        model['res2.0.shortcut.norm.weight'],
        state['backbone.layer1.0.downsample.1.weight'].numpy())
    np.testing.assert_array_equal(
        model['backbone.fpn_lateral2.weight'],
        state['neck.lateral_convs.0.conv.weight'].numpy())
    np.testing.assert_array_equal(model['backbone.fpn_output5.norm.bias'],
                                  state['neck.fpn_convs.3.bn.bias'].numpy())
    np.testing.assert_array_equal(
        model['roi_heads.box_head.conv4.weight'],
        state['tile_head.shared_convs.3.conv.weight'].numpy())


@pytest.mark.slow
def test_publish_model_strips_and_hashes(mcl_ckpt, tmp_path):
    import hashlib
    _, path = mcl_ckpt
    proc = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'publish_model.py'), path,
        str(tmp_path / 'mcl_r50.pth')
    ],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    final = re.search(r'published (\S+)', proc.stdout).group(1)
    digest = hashlib.sha256(open(final, 'rb').read()).hexdigest()
    assert final.endswith(f'mcl_r50-{digest[:8]}.pth')
    ckpt = torch.load(final, weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert not any(k.startswith('target_net.') for k in ckpt['state_dict'])
    # a published checkpoint still converts
    converted, _ = to_mmdet(load_mcl_state(final))
    assert converted


def test_publish_drops_every_momentum_network(tmp_path):
    """MCL's EMA target and MaskCo's key encoder both go; the online
    weights and the plain meta stay."""
    from mcl_mm.converters.publish import publish
    state = {
        'backbone.conv1.weight': torch.ones(2),
        'target_net.module.0.conv1.weight': torch.ones(2),
        'encoder_k.module.0.conv1.weight': torch.ones(2),
        'mask_head.conv.weight': torch.zeros(3),
    }
    src = str(tmp_path / 'maskco.pth')
    torch.save(
        dict(
            state_dict=state,
            meta=dict(iter=5, note='x'),
            optimizer=dict(state={})), src)
    final = publish(src, str(tmp_path / 'out.pth'))
    ckpt = torch.load(final, weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert sorted(ckpt['state_dict']) == [
        'backbone.conv1.weight', 'mask_head.conv.weight'
    ]
    assert ckpt['meta'] == dict(iter=5, note='x')
