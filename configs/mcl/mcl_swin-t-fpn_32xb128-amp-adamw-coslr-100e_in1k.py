# MCL with a Swin-T backbone (mmdet's SwinTransformer, so the weights load
# by name into mmdet's Mask R-CNN Swin-T) + FPN on its four stages, S=4.
# Optimiser (our choice, MoBY-style for Swin): AdamW lr 2e-3 for the total
# batch of 4096, wd 0.05 (none on norms, biases and position tables),
# 10 warm-up epochs, cosine to 1e-6, mixed precision, grad clip 5.
# Channels-last is off: Swin's blocks are linear layers on tokens; its gain
# there has not been measured.
# Transfer: `--to mmdet` into
# configs/benchmarks/mmdetection/mask-rcnn_swin-t-p4-w7-fpn-conv_1x_coco.py.
_base_ = [
    './mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py',
    '../_base_/models/swin_t.py',
]

model = dict(
    channels_last=False,
    backbone={{_base_.swin_t}},
    neck=dict(in_channels={{_base_.swin_t_channels}}))

optim_wrapper = dict(
    _delete_=True,
    type='MixedPrecisionOptimWrapper',
    dtype='auto',
    optimizer=dict(
        type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=5.0),
    paramwise_cfg={{_base_.swin_paramwise_cfg}})
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=90,
        eta_min=1e-6,
        by_epoch=True,
        begin=10,
        end=100,
        convert_to_iter_based=True),
]
