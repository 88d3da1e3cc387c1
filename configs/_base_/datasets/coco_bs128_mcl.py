# MCL pre-training on the COCO train2017 images (no labels used).
_base_ = ['./imagenet_bs128_mcl.py']

data_root = 'data/coco/'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ImageFolder',
        data_root=data_root,
        data_prefix='train2017',
        with_label=False,
        pipeline={{_base_.train_pipeline}}))
