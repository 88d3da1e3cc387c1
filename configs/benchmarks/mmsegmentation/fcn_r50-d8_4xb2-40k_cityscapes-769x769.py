# FCN on Cityscapes, 769x769 crops, 40k iterations, from the MCL backbone
# (plain-stem ResNet-50; convert with `--to mmseg`).
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb2-40k_cityscapes-769x769.py'

model = dict(
    pretrained=None,
    backbone=dict(
        type='ResNet',
        deep_stem=False,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')))
# crash-safe checkpoints (mcl_mm's SafeCheckpointHook)
custom_imports = dict(imports=['mcl_mm'], allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
