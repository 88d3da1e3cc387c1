"""Linear evaluation protocols: multi-layer (conv1..conv5), VOC07 and COCO
multi-label, on the CPU with real photographs."""
import copy
import json
import os
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image

from mmpretrain.models.backbones import ResNet
from mmpretrain.registry import METRICS, MODELS
from mmpretrain.structures import DataSample
from conftest import ROOT

CLS = osp.join(ROOT, 'configs', 'benchmarks', 'classification')
MULTI_LAYER = osp.join(CLS,
                       'resnet50_multi-layer-linear_8xb32-steplr-90e_in1k.py')
VOC07 = osp.join(CLS, 'resnet50_linear-multilabel_8xb32-coslr-100e_voc07.py')
COCO = osp.join(CLS, 'resnet50_linear-multilabel_8xb32-coslr-30e_coco.py')


def test_stem_out_resnet_returns_conv1_then_the_stock_stages():
    torch.manual_seed(0)
    ours = MODELS.build(
        dict(type='ResNetStemOut', depth=18, out_indices=(0, 1, 2, 3)))
    stock = ResNet(depth=18, out_indices=(0, 1, 2, 3))
    stock.load_state_dict(ours.state_dict(), strict=True)
    ours.eval()  # mmpretrain's ResNet.train() returns None: no chaining
    stock.eval()
    x = torch.randn(2, 3, 64, 64)
    outs = ours(x)
    conv1 = F.relu(
        F.batch_norm(
            F.conv2d(x, ours.conv1.weight, stride=2,
                     padding=3), ours.norm1.running_mean,
            ours.norm1.running_var, ours.norm1.weight, ours.norm1.bias))
    assert len(outs) == 5
    torch.testing.assert_close(outs[0], conv1)
    for a, b in zip(outs[1:], stock(x)):
        torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match='deep_stem'):
        MODELS.build(dict(type='ResNetStemOut', depth=18, deep_stem=True))


@pytest.fixture(scope='module')
def multi_layer_model(mcl_ckpt):
    _, path = mcl_ckpt
    cfg = Config.fromfile(MULTI_LAYER)
    cfg.model.backbone.init_cfg.checkpoint = path
    cfg.model.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def test_multi_layer_model_loads_the_mcl_backbone(mcl_ckpt, multi_layer_model):
    mcl, _ = mcl_ckpt
    ours = multi_layer_model.backbone.state_dict()
    theirs = mcl.backbone.state_dict()
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        assert torch.equal(ours[key], value), key


def test_multi_layer_head_pools_each_layer_to_about_9k_dims(multi_layer_model):
    model = copy.deepcopy(multi_layer_model).eval()
    feats = model.extract_feat(torch.randn(2, 3, 224, 224))
    assert [f.shape[1:] for f in feats] == [(64, 112, 112), (256, 56, 56),
                                            (512, 28, 28), (1024, 14, 14),
                                            (2048, 7, 7)]
    # pooled sizes from torch's functional pooling, independent of the head
    params = [(10, 10, 4), (16, 8, 0), (13, 5, 0), (8, 3, 0), (6, 1, 0)]
    dims = [
        F.avg_pool2d(f, k, s, p).flatten(1).shape[1]
        for f, (k, s, p) in zip(feats, params)
    ]
    assert dims == [9216, 9216, 8192, 9216, 8192]
    assert [fc.in_features for fc in model.head.fcs] == dims
    assert all(fc.out_features == 1000 for fc in model.head.fcs)


def test_multi_layer_train_step_moves_only_the_linear_heads(multi_layer_model):
    model = copy.deepcopy(multi_layer_model)
    model.train()
    optim = torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                            lr=0.1)
    from mmengine.optim import OptimWrapper
    wrapper = OptimWrapper(optim)
    before = copy.deepcopy(model.state_dict())
    data = dict(
        inputs=[
            torch.randint(0, 255, (3, 224, 224), dtype=torch.uint8)
            for _ in range(2)
        ],
        data_samples=[DataSample().set_gt_label(i) for i in (3, 7)])
    losses = model.train_step(data, wrapper)
    assert set(k for k in losses if k.startswith('loss_')) == {
        f'loss_conv{i}'
        for i in range(1, 6)
    }
    assert all(torch.isfinite(v) for v in losses.values())
    after = model.state_dict()
    for key in before:
        if 'running' in key or 'num_batches' in key:
            if key.startswith('backbone.'):
                assert torch.equal(before[key], after[key]), key
            continue
        changed = not torch.equal(before[key], after[key])
        assert changed == key.startswith('head.fcs.'), key


def test_multi_layer_accuracy_against_a_hand_count():
    metric = METRICS.build(
        dict(type='MultiLayerAccuracy', layer_names=('a', 'b'), topk=(1, 2)))
    # layer a: right, last, second; layer b: all right
    a = torch.tensor([[.7, .2, .1], [.2, .1, .7], [.5, .4, .1]])
    b = torch.tensor([[.9, .05, .05], [.1, .8, .1], [.1, .8, .1]])
    labels = [0, 1, 1]
    samples = [
        dict(
            pred_score_a=a[i],
            pred_score_b=b[i],
            gt_label=torch.tensor([labels[i]])) for i in range(3)
    ]
    metric.process(None, samples)
    result = metric.evaluate(3)
    assert result['multi_layer/a_top1'] == pytest.approx(100 / 3)
    assert result['multi_layer/a_top2'] == pytest.approx(200 / 3)
    assert result['multi_layer/b_top1'] == pytest.approx(100.)
    metric = METRICS.build(
        dict(type='MultiLayerAccuracy', layer_names=('c', )))
    with pytest.raises(KeyError, match='pred_score_c'):
        metric.process(None, samples)


def test_multi_layer_head_names_a_resolution_mismatch():
    head = MODELS.build(
        dict(
            type='MultiLayerLinearClsHead',
            num_classes=4,
            in_channels=(8, ),
            feat_sizes=(14, ),
            kernel_sizes=(2, ),
            strides=(2, ),
            paddings=(0, ),
            layer_names=('conv5', )))
    assert head.fcs[0].in_features == 8 * 7 * 7
    with pytest.raises(ValueError, match='conv5 pools to 32 dims'):
        head((torch.randn(2, 8, 4, 4), ))
    with pytest.raises(ValueError, match='strides has 1 entries'):
        MODELS.build(
            dict(
                type='MultiLayerLinearClsHead',
                num_classes=4,
                in_channels=(8, 8),
                feat_sizes=(4, 4),
                kernel_sizes=(2, 2),
                strides=(2, ),
                paddings=(0, 0),
                layer_names=('a', 'b')))


def _coco_two_classes(coins, out):
    """The coins set relabelled into small and large coins (ids 1 and 7)
    plus one image without any annotation."""
    with open(coins['ann_file']) as f:
        coco = json.load(f)
    areas = sorted(a['area'] for a in coco['annotations'])
    median = areas[len(areas) // 2]
    for ann in coco['annotations']:
        ann['category_id'] = 7 if ann['area'] > median else 1
    coco['categories'] = [dict(id=7, name='large'), dict(id=1, name='small')]
    coco['images'].append(
        dict(
            id=999,
            file_name=coco['images'][0]['file_name'],
            height=coco['images'][0]['height'],
            width=coco['images'][0]['width']))
    with open(out, 'w') as f:
        json.dump(coco, f)
    return coco


def test_coco_multi_label_reads_categories_per_image(coins, tmp_path):
    from mmpretrain.registry import DATASETS
    ann = str(tmp_path / 'two.json')
    coco = _coco_two_classes(coins, ann)
    ds = DATASETS.build(
        dict(
            type='CocoMultiLabel',
            ann_file=ann,
            data_prefix=dict(img_path=coins['images'])))
    assert ds.CLASSES == ('small', 'large')
    assert len(ds) == len(coco['images'])
    for i, img in enumerate(coco['images']):
        cats = {
            a['category_id']
            for a in coco['annotations'] if a['image_id'] == img['id']
        }
        expected = sorted({1: 0, 7: 1}[c] for c in cats)
        info = ds.get_data_info(i)
        assert info['gt_label'] == expected
        assert info['img_path'] == osp.join(coins['images'], img['file_name'])
    assert ds.get_data_info(len(ds) - 1)['gt_label'] == []
    ds = DATASETS.build(
        dict(
            type='CocoMultiLabel',
            ann_file=ann,
            filter_empty=True,
            data_prefix=dict(img_path=coins['images'])))
    assert len(ds) == len(coco['images']) - 1
    coco['annotations'][0]['category_id'] = 5
    with open(ann, 'w') as f:
        json.dump(coco, f)
    with pytest.raises(ValueError, match='category_id 5'):
        DATASETS.build(dict(type='CocoMultiLabel', ann_file=ann))
    with pytest.raises(FileNotFoundError, match='nothing.json'):
        DATASETS.build(
            dict(
                type='CocoMultiLabel',
                ann_file=str(tmp_path / 'nothing.json')))


@pytest.fixture(scope='module')
def coins(tmp_path_factory):
    from mcl_mm.utils.coins_data import make_coins_dataset
    return make_coins_dataset(str(tmp_path_factory.mktemp('coins')))


def _short_run(cfg, work_dir, ckpt):
    cfg.model.backbone.init_cfg.checkpoint = ckpt
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].batch_size = 2
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
    cfg.param_scheduler = []
    cfg.work_dir = work_dir
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def _voc_layout(root, photos):
    """A VOC2007-style folder of real photographs: each image lists two
    objects, one of them 'difficult'."""
    classes = [('person', 'dog'), ('cat', 'car'), ('person', 'bird'),
               ('dog', 'cat')]
    for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    ids = []
    for i, (photo, (easy, hard)) in enumerate(zip(photos, classes)):
        img_id = f'{i:06d}'
        ids.append(img_id)
        Image.open(photo).convert('RGB').save(
            osp.join(root, 'JPEGImages', img_id + '.jpg'))
        objs = ''.join(
            f'<object><name>{n}</name><difficult>{d}</difficult></object>'
            for n, d in ((easy, 0), (hard, 1)))
        with open(osp.join(root, 'Annotations', img_id + '.xml'), 'w') as f:
            f.write(f'<annotation>{objs}</annotation>')
    for split in ('trainval', 'test'):
        with open(osp.join(root, 'ImageSets', 'Main', split + '.txt'),
                  'w') as f:
            f.write('\n'.join(ids) + '\n')


@pytest.mark.slow
def test_voc07_config_trains_and_reports_map(mcl_ckpt, photo_dir, tmp_path):
    photos = sorted(osp.join(photo_dir, p) for p in os.listdir(photo_dir))
    root = str(tmp_path / 'VOC2007')
    _voc_layout(root, photos[:4])
    cfg = Config.fromfile(VOC07)
    cfg.train_dataloader.dataset.data_root = root
    cfg.val_dataloader.dataset.data_root = root
    cfg.test_dataloader.dataset.data_root = root
    runner = _short_run(cfg, str(tmp_path / 'work'), mcl_ckpt[1])
    metrics = runner.val_loop.run()
    assert 0 <= metrics['multi-label/mAP'] <= 100
    backbone = runner.model.backbone.state_dict()
    for key, value in mcl_ckpt[0].backbone.state_dict().items():
        assert torch.equal(backbone[key], value), key


@pytest.mark.slow
def test_coco_config_trains_and_reports_map(mcl_ckpt, coins, tmp_path):
    ann = str(tmp_path / 'two.json')
    _coco_two_classes(coins, ann)
    cfg = Config.fromfile(COCO)
    cfg.model.head.num_classes = 2
    cfg.data_preprocessor.num_classes = 2
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = ''
        cfg[loader].dataset.ann_file = ann
        cfg[loader].dataset.data_prefix = dict(img_path=coins['images'])
    runner = _short_run(cfg, str(tmp_path / 'work'), mcl_ckpt[1])
    metrics = runner.val_loop.run()
    assert 0 <= metrics['multi-label/mAP'] <= 100


@pytest.mark.parametrize('name, indices', [
    ('resnet50_multilabel-finetune_8xb32-coslr-30e_coco-1pct.py', 828),
    ('resnet50_multilabel-finetune_8xb32-coslr-30e_coco-10pct.py', 8278),
    ('resnet50_multilabel-finetune_8xb32-coslr-30e_coco-100pct.py', None),
    ('resnet50_multilabel-finetune-asl_8xb32-coslr-30e_coco.py', None),
])
def test_semi_supervised_configs_train_the_backbone_on_a_label_subset(
        name, indices, coins, tmp_path):
    from mmpretrain.registry import DATASETS
    cfg = Config.fromfile(osp.join(CLS, name))
    assert cfg.train_dataloader.dataset.get('indices') == indices
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    model.train()
    assert all(p.requires_grad for p in model.backbone.parameters())
    assert model.backbone.norm1.training
    loss = cfg.model.head.loss.type
    assert loss == ('AsymmetricLoss' if 'asl' in name else 'CrossEntropyLoss')
    # `indices` keeps the first images of the annotation file
    ann = str(tmp_path / 'two.json')
    _coco_two_classes(coins, ann)
    full = DATASETS.build(dict(type='CocoMultiLabel', ann_file=ann))
    part = DATASETS.build(dict(type='CocoMultiLabel', ann_file=ann, indices=2))
    assert len(part) == 2 and part.get_data_info(1)['gt_label'] == \
        full.get_data_info(1)['gt_label']
