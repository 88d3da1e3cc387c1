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
    '../../_base_/models/resnet50_linear-multilabel.py',
    '../../_base_/schedules/sgd_coslr-100e_linear.py',
]
custom_imports = dict(imports=['mcl_mm'], allow_failed_imports=False)

# drop_last: a last batch of one image would break the BatchNorm neck
train_dataloader = dict(batch_size=32, num_workers=8, drop_last=True)
val_dataloader = dict(batch_size=32, num_workers=8)
test_dataloader = val_dataloader

default_hooks = dict(
    checkpoint=dict(type='SafeCheckpointHook', interval=10, max_keep_ckpts=3))
