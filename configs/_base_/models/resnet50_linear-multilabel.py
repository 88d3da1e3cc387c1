# Multi-label linear evaluation head on a frozen ResNet-50: global-average-
# pooled 2048-d C5 features, a non-affine BatchNorm (our choice: one
# learning rate suits checkpoints with differently scaled features) and one
# linear layer trained with binary cross-entropy. The pre-trained backbone
# loads from `model.backbone.init_cfg.checkpoint` (its backbone.* keys).
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
