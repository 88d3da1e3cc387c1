# Mask R-CNN Swin-T FPN-CONV from an MCL Swin-T checkpoint
# (configs/mcl/mcl_swin-t-fpn_32xb128-amp-adamw-coslr-100e_in1k.py): mmdet's
# Swin-T recipe (AdamW, 1x) with SyncBN in FPN and heads and the 4-conv +
# 1-fc box head, so `convert_mcl.py --to mmdet` carries backbone, FPN and
# the 4 tile-head convs:
#   --cfg-options load_from=work_dirs/mcl_swin_mmdet.pth
_base_ = 'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py'

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(init_cfg=None),
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))
load_from = None  # the converted MCL checkpoint
# crash-safe checkpoints (mcl_mm's SafeCheckpointHook)
custom_imports = dict(imports=['mcl_mm'], allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
