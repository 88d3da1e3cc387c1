# MCL pre-training on COCO train2017 (118k images, labels unused). COCO has
# about a tenth of ImageNet's images, so the 400-epoch schedule gives a
# number of iterations close to 40 ImageNet epochs.
_base_ = [
    '../_base_/datasets/coco_bs128_mcl.py',
    '../_base_/models/mcl_r50_fpn.py',
    '../_base_/schedules/lars_coslr_100e.py',
    '../_base_/default_runtime.py',
]

# the cosine of _base_/schedules/lars_coslr_100e.py spans the whole run
train_cfg = dict(max_epochs=400)

# the authors' MLP inits (see _base_/models/mcl_r50_fpn.py)
model = dict(
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
