# VOC07 multi-label linear evaluation: frozen backbone, global-average-
# pooled 2048-d C5 features, a non-affine BatchNorm and one linear layer
# trained with binary cross-entropy on VOC2007 trainval, tested on VOC2007
# test (mean per-class AP; labels that occur only as 'difficult' are masked
# out, mmpretrain's VOCAveragePrecision default). Training crops
# RandomResizedCrop 224 + flip, testing resizes the short edge to 256 and
# centre-crops 224 (mmpretrain's VOC pipeline).
# Our choices (the papers do not fix them): BN before the linear layer, so
# one learning rate suits checkpoints with differently scaled features;
# 100 epochs, SGD momentum 0.9, lr 0.1 with cosine decay, wd 0, batch 256.
# The metric of the last epoch is the one to report.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/iter_x.pth
_base_ = [
    'mmpretrain::_base_/datasets/voc_bs16.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mcl_mm'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=50,
        frozen_stages=4,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    neck=[
        dict(type='GlobalAveragePooling'),
        dict(type='ClsBatchNormNeck', input_features=2048),
    ],
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=20,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True)))

# drop_last: a last batch of one image would break the BatchNorm neck
train_dataloader = dict(batch_size=32, num_workers=8, drop_last=True)
val_dataloader = dict(batch_size=32, num_workers=8)
test_dataloader = val_dataloader

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.))
param_scheduler = dict(
    type='CosineAnnealingLR', T_max=100, by_epoch=True, begin=0, end=100)

train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)

default_hooks = dict(
    checkpoint=dict(type='SafeCheckpointHook', interval=10, max_keep_ckpts=3))
