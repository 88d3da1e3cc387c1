# Ablation: the authors' backbone init, Kaiming normal with mode='fan_in' on
# every Conv2d (their resnet.py); the shipped configs keep mmpretrain's
# ResNet default, mode='fan_out' (docs/en/fidelity.md, backbone conv init).
_base_ = '../mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py'

model = dict(backbone=dict(init_cfg={{_base_.authors_backbone_init}}))
