# Ablation: the four levels weighted equally (default 1/2, 1/4, 1/8, 1/8).
_base_ = '../mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py'

model = dict(head=dict(level_weights=(0.25, 0.25, 0.25, 0.25)))
