# Mask R-CNN R50-FPN-CONV (the MCL paper's detector): SyncBN in backbone,
# FPN and heads, a 4-conv + 1-fc box head. Fine-tune from an MCL checkpoint
# converted with `tools/model_converters/convert_mcl.py --to mmdet`, which
# carries backbone, FPN and the 4 head convs:
#   --cfg-options load_from=work_dirs/mcl_mmdet.pth
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        frozen_stages=-1, norm_cfg=norm_cfg, norm_eval=False, init_cfg=None),
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
