# Swin-T (mmdet's SwinTransformer: its weights load by name into mmdet's
# Mask R-CNN Swin-T) and the AdamW parameter groups of Swin recipes, as
# variables for MCL configs that swap the backbone in:
#   model = dict(backbone=swin_t, neck=dict(in_channels=swin_t_channels))
swin_t = dict(
    _delete_=True,  # replaces the ResNet of the config it is merged into
    type='mmdet.SwinTransformer',
    embed_dims=96,
    depths=[2, 2, 6, 2],
    num_heads=[3, 6, 12, 24],
    window_size=7,
    mlp_ratio=4,
    qkv_bias=True,
    drop_path_rate=0.2,
    patch_norm=True,
    out_indices=(0, 1, 2, 3),
    convert_weights=False)
swin_t_channels = [96, 192, 384, 768]
# no weight decay on norms, biases and position tables
swin_paramwise_cfg = dict(
    norm_decay_mult=0.,
    bias_decay_mult=0.,
    custom_keys={
        'absolute_pos_embed': dict(decay_mult=0.),
        'relative_position_bias_table': dict(decay_mult=0.),
    })
