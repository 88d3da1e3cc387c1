"""From an MCL checkpoint to mmdet / mmseg fine-tuning, on the CPU."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mcl_mm.utils.coins_data import make_coins_dataset
from mmpretrain.registry import MODELS
from conftest import DEMO_CONFIG, ROOT

pytestmark = pytest.mark.slow  # subprocess / training runs

BENCH = osp.join(ROOT, 'configs', 'benchmarks')
TOOLS = osp.join(ROOT, 'tools', 'benchmarks')


@pytest.fixture(scope='module')
def demo_ckpt(tmp_path_factory):
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(DEMO_CONFIG).model)
    model.init_weights()
    path = str(tmp_path_factory.mktemp('ckpt') / 'mcl_demo.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=0)), path)
    return path


@pytest.fixture(scope='module')
def coins(tmp_path_factory):
    return make_coins_dataset(str(tmp_path_factory.mktemp('coins')))


def _run(cmd, work_dir):
    env = dict(os.environ, WORK_DIR=work_dir)
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    return out


def test_coins_dataset_has_real_boxes_and_masks(coins):
    import json
    with open(coins['ann_file']) as f:
        coco = json.load(f)
    assert len(coco['images']) == 4
    assert len(coco['annotations']) >= 40
    for ann in coco['annotations']:
        x, y, w, h = ann['bbox']
        assert w > 5 and h > 5 and ann['area'] > 100 and ann['segmentation']


def test_mask_rcnn_two_iterations_from_converted_mcl(demo_ckpt, coins,
                                                     tmp_path):
    root = osp.dirname(coins['images']) + '/'
    ann = coins['ann_file']
    out = _run([
        'bash',
        osp.join(TOOLS, 'mmdetection', 'mim_train.sh'), demo_ckpt,
        osp.join(BENCH, 'mmdetection',
                 'mask-rcnn_r18-fpn-conv_1xb2-30e_coins-demo.py'), '0',
        'mmdet', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}'
    ], str(tmp_path / 'det'))
    # the report, against the coins config's R18 detector
    assert re.search(r'backbone +120 / 120', out)
    assert re.search(r'roi_head.bbox_head +24 / 30', out)
    missing = re.search(r'missing keys in source state_dict: (.*)', out)
    assert missing and 'backbone.' not in missing.group(1)
    assert 'shared_convs' not in missing.group(1)
    losses = re.findall(r'Epoch\(train\) +\[1\]\[2/2\].* loss: ([0-9.]+) ',
                        out)
    assert len(losses) == 1 and float(losses[0]) > 0
    assert re.search(r'coco/bbox_mAP: -?[0-9.]+ .*coco/segm_mAP: -?[0-9.]+',
                     out)


def test_fcn_two_iterations_from_converted_mcl(demo_ckpt, coins, tmp_path):
    root = osp.dirname(coins['images'])
    out = _run([
        'bash',
        osp.join(TOOLS, 'mmsegmentation', 'mim_train.sh'), demo_ckpt,
        osp.join(BENCH, 'mmsegmentation',
                 'fcn_r18-d8_1xb2-20it_coins-demo.py'), '0', '--cfg-options',
        'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
        'param_scheduler.0.end=2', 'default_hooks.logger.interval=1',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}'
    ], str(tmp_path / 'seg'))
    assert re.search(r'backbone +120 / 120', out)
    assert re.search(r'decode_head +0 / \d+ +\(starts anew\)', out)
    losses = re.findall(r'Iter\(train\) \[ ?[12]/2\].* loss: ([0-9.]+) ', out)
    assert len(losses) == 2 and all(float(v) > 0 for v in losses)
    assert re.search(r'mIoU: [0-9.]+', out)
