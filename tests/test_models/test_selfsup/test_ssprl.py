"""SS-PRL: pyramid view geometry, Sinkhorn codes, the cross-grid term and
a CPU loss step from the shipped config."""
import copy
import glob
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.model import revert_sync_batchnorm

from mmpretrain.registry import MODELS, TRANSFORMS
from conftest import ROOT

COCO = osp.join(ROOT, 'configs', 'ssprl',
                'ssprl_r50_4xb32-amp-lars-coslr-200e_coco.py')
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'ssprl', '*.py')))


def test_view_counts_and_sizes(photo_dir):
    transform = TRANSFORMS.build(dict(type='PyramidViews', transforms=[]))
    img = np.random.randint(0, 255, (300, 400, 3), np.uint8)
    views = transform(dict(img=img))['img']
    sizes = [v.shape[0] for v in views]
    assert sizes == [224] * 2 + [96] * 6 + [112] * 8 + [96] * 18
    assert transform.num_patches == (4, 9)
    with pytest.raises(ValueError, match='does not fit'):
        TRANSFORMS.build(
            dict(
                type='PyramidViews',
                transforms=[],
                local_sizes=(200, ),
                grids=(2, ),
                patch_sizes=(112, )))


@pytest.mark.parametrize('size, grid, patch', [(314, 2, 112), (383, 3, 96)])
def test_patch_k_of_both_views_comes_from_cell_k(size, grid, patch):
    # the image is exactly the local crop (area 1, same size): each cell is
    # painted with its own index, so a patch's colour names its cell
    cell = size // grid
    img = np.full((size, size, 3), 255, np.uint8)
    for k in range(grid * grid):
        r, c = divmod(k, grid)
        img[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = 10 * k
    transform = TRANSFORMS.build(
        dict(
            type='PyramidViews',
            transforms=[],
            num_global=0,
            num_small=0,
            local_area=(1.0, 1.0),
            local_sizes=(size, ),
            grids=(grid, ),
            patch_sizes=(patch, )))
    for _ in range(5):
        views = transform(dict(img=img))['img']
        assert len(views) == 2 * grid * grid
        for v in range(2):
            for k in range(grid * grid):
                p = views[v * grid * grid + k]
                assert p.shape == (patch, patch, 3)
                assert (p == 10 * k).all()
        # the two views' patches differ (own sub-crops) on a real texture
    noise = np.random.randint(0, 255, (size, size, 3), np.uint8)
    views = transform(dict(img=noise))['img']
    assert any(not np.array_equal(views[k], views[grid * grid + k])
               for k in range(grid * grid))


def test_sinkhorn_codes_are_a_doubly_normalised_assignment():
    head = MODELS.build(
        dict(
            type='SSPRLHead', num_prototypes=(8, 4, 4), sinkhorn_iterations=3))
    scores = F.normalize(torch.randn(64, 8), dim=1)
    q = head.sinkhorn(scores)
    assert (q >= 0).all()
    torch.testing.assert_close(q.sum(1), torch.ones(64))  # one per sample
    head.sinkhorn_iterations = 200
    q = head.sinkhorn(scores)
    torch.testing.assert_close(
        q.sum(0), torch.full((8, ), 64 / 8), rtol=1e-3,
        atol=1e-3)  # equal partition


@pytest.mark.parametrize('mode', ['scores', 'probs'])
def test_cross_term_with_identity_learner_matches_a_hand_computation(mode):
    k, m, b, t = 6, 4, 5, 0.1
    head = MODELS.build(
        dict(
            type='SSPRLHead',
            num_prototypes=(k, k, k),
            cross_mode=mode,
            temperature=t))
    with torch.no_grad():
        for g in head.prototype_correlation:
            g.weight.copy_(torch.eye(k))
    local = torch.randn(2, m, b, k)
    codes = torch.softmax(torch.randn(2, b, k), 1)
    got = head.cross_loss(local, codes, 1)
    terms = []
    for view in local:
        if mode == 'scores':
            pooled = F.normalize(view.mean(0), dim=1)
        else:
            pooled = torch.softmax(view / t, 2).mean(0)
        logp = torch.log_softmax(pooled / t, 1)
        for code in codes:
            terms.append(-(code * logp).sum(1).mean())
    torch.testing.assert_close(got, sum(terms) / 4)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_configs_build_with_their_optimiser(path):
    from mmengine.optim import build_optim_wrapper
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model)
    # bfloat16 where the device has it (here the CPU), else float16
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert type(wrapper).__name__ == 'MixedPrecisionOptimWrapper'
    assert wrapper.cast_dtype == torch.bfloat16
    assert type(wrapper.optimizer).__name__ == 'LARS'
    assert wrapper.optimizer.defaults['eta'] == 0.001


def test_loss_steps_from_the_shipped_config(photo_dir):
    cfg = Config.fromfile(COCO)
    transform = Compose(
        [TRANSFORMS.build(t) for t in copy.deepcopy(cfg.train_pipeline)])
    photos = sorted(glob.glob(osp.join(photo_dir, '*')))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.depth = 18
    for neck in model_cfg.necks:
        neck.in_channels = 512
    model_cfg.queue_start_epoch = 0
    # tiny queues: full after two batches of 2, used from the third
    model_cfg.head.update(global_queue=4, local_queue=36)
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    model.init_weights()
    model.watch_collapse = True  # as CollapseMetricsHook on a logged step
    optim = torch.optim.SGD(model.parameters(), lr=0.01)
    for step, pair in enumerate(((0, 1), (2, 3), (4, 5))):
        batch = [transform(dict(img_path=photos[i])) for i in pair]
        data = model.data_preprocessor(default_collate(batch), True)
        losses = model(data['inputs'], data['data_samples'], mode='loss')
        assert set(losses) == {
            'loss_global', 'loss_local1', 'loss_local2', 'loss_cross1',
            'loss_cross2', 'queue_on', 'std_g0', 'std_g1', 'std_g2',
            'erank_g0', 'erank_g1', 'erank_g2'
        }
        for s in range(3):  # collapse metrics per grid, in their ranges
            assert 0 < float(losses[f'std_g{s}']) < 1.5
            assert 1 <= float(losses[f'erank_g{s}']) <= 128
        loss = sum(v for n, v in losses.items() if n.startswith('loss'))
        assert torch.isfinite(loss)
        optim.zero_grad()
        loss.backward()
        for part in (model.backbone, model.necks, model.head.prototypes,
                     model.head.prototype_correlation):
            assert sum(p.grad.abs().sum() for p in part.parameters()
                       if p.grad is not None) > 0
        optim.step()
    # the queues filled with the last embeddings
    assert not torch.all(model.head.global_queue[0, -1] == 0)
    assert not torch.all(model.head.local_queue2[1, -1] == 0)
    for layer in model.head.prototypes:
        model.head.normalize_prototypes()
        torch.testing.assert_close(
            layer.weight.norm(dim=1), torch.ones(layer.out_features))
    with pytest.raises(ValueError, match='expected 34 view batches'):
        model.loss(data['inputs'][:10], None)


def test_queues_fill_in_order_then_join_the_codes():
    torch.manual_seed(0)
    head = MODELS.build(
        dict(
            type='SSPRLHead',
            feat_dim=4,
            num_prototypes=(6, 3, 3),
            num_crops=(2, 2),
            global_queue=5,
            local_queue=5))
    queue = head.global_queue[0]
    protos = head.prototypes[0]
    embs = [F.normalize(torch.randn(2, 4), dim=1) for _ in range(3)]

    def codes(emb):
        return head.codes(protos(emb), emb, queue, protos)

    # off: the queue stays empty and the codes are the batch's alone
    torch.testing.assert_close(codes(embs[0]), head.sinkhorn(protos(embs[0])))
    assert not queue.any()
    head.use_queue = True
    # on but not yet full (trimmed to 4 = 2 batches): codes of the batch
    # alone, the batch enters at the front, older entries move back
    torch.testing.assert_close(codes(embs[0]), head.sinkhorn(protos(embs[0])))
    codes(embs[1])
    torch.testing.assert_close(queue[:2], embs[1])
    torch.testing.assert_close(queue[2:4], embs[0])
    assert not queue[4].any()  # beyond the trimmed length: never used
    # full: the queued embeddings join the Sinkhorn problem
    joined = codes(embs[2])
    ref = head.sinkhorn(
        torch.cat([protos(torch.cat([embs[1], embs[0]])),
                   protos(embs[2])]))[-2:]
    torch.testing.assert_close(joined, ref)
    assert not torch.allclose(joined, head.sinkhorn(protos(embs[2])))
    torch.testing.assert_close(queue[:2], embs[2])
    # buffers: a checkpoint carries every queue
    state = head.state_dict()
    assert {'global_queue', 'local_queue1', 'local_queue2'} <= set(state)
    torch.testing.assert_close(state['global_queue'][0][:2], embs[2])
