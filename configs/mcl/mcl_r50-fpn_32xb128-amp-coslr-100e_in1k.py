# The MCL authors' ImageNet-1k setting: R50-FPN, S=4, 100 epochs,
# 32 GPUs x 128 images, LARS lr 16.0, mixed precision, SyncBN.
_base_ = [
    '../_base_/datasets/imagenet_bs128_mcl.py',
    '../_base_/models/mcl_r50_fpn.py',
    '../_base_/schedules/lars_coslr_100e.py',
    '../_base_/default_runtime.py',
]

# the authors' MLP inits (see _base_/models/mcl_r50_fpn.py); channels-last
# parameters and batches: cudnn's convolutions and batch norms run without
# layout conversions (docs/en/performance.md)
model = dict(
    channels_last=True,
    tile_head=dict(
        projection=dict(init_cfg={{_base_.authors_projection_init}})),
    head=dict(predictor=dict(init_cfg={{_base_.authors_predictor_init}})))

# the default hooks plus the dense probe (see _base_/models/mcl_r50_fpn.py)
custom_hooks = [
    dict(type='MontageBatchCheckHook'),
    dict(type='NonFiniteLossHook'),
    # SIGTERM / SIGUSR1: a checkpoint at the next iteration, exit code 75
    dict(type='PreemptionHook'),
    # std / erank of the embeddings, on the iterations that log
    dict(type='CollapseMetricsHook'),
    # mixed precision's skipped steps and the grad norms, per log interval
    dict(type='SkippedStepsHook'),
    dict(type='BadImageHook', max_bad_images=10),
    {{_base_.dense_probe}},
]
