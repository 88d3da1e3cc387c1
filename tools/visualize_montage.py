# Copyright (c) mcl_mm contributors. All rights reserved.
"""Draw the montages MCL builds from one batch of a config's training set.

One row per level and view; each montage shows its tile borders and, in
each tile, the index of the image it came from.
"""
import argparse
import os.path as osp

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dataset import default_collate  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from mcl_mm.montage import apply_montage_geometry  # noqa: E402
from mcl_mm.montage import split_views, tile_origin  # noqa: E402
from mmpretrain.registry import DATASETS, MODELS  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='MCL config file')
    parser.add_argument('--out', default='montages.png', help='PNG to write')
    parser.add_argument(
        '--max-montages',
        type=int,
        default=4,
        help='montages drawn per level and view')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    apply_montage_geometry(cfg)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    torch.manual_seed(args.seed)

    # as mmengine's Runner does, a top-level data_preprocessor is the model's
    preprocessor = MODELS.build(
        cfg.model.get('data_preprocessor') or cfg.data_preprocessor)
    tiler = MODELS.build(cfg.model.montage)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch_size = cfg.train_dataloader.batch_size
    batch = default_collate(
        [dataset[i % len(dataset)] for i in range(batch_size)])
    inputs = preprocessor(batch)['inputs']
    mean = preprocessor.mean.view(1, -1, 1, 1)
    std = preprocessor.std.view(1, -1, 1, 1)

    levels = tiler.num_levels
    rows = []
    for name, view in zip('AB', split_views(inputs, levels, 2)):
        montages, index = tiler(view)
        for level, (m, idx) in enumerate(zip(montages, index)):
            rows.append((f'view {name}, level {level}', m, idx, level))
    cols = max(min(args.max_montages, r[1].size(0)) for r in rows)
    fig, axes = plt.subplots(
        len(rows), cols, figsize=(2.6 * cols, 2.6 * len(rows)), squeeze=False)
    for row, (title, montages, index, level) in zip(axes, rows):
        r, t = tiler.scales[level], tiler.tile_size(level)
        images = (montages * std + mean).clamp(0, 255) / 255
        for col, ax in enumerate(row):
            ax.axis('off')
            if col >= min(args.max_montages, images.size(0)):
                continue
            ax.imshow(images[col].permute(1, 2, 0).numpy())
            for k in range(1, r):
                ax.axhline(k * t - 0.5, color='yellow', lw=1)
                ax.axvline(k * t - 0.5, color='yellow', lw=1)
            for k in range(r * r):
                y, x = tile_origin(k, r, t)
                ax.text(
                    x + 2,
                    y + 2,
                    str(int(index[col * r * r + k])),
                    color='white',
                    fontsize=max(4, 9 - r),
                    va='top',
                    bbox=dict(facecolor='black', alpha=0.5, pad=0.5, lw=0))
            ax.set_title(f'{title} #{col} ({r}x{r})', fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f'montages of {batch_size} images, {levels} levels: '
          f'{osp.abspath(args.out)}')


if __name__ == '__main__':
    main()
