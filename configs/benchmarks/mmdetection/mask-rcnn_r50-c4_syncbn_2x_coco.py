# Mask R-CNN R50-C4 with SyncBN, 2x schedule: the 1x config
# (mask-rcnn_r50-c4_syncbn_1x_coco.py) with 24 epochs, x0.1 at 16 and 22.
_base_ = 'mmpretrain::byol/benchmarks/mask-rcnn_r50-c4_ms-1x_coco.py'

model = dict(backbone=dict(init_cfg=None))
load_from = None  # the converted MCL checkpoint
# crash-safe checkpoints (mcl_mm's SafeCheckpointHook)
custom_imports = dict(
    imports=['mmpretrain.models.utils.res_layer_extra_norm', 'mcl_mm'],
    allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))

max_epochs = 24
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[16, 22],
        gamma=0.1)
]
