# MaskCo(+in): also the query image's own 16 boxes as negatives (512).
_base_ = './maskco_r50_8xb32-coslr-200e_in1k.py'

model = dict(intra_negatives=True)
