# COCO multi-label linear evaluation: the VOC07 protocol of
# resnet50_linear-multilabel_8xb32-coslr-100e_voc07.py on COCO train2014
# -> val2014 (80 classes: the categories each image's instances contain,
# read straight from instances_*.json by mcl_mm's CocoMultiLabel).
# Reports mAP (mean per-class AP) and macro precision/recall/F1 at 0.5.
# Our choice: 30 epochs (about 9.7k iterations at batch 256).
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/iter_x.pth
_base_ = './resnet50_linear-multilabel_8xb32-coslr-100e_voc07.py'

model = dict(head=dict(num_classes=80))

data_root = 'data/coco/'
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CocoMultiLabel',
        data_root=data_root,
        ann_file='annotations/instances_train2014.json',
        data_prefix=dict(img_path='train2014/'),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
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
