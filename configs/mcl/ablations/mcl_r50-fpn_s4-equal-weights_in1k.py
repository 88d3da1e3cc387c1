# Ablation: the levels weighted equally, 1/S each (default 1/2, 1/4, 1/8,
# 1/8 for S=4).
_base_ = '../mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py'

model = dict(head=dict(level_weights='equal'))
