# COCO multi-label linear evaluation: the VOC07 protocol of
# resnet50_linear-multilabel_8xb32-coslr-100e_voc07.py on COCO train2014
# -> val2014 (80 classes: the categories each image's instances contain,
# read straight from instances_*.json by mcl_mm's CocoMultiLabel).
# Reports mAP (mean per-class AP) and macro precision/recall/F1 at 0.5.
# Our choice: 30 epochs (about 9.7k iterations at batch 256).
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/iter_x.pth
_base_ = [
    'mmpretrain::_base_/datasets/voc_bs16.py',
    'mmpretrain::_base_/default_runtime.py',
    '../../_base_/models/resnet50_linear-multilabel.py',
    '../../_base_/schedules/sgd_coslr-100e_linear.py',
]
custom_imports = dict(imports=['mcl_mm'], allow_failed_imports=False)

model = dict(head=dict(num_classes=80))

data_root = 'data/coco/'
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
# drop_last: a last batch of one image would break the BatchNorm neck
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    drop_last=True,
    dataset=dict(
        _delete_=True,
        type='CocoMultiLabel',
        data_root=data_root,
        ann_file='annotations/instances_train2014.json',
        data_prefix=dict(img_path='train2014/'),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    batch_size=32,
    num_workers=8,
    dataset=dict(
        _delete_=True,
        type='CocoMultiLabel',
        data_root=data_root,
        ann_file='annotations/instances_val2014.json',
        data_prefix=dict(img_path='val2014/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

data_preprocessor = dict(num_classes=80)
val_evaluator = [
    dict(type='AveragePrecision'),
    dict(type='MultiLabelMetric', thr=0.5),
]
test_evaluator = val_evaluator

param_scheduler = dict(T_max=30, end=30)
train_cfg = dict(max_epochs=30, val_interval=5)
default_hooks = dict(
    checkpoint=dict(type='SafeCheckpointHook', interval=10, max_keep_ckpts=3))
