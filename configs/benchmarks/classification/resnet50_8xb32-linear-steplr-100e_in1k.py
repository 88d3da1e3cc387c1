# ImageNet-1k linear evaluation: frozen backbone, last-layer features,
# 100 epochs, SGD momentum 0.9, lr 10, batch 256 (8 x 32), weight decay 0.
# Load the MCL checkpoint directly (its backbone.* keys):
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/iter_x.pth
_base_ = 'mmpretrain::mocov2/benchmarks/' \
    'resnet50_8xb32-linear-steplr-100e_in1k.py'

optim_wrapper = dict(optimizer=dict(lr=10.0, momentum=0.9, weight_decay=0.))
# crash-safe checkpoints (mcl_mm's SafeCheckpointHook)
custom_imports = dict(imports=['mcl_mm'], allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
