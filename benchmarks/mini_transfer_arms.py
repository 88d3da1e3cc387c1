# Copyright (c) mcl_mm contributors. All rights reserved.
"""The pre-trained arms of the mini transfer run, as one table.

Every arm is the base config :data:`BASE` (the ``mcl`` arm) with the
overrides of its row in :data:`ARMS`, merged by mmengine's
``Config.merge_from_dict``, the way ``--cfg-options`` merges: a dotted key
sets one value, a digit in it indexes a list, and a dict with
``_delete_=True`` replaces what it lands on. An arm's row names exactly
what it changes; everything else (data, batch, optimiser, schedule,
iterations, hooks) is the base's.

The arms:

- ``mcl``: S=3, every level blurred by the full-size sigma in its own
  pixels (the recipe of the first evidence runs).
- ``byol``, ``byol_flops``: mmpretrain's BYOL with the same backbone (R18)
  and the same two view pipelines at 96 px; ``byol_flops`` is trained
  ``Settings.flops_ratio`` times the iterations (set by the run).
- ``mcl_s1``: the one-level ablation (no montage).
- ``mcl_s3``, ``mcl_s2``: S=3 / S=2 with the authors' per-level blur.
- ``mcl_s3_authors``: ``mcl_s3`` in the authors' forward.
"""
import copy
import os.path as osp
from typing import Dict

from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CFG_DIR = osp.join(ROOT, 'configs', 'benchmarks', 'mini_transfer')
BASE = osp.join(CFG_DIR, 'mcl_r18-fpn_1xb16-96px-s3-400it_paste.py')
# the base's MontageAssembly (the second step of its training pipeline)
ASSEMBLY = 'train_dataloader.dataset.pipeline.1'

# a level-i copy is blurred by sigma / r_i of its own pixels, as the
# full-size copy blurred and then shrunk (the authors' order)
LEVEL_BLUR = {f'{ASSEMBLY}.blur_per_level': True}

MLP_NORM_CFG = dict(type='BN1d')
BYOL = {
    # mmpretrain's BYOL (the runner gives it the base's data preprocessor)
    'model':
    dict(
        _delete_=True,
        type='BYOL',
        base_momentum=0.01,
        backbone=dict(
            type='ResNet',
            depth=18,
            norm_cfg=dict(type='BN'),
            zero_init_residual=False),
        neck=dict(
            type='NonLinearNeck',
            in_channels=512,
            hid_channels=256,
            out_channels=64,
            num_layers=2,
            with_bias=True,
            with_last_bn=False,
            with_avg_pool=True,
            norm_cfg=MLP_NORM_CFG),
        head=dict(
            type='LatentPredictHead',
            predictor=dict(
                type='NonLinearNeck',
                in_channels=64,
                hid_channels=256,
                out_channels=64,
                num_layers=2,
                with_bias=True,
                with_last_bn=False,
                with_avg_pool=False,
                norm_cfg=MLP_NORM_CFG),
            loss=dict(type='CosineSimilarityLoss'))),
    # BYOL's two views: the assembly with one 96 px level is MultiView with
    # the base's view pipelines; a model without a montage states the
    # geometry itself (one level: the blur switch changes nothing)
    f'{ASSEMBLY}.geometry':
    dict(resolution=96, scales=(1, )),
    f'{ASSEMBLY}.blur_per_level':
    True,
    'custom_hooks': [
        dict(type='NonFiniteLossHook'),
        # SIGTERM / SIGUSR1: a checkpoint at the next iteration, exit code 75
        dict(type='PreemptionHook'),
        dict(type='BadImageHook', max_bad_images=10),
        # std / erank of the projections, as MCL logs per level
        dict(type='CollapseMetricsHook', module='neck'),
    ],
}

#: arm name -> the overrides it merges into :data:`BASE`
ARMS: Dict[str, dict] = dict(
    mcl={},
    byol=BYOL,
    byol_flops=BYOL,
    mcl_s1={'model.montage.scales': (1, )},
    mcl_s2={
        **LEVEL_BLUR, 'model.montage.scales': (1, 2)
    },
    mcl_s3=LEVEL_BLUR,
    mcl_s3_authors={
        **LEVEL_BLUR, 'model.forward_mode': 'authors'
    },
)


def arm_config(arm: str, base: str = BASE) -> Config:
    """The pre-training config of a named arm.

    Args:
        arm (str): A key of :data:`ARMS`.
        base (str): The config the overrides are merged into. Defaults to
            :data:`BASE`.

    Returns:
        Config: ``base`` with the arm's overrides merged.

    Raises:
        ValueError: If ``arm`` is not in :data:`ARMS`.
    """
    if arm not in ARMS:
        raise ValueError(f'unknown mini transfer arm {arm!r}; named arms: '
                         f'{sorted(ARMS)}')
    cfg = Config.fromfile(base)
    # merging pops `_delete_` from the overrides: merge a copy
    cfg.merge_from_dict(copy.deepcopy(ARMS[arm]))
    return cfg
