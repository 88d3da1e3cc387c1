# Semi-supervised: 10 % of the train2014 labels (the first 8278 images of
# instances_train2014.json: a fixed, documented subset), the rest of the
# 100 % fine-tuning recipe.
_base_ = './resnet50_multilabel-finetune_8xb32-coslr-30e_coco-100pct.py'

train_dataloader = dict(dataset=dict(indices=8278))
