# Copyright (c) mcl_mm contributors. All rights reserved.
"""Decode every image of a training set before a long job.

``tools/analysis_tools/check_dataset.py`` is the command line of
:func:`check_images` and :func:`summary`.
"""
import os
import os.path as osp
from multiprocessing import Pool
from typing import Dict, List, Tuple

from mmengine.config import Config
from mmengine.registry import DefaultScope

from mcl_mm.montage import apply_montage_geometry
from .image_file import IMAGE_EXTENSIONS, inspect_image

FLAGS = ('greyscale', '16-bit', 'CMYK', 'alpha', 'palette', 'small',
         'extreme aspect')


def dataset_files(target: str) -> Tuple[List[str], List[str], int]:
    """The image files of a folder or of a config's training set.

    Args:
        target (str): A folder, or a config file (its
            ``train_dataloader.dataset``).

    Returns:
        tuple: The image files, the files left out by extension (folders
        only), and the side below which an image is smaller than the
        largest tile (the montage resolution; 224 without one).
    """
    if osp.isdir(target):
        images, other = [], []
        for folder, _, names in sorted(os.walk(target, followlinks=True)):
            for name in sorted(names):
                path = osp.join(folder, name)
                (images if name.lower().endswith(IMAGE_EXTENSIONS) else
                 other).append(path)
        return images, other, 224
    from mmpretrain.registry import DATASETS
    cfg = apply_montage_geometry(Config.fromfile(target))
    dataset_cfg = cfg.train_dataloader.dataset.copy()
    dataset_cfg.pipeline = []
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmpretrain')):
        dataset = DATASETS.build(dataset_cfg)
    paths = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    montage = cfg.get('model', {}).get('montage') or {}
    return paths, [], int(montage.get('resolution', 224))


def check_images(paths: List[str],
                 workers: int = 1,
                 min_side: int = 224) -> List[Dict[str, object]]:
    """:func:`inspect_image` of every path, over ``workers`` processes."""
    args = [(p, min_side) for p in paths]
    if workers <= 1:
        return [_inspect(a) for a in args]
    with Pool(workers) as pool:
        return pool.map(_inspect, args, chunksize=16)


def _inspect(args: Tuple[str, int]) -> Dict[str, object]:
    return inspect_image(args[0], min_side=args[1])


def summary(reports: List[Dict[str, object]], left_out: List[str],
            min_side: int) -> str:
    """The unreadable files with their reasons, then per flag how many
    files have it (a few named)."""
    bad = [r for r in reports if r['error']]
    lines = [
        f'{len(reports)} images checked: {len(bad)} unreadable, '
        f'{len(reports) - len(bad)} readable'
    ]
    for r in bad:
        lines.append(f'  unreadable {r["path"]}: {r["error"]}')
    for flag in FLAGS:
        have = [r['path'] for r in reports if flag in r.get('flags', [])]
        if have:
            what = (f'smaller than the largest tile ({min_side} px)'
                    if flag == 'small' else flag)
            lines.append(f'  {len(have)} {what}: ' + ', '.join(have[:3]) +
                         (' ...' if len(have) > 3 else ''))
    if left_out:
        lines.append(f'  {len(left_out)} files left out by extension: ' +
                     ', '.join(left_out[:3]) +
                     (' ...' if len(left_out) > 3 else ''))
    return '\n'.join(lines)
