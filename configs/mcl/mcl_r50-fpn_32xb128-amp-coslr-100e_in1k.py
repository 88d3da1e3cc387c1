# The MCL authors' ImageNet-1k setting: R50-FPN, S=4, 100 epochs,
# 32 GPUs x 128 images, LARS lr 16.0, fp16, SyncBN.
_base_ = [
    '../_base_/datasets/imagenet_bs128_mcl.py',
    '../_base_/models/mcl_r50_fpn.py',
    '../_base_/schedules/lars_coslr_100e.py',
    '../_base_/default_runtime.py',
]

# the authors' MLP inits (see _base_/models/mcl_r50_fpn.py)
model = dict(
    tile_head=dict(
        projection=dict(init_cfg={{_base_.authors_projection_init}})),
    head=dict(predictor=dict(init_cfg={{_base_.authors_predictor_init}})))

# the default hooks plus the dense probe (see _base_/models/mcl_r50_fpn.py)
custom_hooks = [
    dict(type='MontageBatchCheckHook'),
    dict(type='NonFiniteLossHook'),
    dict(type='BadImageHook', max_bad_images=10),
    {{_base_.dense_probe}},
]
