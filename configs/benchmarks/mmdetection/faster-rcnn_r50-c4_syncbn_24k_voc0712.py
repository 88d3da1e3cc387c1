# Faster R-CNN R50-C4 on VOC07+12 trainval -> VOC07 test, the MoCo/MaskCo
# detection transfer: SyncBN everywhere with the extra BN after res5
# (detectron2's Res5ROIHeadsExtraNorm), RGB mean/std, pytorch-style
# blocks, 24k iterations of batch 16 (8 GPUs x 2), lr 0.02, 100 warm-up
# iterations, x0.1 at 18k and 22k, multi-scale training (480-800).
# Convert with `convert_mcl.py --to mmdet-c4` (stage 4 or an MCL C4 tile
# head -> roi_head.shared_head.layer4), then:
#   --cfg-options load_from=work_dirs/converted_c4.pth
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50-caffe-c4_ms-18k_voc0712.py'

custom_imports = dict(
    imports=['mmpretrain.models.utils.res_layer_extra_norm', 'mcl_mm'],
    allow_failed_imports=False)

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    roi_head=dict(
        shared_head=dict(
            type='ResLayerExtraNorm',
            norm_cfg=norm_cfg,
            norm_eval=False,
            style='pytorch')))

max_iter = 24000
train_cfg = dict(max_iters=max_iter, val_interval=4000)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iter,
        by_epoch=False,
        milestones=[18000, 22000],
        gamma=0.1)
]
default_hooks = dict(
    checkpoint=dict(type='SafeCheckpointHook', by_epoch=False, interval=4000))
load_from = None  # the converted checkpoint
