"""MaskCo: views and boxes, masking, RoIAlign indexing, negatives, a CPU
loss step from the shipped config."""
import copy
import glob
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.model import revert_sync_batchnorm
from PIL import Image

from mcl_mm.models.selfsup.maskco import MaskCo, boxes_to_rois, negative_logits
from mmpretrain.registry import MODELS, TRANSFORMS
from conftest import ROOT

CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'maskco', '*.py')))
IN1K = osp.join(ROOT, 'configs', 'maskco',
                'maskco_r50_8xb32-coslr-200e_in1k.py')


def _one_hot_keys(b, m):
    """Key (c, j) is the unit vector e_{c * m + j}: similarities count
    exactly which boxes a logit row holds."""
    return torch.eye(b * m).view(b, m, b * m)


@pytest.mark.parametrize('intra, count', [(False, 496), (True, 512)])
def test_negative_counts_and_no_own_boxes_among_inter_negatives(intra, count):
    b, m = 32, 16
    neg = _one_hot_keys(b, m)
    # query b = the sum of its own image's boxes: inter-image negatives
    # must never contain them
    q = neg.sum(1)
    logits = negative_logits(q, neg, intra)
    assert logits.shape == (b, count)
    inter = logits[:, :(b - 1) * m]
    assert torch.count_nonzero(inter) == 0
    if intra:
        assert torch.equal(logits[:, (b - 1) * m:], torch.ones(b, m))
    # query = image c's boxes: every other image sees each of them once
    q = neg[5].sum(0, keepdim=True).expand(b, -1)
    inter = negative_logits(q, neg, False)
    for row in range(b):
        assert inter[row].sum() == (0 if row == 5 else m)


def test_rois_name_their_image():
    b, k = 3, 4
    boxes = torch.tensor([4., 4., 20., 20.]).expand(b, k, 4)
    rois = boxes_to_rois(boxes)
    assert rois.shape == (b * k, 5)
    assert rois[:, 0].tolist() == [i for i in range(b) for _ in range(k)]
    # image i's features are constant i: every pooled RoI reads its image
    feats = torch.arange(
        b, dtype=torch.float).view(b, 1, 1, 1).expand(b, 8, 8, 8).contiguous()
    from mmcv.ops import RoIAlign
    pooled = RoIAlign(7, 1 / 4., sampling_ratio=2, aligned=True)(feats, rois)
    assert torch.allclose(pooled.mean((1, 2, 3)), rois[:, 0])


def test_mask_region_zeroes_the_box_only():
    images = torch.ones(2, 3, 32, 32)
    boxes = torch.tensor([[2.5, 4., 10., 9.2], [0., 0., 32., 32.]])
    out = MaskCo.mask_region(images, boxes)
    expected = torch.ones(2, 3, 32, 32)
    expected[0, :, 4:10, 2:10] = 0
    expected[1] = 0
    assert torch.equal(out, expected)
    assert torch.equal(images, torch.ones(2, 3, 32, 32))  # not in place


def test_views_boxes_lie_inside_and_show_the_same_region(photo_dir):
    transform = TRANSFORMS.build(
        dict(
            type='MaskCoViews',
            size=128,
            transforms=[[], []],
            crop_area=(0.3, 1.0)))
    img = np.asarray(
        Image.open(osp.join(photo_dir,
                            'chelsea.png')).convert('RGB'))[..., ::-1].copy()
    np.random.seed(0)
    corr = []
    for _ in range(20):
        out = transform(dict(img=img))
        q, k = out['img']
        mask_box, key_boxes = out['mask_box'], out['key_boxes']
        assert q.shape == k.shape == (128, 128, 3)
        assert key_boxes.shape == (17, 4)
        for box in torch.cat([mask_box[None], key_boxes]):
            assert box[0] >= -1e-3 and box[1] >= -1e-3
            assert box[2] <= 128 + 1e-3 and box[3] <= 128 + 1e-3
            assert box[2] > box[0] and box[3] > box[1]
        w, h = mask_box[2] - mask_box[0], mask_box[3] - mask_box[1]
        assert w * h <= 0.5 * 128 * 128 + 1
        # the masked query region and the positive key box hold the same
        # part of the photo (different crops, sizes and flips)
        patches = []
        for view, box in ((q, mask_box), (k, key_boxes[0])):
            x1, y1, x2, y2 = box.tolist()
            patch = view[int(y1):int(np.ceil(y2)), int(x1):int(np.ceil(x2))]
            patches.append(
                np.asarray(
                    Image.fromarray(patch).resize((16, 16)),
                    np.float32).ravel())
        a, b = (p - p.mean() for p in patches)
        corr.append(
            float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-6)))
    assert np.median(corr) > 0.8


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_configs_build(path):
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model)
    assert isinstance(model, MaskCo)
    assert model.intra_negatives == ('maskco-in' in osp.basename(path))


def test_loss_step_from_the_shipped_config(photo_dir):
    cfg = Config.fromfile(IN1K)
    pipeline = copy.deepcopy(cfg.train_pipeline)
    pipeline[1]['size'] = 96
    transform = Compose([TRANSFORMS.build(t) for t in pipeline])
    photos = sorted(glob.glob(osp.join(photo_dir, '*')))
    batch = [transform(dict(img_path=p)) for p in photos[:4]]
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    for a, b in zip(model.backbone.parameters(),
                    model.encoder_k.module[0].parameters()):
        assert torch.equal(a, b)
    data = model.data_preprocessor(default_collate(batch), True)
    losses = model(data['inputs'], data['data_samples'], mode='loss')
    assert torch.isfinite(losses['loss'])
    # InfoNCE over 1 positive + 3 x 16 negatives starts near log(49)
    assert abs(losses['loss'].item() - np.log(49)) < 1.5
    losses['loss'].backward()
    for part in (model.backbone, model.mask_head, model.neck):
        assert sum(p.grad.abs().sum() for p in part.parameters()
                   if p.grad is not None) > 0
    assert all(p.grad is None for p in model.encoder_k.parameters())
    with pytest.raises(KeyError, match='key_boxes'):
        model.loss(data['inputs'], [type(s)() for s in data['data_samples']])


@pytest.mark.slow
def test_backbone_targets_convert_a_maskco_checkpoint(tmp_path):
    cfg = Config.fromfile(IN1K)
    model = MODELS.build(cfg.model)
    path = str(tmp_path / 'maskco.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    tool = osp.join(ROOT, 'tools', 'model_converters', 'convert_mcl.py')
    out = str(tmp_path / 'c4.pth')
    proc = subprocess.run(
        [sys.executable, tool, path, out, '--to', 'mmdet-c4'],
        capture_output=True,
        text=True)
    assert proc.returncode == 0, proc.stderr
    state = torch.load(out, weights_only=True)['state_dict']
    assert torch.equal(state['roi_head.shared_head.layer4.0.conv1.weight'],
                       model.backbone.layer4[0].conv1.weight)
    assert not any(k.startswith(('encoder_k', 'mask_head')) for k in state)
    assert 'EMA target' not in proc.stdout  # MaskCo's key net: momentum
    assert 'encoder_k' in proc.stdout and 'not part of the backbone' in \
        proc.stdout
    # an FPN detector takes the backbone; its FPN and head start anew
    proc = subprocess.run([sys.executable, tool, path, out, '--to', 'mmdet'],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r'backbone +318 / 318', proc.stdout)
    assert re.search(r'neck +0 / 48 +\(starts anew\)', proc.stdout)
