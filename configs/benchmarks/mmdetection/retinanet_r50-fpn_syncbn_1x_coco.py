# RetinaNet R50-FPN with SyncBN in backbone and FPN. Convert with
# `--to mmdet-retinanet`: backbone and the C3-C5 FPN convs (matched by the
# stage they read; MCL's C2 lateral has no place here, nor its box-head
# convs). The P6/P7 extra convs start from scratch.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        frozen_stages=-1, norm_cfg=norm_cfg, norm_eval=False, init_cfg=None),
    neck=dict(norm_cfg=norm_cfg))
load_from = None  # the converted MCL checkpoint
# crash-safe checkpoints (mcl_mm's SafeCheckpointHook)
custom_imports = dict(imports=['mcl_mm'], allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
