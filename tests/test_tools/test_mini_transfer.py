"""The copy-paste evidence set, the mini transfer's arms and the run's
bookkeeping."""
import copy
import json
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from benchmarks import mini_transfer
from benchmarks.mini_transfer_arms import ARMS, BASE, arm_config
from benchmarks.paste_data import compose, make_paste_dataset, split_sources
from mcl_mm.engine import apply_device_augment
from mcl_mm.montage import apply_montage_geometry
from mmpretrain.registry import MODELS, TRANSFORMS


def test_test_split_shares_no_coin_or_background_with_training():
    sources = split_sources()
    train, test = sources['train'], sources['test']
    assert len(test['coins']) >= 5 and len(test['backgrounds']) >= 3
    assert not set(train['backgrounds']) & set(test['backgrounds'])
    for patch, _ in test['coins']:
        assert not any(patch.shape == p.shape and np.array_equal(patch, p)
                       for p, _ in train['coins'])


def test_composite_masks_are_the_visible_pasted_pixels():
    sources = split_sources()['train']
    import cv2
    bgs = [cv2.imread(p) for p in sources['backgrounds'][:3]]
    rng = np.random.default_rng(0)
    img, masks = compose(rng, bgs, sources['coins'], 160)
    assert img.shape == (160, 160, 3) and masks
    total = np.zeros((160, 160), int)
    for m in masks:
        total += m
    assert total.max() == 1  # an occluded part belongs to the top coin only
    # the same background draw without coins: every pixel outside the
    # masks is the bare background, i.e. no pasted pixel is unannotated
    rng = np.random.default_rng(0)
    bare, none = compose(rng, bgs, sources['coins'], 160, num_objects=(0, 0))
    assert none == []
    outside = total == 0
    assert np.array_equal(img[outside], bare[outside])
    assert not np.array_equal(img[~outside], bare[~outside])


def test_paste_dataset_boxes_enclose_their_masks(tmp_path):
    from pycocotools import mask as mask_utils
    paths = make_paste_dataset(
        str(tmp_path), num_pretrain=3, num_train=3, num_test=3, size=128)
    assert len(list(open(paths['train_ann']))) == 1
    for split in ('train', 'test'):
        with open(paths[f'{split}_ann']) as f:
            coco = json.load(f)
        assert len(coco['images']) == 3 and coco['annotations']
        for ann in coco['annotations']:
            rle = mask_utils.frPyObjects(ann['segmentation'], 128, 128)
            m = mask_utils.decode(mask_utils.merge(rle))
            ys, xs = np.nonzero(m)
            x, y, w, h = ann['bbox']
            assert xs.min() >= x - 1 and xs.max() <= x + w
            assert ys.min() >= y - 1 and ys.max() <= y + h
            assert w >= 4 and h >= 4
    assert len(list((tmp_path / 'pretrain').iterdir())) == 3
    again = make_paste_dataset(str(tmp_path / 'again'), 3, 3, 3, 128)
    with open(again['test_ann']) as f, open(paths['test_ann']) as g:
        assert json.load(f)['annotations'] == json.load(g)['annotations']


def _flat(node, prefix=''):
    """Every leaf of a config dict by its dotted path (list items by their
    index), as ``--cfg-options`` names them."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, (list, tuple)):
        items = enumerate(node)
    else:
        return {prefix: node}
    flat = {}
    for key, value in items:
        flat.update(_flat(value, f'{prefix}.{key}' if prefix else str(key)))
    return flat


def _at(node, key):
    """The value at a dotted path."""
    for part in key.split('.'):
        node = node[int(part)] if isinstance(node, (list, tuple)) else \
            node[part]
    return node


def test_the_arms_are_named_as_the_runs_name_them():
    assert sorted(ARMS) == [
        'byol', 'byol_flops', 'mcl', 'mcl_s1', 'mcl_s2', 'mcl_s3',
        'mcl_s3_authors'
    ]
    assert ARMS['mcl'] == {} and ARMS['byol_flops'] == ARMS['byol']
    with pytest.raises(ValueError, match="unknown mini transfer arm 'x'"):
        arm_config('x')


@pytest.mark.parametrize('arm', sorted(ARMS))
def test_an_arm_differs_from_the_base_in_its_overrides_only(arm):
    base = _flat(Config.fromfile(BASE).to_dict())
    cfg = arm_config(arm).to_dict()
    flat = _flat(cfg)
    changed = {
        k
        for k in base.keys() | flat.keys()
        if base.get(k, KeyError) != flat.get(k, KeyError)
    }
    keys = list(ARMS[arm])
    stray = [
        k for k in changed
        if not any(k == o or k.startswith(o + '.') for o in keys)
    ]
    assert not stray, f'{arm} changes {sorted(stray)} beyond its overrides'
    for key, value in ARMS[arm].items():
        # every override changes the base, and lands as it is written
        assert any(k == key or k.startswith(key + '.') for k in changed), key
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != '_delete_'}
        assert _at(cfg, key) == value, key
    # merging leaves the table as it is: a second build is the same
    assert arm_config(arm).to_dict() == cfg


@pytest.mark.parametrize('arm', sorted(set(ARMS) - {'byol_flops'}))
def test_every_arm_builds_through_the_runner_config(arm):
    """The arm as MontageRunner runs it: its assembly crops each level at
    the tile size its montage gives (96 / r_i), and its model builds."""
    cfg = apply_device_augment(apply_montage_geometry(arm_config(arm)))
    montage = cfg.model.get('montage')
    scales = montage.scales if montage else (1, )
    assembly = TRANSFORMS.build(
        copy.deepcopy(cfg.train_dataloader.dataset.pipeline[1]))
    img = np.random.default_rng(0).integers(0, 255, (120, 160, 3), np.uint8)
    views = assembly.transform(dict(img=img, img_shape=img.shape[:2]))['img']
    sizes = [96 // r for r in scales]
    assert [v.shape[:2] for v in views] == [(s, s) for s in sizes * 2]
    init_default_scope('mmpretrain')
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    assert type(model).__name__ == ('BYOL' if 'byol' in arm else 'MCL')
    if montage:
        assert model.tiler.scales == tuple(scales)
        assert model.forward_mode == ('authors'
                                      if arm == 'mcl_s3_authors' else 'tiles')
        # the per-level blur switch reaches the device augments
        assert model.data_preprocessor.blur_per_level == (
            arm in ('mcl_s2', 'mcl_s3', 'mcl_s3_authors'))


def _scalars(tmp_path, rows, name='run'):
    vis = tmp_path / name / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in rows))
    return str(tmp_path / name)


def _val(epoch, bbox=None):
    row = dict(data_time=0.1, time=0.2, step=epoch)
    if bbox is not None:
        row.update({'coco/bbox_mAP': bbox, 'coco/segm_mAP': bbox / 2})
    return row


def _train(it):
    return dict(lr=0.01, loss=1.0, data_time=0.1, time=0.3, iter=it, step=it)


def test_curve_reading_counts_silent_epochs_as_zero(tmp_path):
    # epoch 2 was evaluated but the model detected nothing: no AP logged
    run = _scalars(tmp_path, [_train(2), _val(2), _train(4), _val(4, 0.25)])
    curve = [{
        k: p[k]
        for k in ('epoch', 'bbox', 'segm')
    } for p in mini_transfer.read_curve(run, 4)]
    assert curve == [
        dict(epoch=2, bbox=0.0, segm=0.0),
        dict(epoch=4, bbox=25.0, segm=12.5)
    ]


@pytest.mark.parametrize('epochs, evaluated', [(1, [1]), (2, [2]), (3, [2, 3]),
                                               (11, [2, 4, 6, 8, 10, 11])])
def test_curve_is_the_evaluated_epochs_and_ends_at_the_last(
        tmp_path, epochs, evaluated):
    """Issue 19: with val_interval=2, 1 epoch used to give an empty curve
    and 11 epochs a curve ending at epoch 10."""
    rows = []
    for e in range(1, epochs + 1):
        rows.append(_train(e * 8))  # training rows' step is the iteration
        if e in evaluated:
            rows.append(_val(e, e / 100))
    curve = mini_transfer.read_curve(_scalars(tmp_path, rows), epochs)
    assert [p['epoch'] for p in curve] == evaluated
    assert curve[-1]['bbox'] == pytest.approx(epochs)  # the last epoch's AP
    table = mini_transfer.summarise(dict(mcl={0: curve}))
    assert table['mcl']['bbox']['values'] == [pytest.approx(epochs)]


def test_a_missing_final_evaluation_names_the_run(tmp_path):
    run = _scalars(tmp_path, [_train(8), _val(2, 0.1), _train(16)])
    with pytest.raises(
            ValueError, match=r'no evaluation of the last epoch '
            r'\(3\).*run'):
        mini_transfer.read_curve(run, 3)
    with pytest.raises(FileNotFoundError, match='no scalars.json'):
        mini_transfer.read_curve(str(tmp_path / 'none'), 3)


def test_schedules_reproduce_the_shipped_configs():
    """The stage schedules replace whole lists (nothing is edited by list
    position); at the configs' own lengths they are the configs'."""
    pre = arm_config('mcl')
    assert mini_transfer.pretrain_schedule(
        pre.train_cfg.max_iters) == pre.param_scheduler
    ft = Config.fromfile(mini_transfer.FINETUNE)
    assert mini_transfer.finetune_schedule(
        ft.train_cfg.max_epochs) == ft.param_scheduler
    # short runs: the warm-up takes at most half, every scheduler spans at
    # least one iteration (mmengine refuses end <= begin)
    short = mini_transfer.pretrain_schedule(5)
    assert [(s['begin'], s['end']) for s in short] == [(0, 2), (2, 5)]
    assert [(s['type'], s['begin'], s['end'])
            for s in mini_transfer.pretrain_schedule(1)
            ] == [('CosineAnnealingLR', 0, 1)]
    assert mini_transfer.finetune_schedule(1)[1]['milestones'] == [1, 1]


def test_stage_configs_follow_the_settings(tmp_path):
    settings = mini_transfer.Settings(
        data_dir=str(tmp_path),
        pretrain_iters=30,
        pretrain_batch=8,
        finetune_epochs=3)
    cfg = mini_transfer.pretrain_config('mcl', 5, settings)
    assert cfg.train_cfg.max_iters == 30 and cfg.randomness.seed == 5
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.param_scheduler[-1]['end'] == 30
    assert cfg.train_dataloader.dataset.data_root == str(tmp_path / 'pretrain')
    ft = mini_transfer.finetune_config(5, 'x.pth', settings)
    assert ft.train_cfg.max_epochs == 3 and ft.load_from == 'x.pth'
    assert ft.train_cfg.val_begin == 1
    settings.val_begin = 2
    assert mini_transfer.finetune_config(5, None,
                                         settings).train_cfg.val_begin == 2
    assert ft.val_evaluator.ann_file == str(tmp_path) + \
        '/annotations/test.json'


def test_summary_and_ranking_against_hand_numbers():

    def curve(b):
        return [
            dict(epoch=2, bbox=0.0, segm=0.0),
            dict(epoch=4, bbox=b, segm=b / 2)
        ]

    curves = dict(
        mcl={
            0: curve(30.),
            1: curve(34.)
        },
        byol={
            0: curve(20.),
            1: curve(22.)
        },
        random={
            0: curve(5.),
            1: curve(7.)
        })
    table = mini_transfer.summarise(curves)
    assert table['mcl']['bbox']['mean'] == pytest.approx(32.)
    assert table['mcl']['bbox']['std'] == pytest.approx(2**0.5 * 2)
    assert table['byol']['segm']['mean'] == pytest.approx(10.5)
    assert 'held' in mini_transfer.markdown(table, [0, 1]).splitlines()[-1]
    curves['random'] = {0: curve(40.), 1: curve(40.)}
    text = mini_transfer.markdown(mini_transfer.summarise(curves), [0, 1])
    assert text.endswith('did not hold.')


def test_byol_pretraining_shares_everything_but_the_model_with_mcl():
    cfg = apply_montage_geometry(arm_config('mcl'))
    other = apply_montage_geometry(arm_config('byol'))
    assert other.model.type == 'BYOL' and cfg.model.type == 'MCL'
    for key in ('optim_wrapper', 'param_scheduler', 'train_cfg', 'randomness'):
        assert other[key] == cfg[key], key
    loader, ref = other.train_dataloader, cfg.train_dataloader
    assert loader.batch_size == ref.batch_size
    assert loader.dataset.data_root == ref.dataset.data_root
    views = other.train_dataloader.dataset.pipeline[1]
    assert views.transforms == ref.dataset.pipeline[1].transforms
    # one level of MCL's full-size tiles: BYOL's views are MCL's level 0
    assert views.geometry == dict(resolution=96, scales=(1, ))
    assert ref.dataset.pipeline[1].geometry['resolution'] == 96


def test_finished_stages_are_reused_not_rerun(tmp_path, monkeypatch):

    def refuse(cmd, log):
        raise AssertionError(f'ran {cmd}')

    monkeypatch.setattr(mini_transfer, 'run', refuse)
    args = mini_transfer.Settings(pretrain_iters=7, finetune_epochs=3)
    (tmp_path / 'pre').mkdir()
    (tmp_path / 'pre' / 'iter_7.pth').write_bytes(b'')
    assert mini_transfer.pretrain('mcl', 0, args, str(tmp_path / 'pre')) \
        == str(tmp_path / 'pre' / 'iter_7.pth')
    (tmp_path / 'ft').mkdir()
    (tmp_path / 'ft' / 'epoch_3.pth').write_bytes(b'')
    mini_transfer.finetune('mcl', 0, None, args, str(tmp_path / 'ft'))
    with pytest.raises(AssertionError, match='ran'):
        mini_transfer.finetune(
            'mcl', 0, None,
            mini_transfer.Settings(finetune_epochs=4, data_dir=str(tmp_path)),
            str(tmp_path / 'ft'))


def test_equal_flops_gives_byol_more_iterations_and_same_rest(tmp_path):
    settings = mini_transfer.Settings(
        data_dir=str(tmp_path), pretrain_iters=30, flops_ratio=1.332)
    assert mini_transfer.methods(settings) == ['mcl', 'byol', 'byol_flops']
    cfg = mini_transfer.pretrain_config('byol_flops', 3, settings)
    assert cfg.model.type == 'BYOL' and cfg.train_cfg.max_iters == 40
    assert cfg.param_scheduler[-1]['end'] == 40
    equal = mini_transfer.pretrain_config('byol', 3, settings)
    assert equal.train_cfg.max_iters == 30
    assert equal.optim_wrapper == cfg.optim_wrapper
    assert mini_transfer.methods(mini_transfer.Settings()) == ['mcl', 'byol']


def test_curve_carries_ap75_and_small_object_ap(tmp_path):
    row = _val(1, 0.3)
    row.update({'coco/bbox_mAP_75': 0.25, 'coco/bbox_mAP_s': 0.125})
    curve = mini_transfer.read_curve(_scalars(tmp_path, [_train(8), row]), 1)
    assert curve == [
        dict(epoch=1, bbox=30.0, segm=15.0, bbox_AP75=25.0, bbox_AP_s=12.5)
    ]


def test_the_one_level_ablation_differs_from_mcl_in_the_scales_only(tmp_path):
    settings = mini_transfer.Settings(
        data_dir=str(tmp_path), pretrain_iters=30, ablations=['mcl_s1'])
    assert mini_transfer.methods(settings) == ['mcl', 'byol', 'mcl_s1']
    s1 = mini_transfer.pretrain_config('mcl_s1', 2, settings)
    s3 = mini_transfer.pretrain_config('mcl', 2, settings)
    assert s1.model.montage.scales == (1, ) and s3.model.montage.scales == (1,
                                                                            2,
                                                                            4)
    s1.model.montage.scales = s3.model.montage.scales
    assert s1.to_dict() == s3.to_dict()
    # the one-level pipeline follows the model: one level per view
    assembly = apply_montage_geometry(s1).train_dataloader.dataset.pipeline[1]
    assert assembly.geometry['scales'] == (1, 2, 4)  # set back to S=3 above
    one = apply_montage_geometry(
        mini_transfer.pretrain_config('mcl_s1', 2, settings))
    assert one.train_dataloader.dataset.pipeline[1].geometry['scales'] == (1, )
    with pytest.raises(ValueError, match=r"unknown ablations \['mcl_s9'\]"):
        mini_transfer.methods(
            mini_transfer.Settings(ablations=['mcl_s9', 'mcl_s1']))
    with pytest.raises(ValueError, match='byol_flops'):
        mini_transfer.methods(mini_transfer.Settings(ablations=['byol_flops']))


def test_collect_only_reads_finished_stages_and_runs_nothing(
        tmp_path, monkeypatch):

    def refuse(*args, **kwargs):
        raise AssertionError('a stage ran')

    for name in ('run', 'pretrain', 'convert', 'finetune'):
        monkeypatch.setattr(mini_transfer, name, refuse)
    settings = mini_transfer.Settings(
        seeds=[0, 1], finetune_epochs=2, probe=True, ablations=['mcl_s1'])
    ap = dict(mcl=(30, 40), byol=(20, 25), mcl_s1=(10, 50), random=(5, 6))
    for init, values in ap.items():
        for seed, value in enumerate(values):
            _scalars(
                tmp_path, [_train(8), _val(2, value / 100)],
                name=f'finetune_{init}_seed{seed}')
    for method in ('mcl', 'byol', 'mcl_s1'):
        for seed in (0, 1):
            wd = tmp_path / f'pretrain_{method}_seed{seed}'
            wd.mkdir()
            (wd / 'probe.json').write_text(
                json.dumps(dict(miou_c5=0.5 + seed / 10)))
    out = mini_transfer.run_all(settings, str(tmp_path), collect_only=True)
    assert out['per_seed']['bbox_AP'] == {
        k: [float(v) for v in vs]
        for k, vs in ap.items()
    }
    assert out['per_seed']['dense_probe_miou_c5']['mcl_s1'] == [0.5, 0.6]
    # a stage without its result is named
    (tmp_path / 'pretrain_mcl_s1_seed1' / 'probe.json').unlink()
    with pytest.raises(FileNotFoundError, match='pretrain_mcl_s1_seed1'):
        mini_transfer.run_all(settings, str(tmp_path), collect_only=True)


def test_exported_results_summarise_like_the_work_dir(tmp_path):
    work, out = tmp_path / 'work', tmp_path / 'out'
    for init, ap in (('mcl', 30), ('byol', 20), ('random', 5)):
        _scalars(
            work, [_train(8), _val(2, ap / 100)],
            name=f'finetune_{init}_seed0')
        (work / f'finetune_{init}_seed0' / 'epoch_2.pth').write_bytes(b'w')
    for method in ('mcl', 'byol'):
        wd = work / f'pretrain_{method}_seed0'
        (wd / '20260101_000000' / 'vis_data').mkdir(parents=True)
        (wd / '20260101_000000' / 'vis_data' / 'scalars.json').write_text(
            json.dumps(_train(1)))
        (wd / 'probe.json').write_text(json.dumps(dict(miou_c5=0.5)))
        (wd / 'iter_400.pth').write_bytes(b'weights')
    # seed 1 is still running: its fine-tune has no final checkpoint yet
    _scalars(work, [_train(8)], name='finetune_mcl_seed1')
    settings = mini_transfer.Settings(
        seeds=[0, 1], finetune_epochs=2, probe=True)
    copied = mini_transfer.export_results(settings, str(work), str(out))
    assert len(copied) == 7 and not list(out.rglob('*.pth'))
    assert not (out / 'finetune_mcl_seed1').exists()
    settings.seeds = [0]
    assert mini_transfer.run_all(settings, str(out), collect_only=True) == \
        mini_transfer.run_all(settings, str(work), collect_only=True)


def test_last_change_is_the_step_into_the_last_epoch():
    curves = {
        0: [dict(epoch=18, bbox=20.1),
            dict(epoch=20, bbox=19.4)],
        3: [dict(epoch=20, bbox=5.0)]
    }
    change = mini_transfer.last_change(curves)
    assert change[0] == pytest.approx(-0.7) and change[3] is None


@pytest.mark.slow
def test_one_seed_gives_every_init_the_same_data_order_and_new_layers(
        tmp_path):
    """The paired design: within a seed the fine-tunes differ only in the
    loaded weights; their data order and the initial weights of the layers
    nothing loads (RPN, RoI heads) are the same. Another seed changes both
    (so the check can fail)."""
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    make_paste_dataset(str(tmp_path / 'data'), 2, 8, 4, 128)
    settings = mini_transfer.Settings(
        data_dir=str(tmp_path / 'data'), finetune_epochs=1)

    def start(seed, load_from):
        cfg = mini_transfer.finetune_config(seed, load_from, settings)
        cfg.work_dir = str(tmp_path / f'{seed}_{load_from}')
        init_default_scope('mmdet')
        runner = Runner.from_cfg(cfg)
        runner._init_model_weights()  # what train() does before loading
        order = [
            s.img_id for batch in runner.train_dataloader
            for s in batch['data_samples']
        ]
        heads = {
            k: v.clone()
            for k, v in runner.model.state_dict().items()
            if k.startswith(('rpn_head.', 'roi_head.'))
        }
        return order, heads

    cfg_a = mini_transfer.finetune_config(3, 'a.pth', settings).to_dict()
    cfg_b = mini_transfer.finetune_config(3, None, settings).to_dict()
    assert {k for k in cfg_a if cfg_a[k] != cfg_b[k]} == {'load_from'}
    order, heads = start(3, 'mcl.pth')
    same_order, same_heads = start(3, None)
    assert sorted(order) == list(range(1, 9)) and order == same_order
    assert heads.keys() == same_heads.keys() and len(heads) > 10
    for k in heads:
        assert torch.equal(heads[k], same_heads[k]), k
    other_order, other_heads = start(4, None)
    assert other_order != order
    assert not torch.equal(heads['rpn_head.rpn_conv.weight'],
                           other_heads['rpn_head.rpn_conv.weight'])


def test_fidelity_arms_differ_from_mcl_in_their_switch_only(tmp_path):
    """``mcl_s3`` = ``mcl`` with the authors' per-level blur; ``mcl_s2`` and
    ``mcl_s3_authors`` = ``mcl_s3`` with two levels / the authors'
    forward."""
    settings = mini_transfer.Settings(
        data_dir=str(tmp_path),
        pretrain_iters=30,
        arms=['mcl_s3', 'mcl_s2', 'mcl_s3_authors', 'random'])
    assert mini_transfer.methods(settings) == [
        'mcl_s3', 'mcl_s2', 'mcl_s3_authors'
    ]
    assert mini_transfer.initialisations(settings)[-1] == 'random'

    def dumped(name):
        cfg = apply_montage_geometry(
            mini_transfer.pretrain_config(name, 2, settings))
        return cfg.to_dict()

    mcl, s3 = dumped('mcl'), dumped('mcl_s3')
    assembly = s3['train_dataloader']['dataset']['pipeline'][1]
    assert assembly['blur_per_level'] is True
    assert mcl['train_dataloader']['dataset']['pipeline'][1][
        'blur_per_level'] is False
    assembly['blur_per_level'] = False
    assert s3 == mcl
    s2 = dumped('mcl_s2')
    assert s2['model']['montage']['scales'] == (1, 2)
    assert s2['train_dataloader']['dataset']['pipeline'][1]['geometry'][
        'scales'] == (1, 2)
    authors = dumped('mcl_s3_authors')
    assert authors['model'].pop('forward_mode') == 'authors'
    s3 = dumped('mcl_s3')
    assert authors == s3
    with pytest.raises(ValueError, match=r"arms \['mcl_s9'\] have no config"):
        mini_transfer.methods(mini_transfer.Settings(arms=['mcl_s9']))
    # any other arm: its config file from the command line
    other = mini_transfer.Settings(arms=['mine'], configs=dict(mine=BASE))
    assert mini_transfer.initialisations(other) == ['mine']
    assert mini_transfer.pretrain_config('mine', 0, other).model.type == 'MCL'


def test_collapse_metrics_of_the_last_logged_step(tmp_path):
    rows = [
        dict(_train(1), std_l0=0.1, erank_l0=5.),
        dict(_train(2), std_l0=0.2, erank_l0=6., std_l1=0.3)
    ]
    run = tmp_path / 'pretrain_mcl_s3_seed0'
    _scalars(tmp_path, rows, name='pretrain_mcl_s3_seed0')
    assert mini_transfer.last_collapse_metrics(str(run)) == dict(
        std_l0=0.2, erank_l0=6., std_l1=0.3)
    assert mini_transfer.last_collapse_metrics(str(tmp_path / 'none')) == {}


def test_a_killed_stage_resumes_from_its_newest_checkpoint(
        tmp_path, monkeypatch):
    """A stage dir with ``last_checkpoint`` (a run killed after saving)
    resumes (``resume=True``, no ``load_from``: ``SafeCheckpointHook``
    picks the newest readable checkpoint); an empty one starts afresh
    from the pre-trained weights."""
    dumped = {}

    def record(cmd, log):
        dumped[os.path.basename(os.path.dirname(log))] = Config.fromfile(
            os.path.join(os.path.dirname(log), 'config.py'))
        return 0.

    monkeypatch.setattr(mini_transfer, 'run', record)
    settings = mini_transfer.Settings(
        data_dir=str(tmp_path), pretrain_iters=120, finetune_epochs=3)
    for name in ('fresh', 'killed'):
        for stage in ('pre', 'ft'):
            (tmp_path / name / stage).mkdir(parents=True)
    for stage in ('pre', 'ft'):
        (tmp_path / 'killed' / stage / 'last_checkpoint').write_text('x')
    for name in ('fresh', 'killed'):
        mini_transfer.pretrain('mcl', 0, settings,
                               str(tmp_path / name / 'pre'))
        pre = dumped.pop('pre')
        mini_transfer.finetune('mcl', 0, 'mcl.pth', settings,
                               str(tmp_path / name / 'ft'))
        ft = dumped.pop('ft')
        assert pre.default_hooks.checkpoint.interval == \
            mini_transfer.PRETRAIN_CHECKPOINT_EVERY == 50
        assert ft.default_hooks.checkpoint.interval == 1
        resumed = name == 'killed'
        assert pre.get('resume', False) is resumed
        assert ft.get('resume', False) is resumed
        assert ft.load_from == (None if resumed else 'mcl.pth')
        assert pre.load_from is None
    short = mini_transfer.Settings(data_dir=str(tmp_path), pretrain_iters=30)
    assert mini_transfer.pretrain_config(
        'mcl', 0, short).default_hooks.checkpoint.interval == 30


def _run_scalars(work_dir, stamp, rows):
    vis = work_dir / stamp / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in rows))


def test_a_resumed_stage_reads_as_one_run(tmp_path):
    """A resumed run logs the steps after its checkpoint in a new folder:
    the curve and the collapse metrics join the runs, the newer row of a
    step winning (a run restarted from scratch logs every step again)."""
    ft = tmp_path / 'finetune'
    _run_scalars(ft, '20260101_000000', [_train(8), _val(1, 0.1)])
    _run_scalars(ft, '20260101_010000', [_train(16), _val(2, 0.2)])
    assert [(p['epoch'], p['bbox'])
            for p in mini_transfer.read_curve(str(ft), 2)] == [(1, 10.0),
                                                               (2, 20.0)]
    _run_scalars(
        ft, '20260101_020000',
        [_train(8), _val(1, 0.3),
         _train(16), _val(2, 0.4)])
    assert [(p['epoch'], p['bbox'])
            for p in mini_transfer.read_curve(str(ft), 2)] == [(1, 30.0),
                                                               (2, 40.0)]
    pre = tmp_path / 'pretrain'
    _run_scalars(pre, '20260101_000000', [
        dict(_train(50), std_l0=0.5),
        dict(_train(100), std_l0=0.4, erank_l0=9.)
    ])
    _run_scalars(pre, '20260101_010000', [dict(_train(150), std_l0=0.3)])
    assert mini_transfer.last_collapse_metrics(str(pre)) == dict(std_l0=0.3)


@pytest.mark.slow
def test_a_fine_tune_cut_after_an_epoch_goes_on_from_it(tmp_path):
    """The real stage: mmdet's ``train.py`` (through ``mim``) resumes from
    the checkpoint of epoch 1 and trains epoch 2 only."""
    make_paste_dataset(str(tmp_path / 'data'), 2, 8, 4, 128)
    work_dir = tmp_path / 'ft'
    for epochs in (1, 2):
        settings = mini_transfer.Settings(
            data_dir=str(tmp_path / 'data'), finetune_epochs=epochs)
        mini_transfer.finetune('random', 0, None, settings, str(work_dir))
    runs = sorted(work_dir.glob('*/vis_data/scalars.json'))
    assert len(runs) == 2
    rows = [json.loads(line) for line in runs[1].read_text().splitlines()]
    assert {r['epoch'] for r in rows if 'lr' in r} == {2}
    assert 'resumed epoch: 1' in (work_dir / 'run.log').read_text()
    assert [p['epoch']
            for p in mini_transfer.read_curve(str(work_dir), 2)] == [1, 2]
