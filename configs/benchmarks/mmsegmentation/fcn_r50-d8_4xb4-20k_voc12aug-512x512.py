# FCN on PASCAL VOC aug, 20k iterations, crop 512, batch 16, lr 0.05 (the
# SS-PRL protocol). A plain-stem ResNet-50 (the MCL backbone) replaces
# mmseg's ResNetV1c; convert with `--to mmseg` and pass
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/mcl_mmseg.pth
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb4-20k_voc12aug-512x512.py'

model = dict(
    pretrained=None,
    backbone=dict(
        type='ResNet',
        deep_stem=False,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')))
optim_wrapper = dict(optimizer=dict(lr=0.05))
# crash-safe checkpoints (mcl_mm's SafeCheckpointHook)
custom_imports = dict(imports=['mcl_mm'], allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
