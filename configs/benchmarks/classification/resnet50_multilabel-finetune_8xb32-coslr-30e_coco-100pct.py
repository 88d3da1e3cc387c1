# COCO multi-label fine-tuning (the SS-PRL semi-supervised protocol, 100 %
# of the labels): the multi-label linear setup with the backbone training
# too (no frozen stages, BN in train mode), SGD lr 0.01 cosine, wd 1e-4,
# 30 epochs, batch 256; reports the last epoch's mAP on val2014.
_base_ = './resnet50_linear-multilabel_8xb32-coslr-30e_coco.py'

model = dict(
    backbone=dict(frozen_stages=-1, norm_eval=False),
    neck=[dict(type='GlobalAveragePooling')])
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
