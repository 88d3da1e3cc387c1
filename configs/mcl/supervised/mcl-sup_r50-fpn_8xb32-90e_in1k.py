# Supervised multi-level pre-training (the paper's extension of the pretext
# task to labels): S=4 augmented copies of each ImageNet image (one
# pipeline: RandomResizedCrop + flip, each copy drawn with its own random
# state), copy i tiled into level i's montages; the labels follow the tiles
# and each level classifies its tiles (MultiLevelClsHead, weights 1/2, 1/4,
# 1/8, 1/8). The supervised ResNet-50 baseline's hyper-parameters: SGD
# momentum 0.9, lr 0.1 at batch 256, wd 1e-4, 90 epochs, x0.1 at 30/60.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../../_base_/models/mcl_r50_fpn.py',
]
custom_imports = dict(imports=['mcl_mm'], allow_failed_imports=False)

norm_cfg = dict(type='SyncBN')
model = dict(
    _delete_=True,
    type='MultiLevelSupervised',
    montage={{_base_.model.montage}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    pyramid_strides={{_base_.model.pyramid_strides}},
    tile_head=dict(
        type='TileEmbedHead',
        in_channels=256,
        feat_channels=256,
        num_convs=4,
        norm_cfg=norm_cfg,
        projection=dict(type='GlobalAveragePooling')),
    head=dict(
        type='MultiLevelClsHead',
        in_channels=256,
        num_classes=1000,
        loss=dict(type='CrossEntropyLoss')))

# mmpretrain's SelfSupDataPreprocessor that, on a GPU, also cuts the crops
# (the workers decode and draw the boxes); no photometric steps here
data_preprocessor = dict(
    type='MontageDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
# MontageAssembly crops each level's copy to its tile size, from the
# geometry MontageRunner copies from model.montage (`scale` is the crop
# size of the pipeline alone)
view_pipeline = [
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
train_pipeline = [
    dict(type='LoadImageChecked', skip_bad=True),
    dict(type='MontageAssembly', transforms=[view_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=5,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageNet',
        data_root='data/imagenet',
        split='train',
        pipeline=train_pipeline))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[30, 60], gamma=0.1)
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=90)
auto_scale_lr = dict(base_batch_size=256)

default_hooks = dict(
    checkpoint=dict(type='SafeCheckpointHook', interval=10, max_keep_ckpts=3))
custom_hooks = [
    dict(type='MontageBatchCheckHook'),
    dict(type='NonFiniteLossHook'),
    # SIGTERM / SIGUSR1: a checkpoint at the next iteration, exit code 75
    dict(type='PreemptionHook'),
    # unreadable images are skipped (LoadImageChecked); stop past 10
    dict(type='BadImageHook', max_bad_images=10),
]
