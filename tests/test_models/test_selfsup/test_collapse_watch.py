"""The collapse metrics off the training step: the effective rank from the
smaller Gram matrix equals the SVD's, nothing is read to the host, and a
run computes them on the iterations that log and on no other."""
import glob
import json
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import RUNNERS

import mcl_mm.models.selfsup.mcl as mcl_module
from benchmarks import op_counts
from mcl_mm.models import collapse_metrics
from conftest import DEMO_CONFIG


def svd_erank(z: torch.Tensor) -> float:
    """The effective rank as the SVD of the centred N x D matrix gives it
    (the definition, in float64)."""
    z = F.normalize(z.double(), dim=1)
    s = torch.linalg.svdvals(z - z.mean(0))
    p = s / s.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


@pytest.mark.parametrize('shape, rank', [((512, 64), 64), ((48, 256), 48),
                                         ((4096, 256), 256), ((600, 32), 3),
                                         ((2, 16), 2)])
def test_effective_rank_from_the_smaller_gram_matches_the_svd(shape, rank):
    g = torch.Generator().manual_seed(sum(shape))
    n, d = shape
    z = torch.randn(n, rank, generator=g) @ torch.randn(rank, d, generator=g)
    z = z + 3 * torch.randn(d, generator=g)  # off-centre, as real ones are
    ours = float(collapse_metrics(z)['erank'])
    assert ours == pytest.approx(svd_erank(z), rel=1e-4)
    assert ours <= min(rank + 1, n) + 1e-3  # the offset: one direction


def test_the_metrics_read_nothing_to_the_host():
    z = torch.randn(64, 32)
    counts = op_counts(lambda: collapse_metrics(z))
    assert counts['syncs'] == 0 and counts['decompositions'] == 1
    # a diverged step: NaN, no error and still no read
    broken = torch.randn(64, 32)
    broken[3, 5] = float('inf')
    counts = op_counts(lambda: collapse_metrics(broken))
    assert counts['syncs'] == 0
    m = collapse_metrics(broken)
    assert torch.isnan(m['std']) and torch.isnan(m['erank'])


@pytest.mark.slow
def test_a_run_computes_them_on_the_iterations_that_log(
        tmp_path, photo_dir, monkeypatch):
    """The demo config through its runner, 5 iterations, a log line every
    2: the metrics are computed in iterations 2 and 4 only, and those log
    lines carry them."""
    iterations = []

    def counting(z):
        iterations.append(runner.iter + 1)
        return collapse_metrics(z)

    monkeypatch.setattr(mcl_module, 'collapse_metrics', counting)
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': photo_dir,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_cfg.max_iters': 5,
        'default_hooks.logger.interval': 2,
        'default_hooks.checkpoint.interval': 100,
    })
    cfg.custom_hooks = [
        h for h in cfg.custom_hooks if h.type != 'DenseProbeHook'
    ]
    cfg.work_dir = str(tmp_path)
    runner = RUNNERS.build(cfg)
    runner.train()
    levels = len(cfg.model.montage.scales)
    assert iterations == [2] * levels + [4] * levels
    rows = [
        json.loads(line) for line in open(
            glob.glob(
                osp.join(str(tmp_path), '*', 'vis_data', 'scalars.json'))[0])
    ]
    assert [r['step'] for r in rows] == [2, 4]
    for row in rows:
        assert all(f'erank_l{i}' in row for i in range(levels))
    assert not runner.model.watch_collapse
