# Multi-layer linear evaluation (Goyal et al. 2019): a linear classifier on
# each of conv1..conv5 of the frozen backbone, each feature normalised by a
# non-affine BN and average-pooled to ~9k dims (9216, 9216, 8192, 9216,
# 8192 at 224 px). 90 epochs, SGD momentum 0.9, lr 0.1, decay x0.1 at
# epochs 30 and 60, batch 256 (8 x 32); weight decay 5e-4 as in
# OpenSelfSup's multi-head benchmark. Reports multi_layer/convN_top1/top5.
# Load the MCL checkpoint directly (its backbone.* keys):
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/iter_x.pth
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mcl_mm'], allow_failed_imports=False)

layer_names = ('conv1', 'conv2', 'conv3', 'conv4', 'conv5')
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNetStemOut',
        depth=50,
        out_indices=(0, 1, 2, 3),
        frozen_stages=4,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    neck=None,
    head=dict(
        type='MultiLayerLinearClsHead',
        num_classes=1000,
        layer_names=layer_names))

val_evaluator = dict(
    type='MultiLayerAccuracy', layer_names=layer_names, topk=(1, 5))
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[30, 60], gamma=0.1)

train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)

default_hooks = dict(
    checkpoint=dict(type='SafeCheckpointHook', interval=10, max_keep_ckpts=3))
