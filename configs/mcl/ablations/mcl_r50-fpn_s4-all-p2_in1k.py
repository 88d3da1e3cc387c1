# Ablation: every level reads P2 (stride 4) instead of the output matched to
# its scale (P5, P4, P3, P2): tiles then cover 56, 28, 14 and 7 cells, and
# the tile head runs once per level. P3-P5's output convs get no gradient,
# so DDP must look for unused parameters.
_base_ = '../mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py'

model = dict(pyramid_outputs=0)  # one output for every level
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
