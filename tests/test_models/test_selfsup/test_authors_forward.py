"""MCL's ``forward_mode='authors'`` against an independent re-computation of
the authors' forward (``openselfsup/models/mcl.py`` ``forward_train`` and
``necks.py`` ``DetConvGpNonLinearHead.forward``), and against our own
forward: the two modes differ in batch statistics alone."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.model import revert_sync_batchnorm

from mcl_mm.engine import apply_device_augment
from mcl_mm.montage import apply_montage_geometry
from mmpretrain.registry import MODELS
from conftest import DEMO_CONFIG

RESOLUTION = 64  # S=3: P5 2x2, P4 4x4, P3 8x8 cells per montage
BATCH = 16


@pytest.fixture(autouse=True)
def _max_iters():
    """The target's cosine EMA reads the run length from the message hub."""
    MessageHub.get_current_instance().update_info('max_iters', 100)


def _model(forward_mode: str, seed: int = 0):
    cfg = apply_device_augment(
        apply_montage_geometry(Config.fromfile(DEMO_CONFIG)))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model_cfg.montage.resolution = RESOLUTION
    model_cfg.forward_mode = forward_mode
    torch.manual_seed(seed)
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    model.init_weights()
    return model


def _views(num_levels: int):
    torch.manual_seed(1)
    return [
        torch.randn(BATCH, 3, RESOLUTION >> (i % num_levels), RESOLUTION >>
                    (i % num_levels)) for i in range(2 * num_levels)
    ]


def _record_tiler(model):
    """Make the tiler keep what it returned (montages, tile index)."""
    calls = []
    tiler_forward = model.tiler.forward

    def recording(images):
        out = tiler_forward(images)
        calls.append(out)
        return out

    model.tiler.forward = recording
    return calls


def _replay_tiler(model, calls):
    """Make the tiler return the recorded montages, in order."""
    queue = list(calls)
    model.tiler.forward = lambda images: queue.pop(0)


def _authors_head(head, x, avg_size):
    """``DetConvGpNonLinearHead.forward`` on one pyramid output: cut it into
    ``avg_size`` cells, convs, average pool, MLP, (N, cells, D)."""
    n, c, h, w = x.shape
    n_h, n_w = h // avg_size, w // avg_size
    cells = x.reshape(n, c, n_h, avg_size, n_w, avg_size)
    cells = cells.permute(0, 2, 4, 1, 3, 5).reshape(-1, c, avg_size, avg_size)
    for conv in head.shared_convs:
        cells = conv(cells)
    pooled = F.adaptive_avg_pool2d(cells, 1)
    feat = head.projection((pooled, ))[0]
    return feat.reshape(n, n_h * n_w, -1)


def _authors_encoder(encoder, img):
    """``encoder_q(img)`` of the authors: backbone, full FPN, the head on
    every output (finest first)."""
    backbone, neck, head = encoder
    outs = neck(backbone(img))
    avg_size = outs[-1].size(-1)
    return [_authors_head(head, o, avg_size) for o in outs]


def _authors_loss(model, calls):
    """The authors' ``forward_train`` on the montages our tiler made (our
    level 0 is a permutation of the batch: its targets are put back in
    batch order, so the labels are our tile indices)."""
    scales = model.tiler.scales
    online, target = model.encoder, model.target_net.module
    outs_online, targets = [], []
    for montages, index in calls:
        img = torch.cat(montages)
        outs_online.append(_authors_encoder(online, img))
        with torch.no_grad():
            top = _authors_encoder(target, img)[-1][:BATCH]
            top = F.normalize(top.reshape(-1, top.size(-1)), dim=1)
            in_order = torch.empty_like(top)
            in_order[index[0]] = top
            targets.append(in_order)
    counts = [m.size(0) for m in calls[0][0]]
    ends = torch.tensor(counts).cumsum(0).tolist()
    weights = model.head.level_weights
    total = 0.
    for a, b in ((0, 1), (1, 0)):
        for i in range(len(scales)):
            start = 0 if i == 0 else ends[i - 1]
            q = outs_online[a][-(i + 1)][start:ends[i]]
            q = q.reshape(-1, q.size(-1))
            pred = F.normalize(model.head.predictors[i]((q, ))[0], dim=1)
            logits = pred @ targets[b].t()
            labels = calls[a][1][i]
            total = total + F.cross_entropy(logits, labels) * 2 * weights[i]
    return total


def _loss(model, views):
    losses = model.loss(views, None)
    return sum(v for k, v in losses.items() if k.startswith('loss'))


def test_authors_mode_equals_the_authors_forward_in_train_mode():
    model = _model('authors')
    calls = _record_tiler(model)
    ours = _loss(model, _views(3))
    # the target took its EMA step inside ``loss``; the re-computation
    # reads the same target weights
    reference = _authors_loss(model, calls)
    assert ours.item() == pytest.approx(reference.item(), rel=1e-5)
    # the reference differs from our own forward's loss on the same
    # montages: the check can tell the two batch statistics apart
    tiles_mode = _model('tiles')
    tiles_mode.load_state_dict(model.state_dict())
    _replay_tiler(tiles_mode, calls)
    other = _loss(tiles_mode, _views(3))
    assert abs(other.item() - reference.item()) > 1e-3


def test_modes_differ_by_batch_statistics_alone():
    """With the norm layers in eval mode (running statistics) both modes
    embed the same tiles identically: the same loss."""
    losses = {}
    calls = None
    for mode in ('tiles', 'authors'):
        model = _model(mode)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.eval()
        model.target_net.module.load_state_dict(
            torch.nn.Sequential(model.backbone, model.neck,
                                model.tile_head).state_dict())
        if calls is None:
            calls = _record_tiler(model)
        else:
            _replay_tiler(model, calls)
        losses[mode] = _loss(model, _views(3)).item()
    assert losses['authors'] == pytest.approx(losses['tiles'], rel=1e-5)


def test_authors_mode_refuses_a_geometry_it_cannot_reproduce():
    cfg = apply_montage_geometry(Config.fromfile(DEMO_CONFIG))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.forward_mode = 'authors'
    model_cfg.pyramid_outputs = (3, 2, 0)  # level 2 on P2: an ablation
    with pytest.raises(ValueError, match="forward_mode='authors' needs"), \
            pytest.warns(UserWarning, match='read by no level'):
        MODELS.build(model_cfg)
    model_cfg.pyramid_outputs = None
    model_cfg.forward_mode = 'author'
    with pytest.raises(ValueError, match="one of \\('tiles', 'authors'\\)"):
        MODELS.build(model_cfg)
