# Copyright (c) mcl_mm contributors. All rights reserved.
import json
import os.path as osp
from typing import List

from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import DATASETS


@DATASETS.register_module()
class CocoMultiLabel(MultiLabelDataset):
    """COCO images with the set of categories they contain (multi-label).

    Reads a COCO ``instances_*.json`` directly: an image's labels are the
    categories of its annotations (crowd ones included), class indices
    follow the category ids in ascending order, and the class names come
    from the file. Images without annotations are kept as all-negative
    unless ``filter_empty`` is set.

    Args:
        ann_file (str): The ``instances_*.json`` file.
        data_root (str): Root joined to ``ann_file`` and ``data_prefix``.
        data_prefix (str | dict): Image folder, e.g. ``'train2014/'``.
        filter_empty (bool): Drop images without any annotation.
        **kwargs: Other arguments of :class:`MultiLabelDataset`.
    """

    def __init__(self,
                 ann_file: str,
                 filter_empty: bool = False,
                 **kwargs) -> None:
        self.filter_empty = filter_empty
        super().__init__(ann_file=ann_file, **kwargs)

    def _load_coco(self) -> dict:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'CocoMultiLabel: annotation file {self.ann_file} not found')
        with open(self.ann_file) as f:
            coco = json.load(f)
        for key in ('images', 'annotations', 'categories'):
            if key not in coco:
                raise ValueError(f'CocoMultiLabel: {self.ann_file} has no '
                                 f'"{key}" field; expected COCO instances')
        if not coco['categories']:
            raise ValueError(f'CocoMultiLabel: {self.ann_file} lists no '
                             'categories')
        return coco

    def load_data_list(self) -> List[dict]:
        coco = self._load_coco()
        cats = sorted(coco['categories'], key=lambda c: c['id'])
        cat_to_label = {c['id']: i for i, c in enumerate(cats)}
        self._metainfo['classes'] = tuple(c['name'] for c in cats)
        labels = {img['id']: set() for img in coco['images']}
        for ann in coco['annotations']:
            if ann['category_id'] not in cat_to_label:
                raise ValueError(
                    f'CocoMultiLabel: annotation {ann.get("id")} in '
                    f'{self.ann_file} has category_id {ann["category_id"]}, '
                    f'which "categories" does not list')
            labels[ann['image_id']].add(cat_to_label[ann['category_id']])
        img_prefix = self.data_prefix.get('img_path', '')
        return [
            dict(
                img_path=osp.join(img_prefix, img['file_name']),
                gt_label=sorted(labels[img['id']])) for img in coco['images']
            if labels[img['id']] or not self.filter_empty
        ]
