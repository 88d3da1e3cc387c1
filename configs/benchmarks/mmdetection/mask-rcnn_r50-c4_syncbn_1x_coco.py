# Mask R-CNN R50-C4 with SyncBN (mmpretrain's self-supervised benchmark):
# convert with `--to mmdet-c4` (stage 4 -> roi_head.shared_head.layer4).
_base_ = 'mmpretrain::byol/benchmarks/mask-rcnn_r50-c4_ms-1x_coco.py'

model = dict(backbone=dict(init_cfg=None))
load_from = None  # the converted MCL checkpoint
# crash-safe checkpoints (mcl_mm's SafeCheckpointHook)
custom_imports = dict(
    imports=['mmpretrain.models.utils.res_layer_extra_norm', 'mcl_mm'],
    allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
