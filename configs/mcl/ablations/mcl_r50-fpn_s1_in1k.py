# Ablation: S=1, the levels of scales (1, ). Everything else follows
# model.montage: the head's levels, the FPN stages, the pipeline's copies.
_base_ = '../mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py'

model = dict(montage=dict(scales=(1, )))
