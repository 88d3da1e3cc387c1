# Ablation: tile-boundary smoothing (the paper studies boundary smoothness;
# this blend is ours): within 4 px of an inner tile border the montage is
# blended with its 9x9 box-blurred copy, weight 1 at the border to 0 at 4 px.
_base_ = '../mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py'

model = dict(montage=dict(boundary_width=4))
