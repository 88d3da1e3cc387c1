"""What only shows with two processes: the per-rank label offset of MCL's
loss and MaskCo's shuffle BN across GPUs (gloo on the CPU)."""
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

pytestmark = pytest.mark.slow
BATCH = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _start(rank: int, world: int, port: int) -> None:
    dist.init_process_group(
        'gloo',
        init_method=f'tcp://127.0.0.1:{port}',
        rank=rank,
        world_size=world)
    from mmengine.registry import init_default_scope

    import mcl_mm  # noqa: F401
    init_default_scope('mmpretrain')


def _mcl_head_worker(rank: int, world: int, port: int) -> None:
    _start(rank, world, port)
    from mcl_mm.models import MCLHead
    torch.manual_seed(0)  # the same head on both ranks
    head = MCLHead(
        num_levels=1,
        predictor=dict(
            type='NonLinearNeck',
            in_channels=4,
            hid_channels=8,
            out_channels=4,
            with_avg_pool=False,
            norm_cfg=dict(type='BN1d')),
        loss=dict(type='TileContrastiveLoss', temperature=0.5))
    g = torch.Generator().manual_seed(100 + rank)  # different data per rank
    tiles = torch.randn(6, 4, generator=g)
    index = torch.tensor([0, 1, 2, 3, 1, 2])
    target = torch.randn(BATCH, 4, generator=g)
    losses = head.loss([tiles], [index], target)
    # independent reference: every rank's targets, own images at
    # rank * BATCH + index
    gathered = [torch.empty_like(target) for _ in range(world)]
    dist.all_gather(gathered, target)
    targets = F.normalize(torch.cat(gathered), dim=1)
    with torch.no_grad():
        pred = F.normalize(head.predictors[0]((tiles, ))[0], dim=1)
    logits = pred @ targets.t() / 0.5

    def reference(labels):
        return 2 * 0.5 * F.cross_entropy(logits, labels)

    ref = reference(index + rank * BATCH)
    torch.testing.assert_close(losses['loss_l0'].detach(), ref)
    if rank == 1:  # without the offset the loss would differ
        assert not torch.allclose(reference(index), ref)
    cos = (pred * targets[index + rank * BATCH]).sum(1).mean()
    torch.testing.assert_close(losses['pos_cos_l0'], cos)
    dist.destroy_process_group()


def _maskco_worker(rank: int, world: int, port: int) -> None:
    _start(rank, world, port)
    from mmengine.model import revert_sync_batchnorm

    from mmpretrain.registry import MODELS
    torch.manual_seed(0)
    model = revert_sync_batchnorm(
        MODELS.build(
            dict(
                type='MaskCo',
                backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
                mask_head=dict(
                    type='MaskPredictionHead',
                    in_channels=512,
                    feat_channels=32,
                    num_convs=1),
                neck=dict(
                    type='MoCoV2Neck',
                    in_channels=512,
                    hid_channels=32,
                    out_channels=8,
                    with_avg_pool=True),
                head=dict(
                    type='ContrastiveHead',
                    loss=dict(type='CrossEntropyLoss'),
                    temperature=0.2))))
    model.init_weights()
    backbone_k = model.encoder_k.module[0]
    g = torch.Generator().manual_seed(10 + rank)
    im_k = torch.randn(BATCH, 3, 64, 64, generator=g)
    torch.manual_seed(1)
    # eval mode: each image's features alone, so the shuffle must put every
    # image's map back in its own slot
    backbone_k.eval()
    torch.testing.assert_close(model.key_features(im_k), backbone_k(im_k)[-1])
    # train mode: BN statistics come from the shuffled batch, which holds
    # images of the other rank, so the maps differ from a local batch
    backbone_k.train()
    shuffled = model.key_features(im_k)
    local = backbone_k(im_k)[-1]
    assert shuffled.shape == local.shape
    assert not torch.allclose(shuffled, local, atol=1e-4)
    dist.destroy_process_group()


@pytest.mark.parametrize(
    'worker', [_mcl_head_worker, _maskco_worker],
    ids=['mcl_head_label_offset', 'maskco_shuffle'])
def test_two_processes(worker):
    mp.spawn(worker, args=(2, _free_port()), nprocs=2, join=True)
