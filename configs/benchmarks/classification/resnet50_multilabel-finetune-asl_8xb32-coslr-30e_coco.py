# COCO multi-label fine-tuning with mmpretrain's asymmetric loss (gamma+ 0,
# gamma- 4, clip 0.05, the ASL paper's defaults) instead of plain binary
# cross-entropy; otherwise the 100 % fine-tuning recipe.
_base_ = './resnet50_multilabel-finetune_8xb32-coslr-30e_coco-100pct.py'

model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='AsymmetricLoss',
            gamma_pos=0.0,
            gamma_neg=4.0,
            clip=0.05)))
