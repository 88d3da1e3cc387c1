# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import List, Sequence

import torch
from mmengine.evaluator import BaseMetric

from mmpretrain.evaluation.metrics import Accuracy
from mmpretrain.registry import METRICS


@METRICS.register_module()
class MultiLayerAccuracy(BaseMetric):
    """Top-k accuracy of each layer of a multi-layer linear probe.

    Reads the ``pred_score_<name>`` fields that
    :class:`MultiLayerLinearClsHead` stores and reports
    ``multi_layer/<name>_top<k>`` in percent.

    Args:
        layer_names (Sequence[str]): The head's layer names.
        topk (Sequence[int]): The k of each top-k accuracy.
        collect_device (str): Where results are gathered across ranks.
        prefix (str): Prefix of the metric names.
    """
    default_prefix = 'multi_layer'

    def __init__(self,
                 layer_names: Sequence[str] = ('conv1', 'conv2', 'conv3',
                                               'conv4', 'conv5'),
                 topk: Sequence[int] = (1, 5),
                 collect_device: str = 'cpu',
                 prefix: str = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.layer_names = tuple(layer_names)
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            missing = [
                n for n in self.layer_names if f'pred_score_{n}' not in sample
            ]
            if missing:
                raise KeyError(
                    f'MultiLayerAccuracy: prediction has no pred_score_'
                    f'{missing[0]}; layer_names must match the head\'s')
            result = {
                n: sample[f'pred_score_{n}'].cpu()
                for n in self.layer_names
            }
            result['gt_label'] = sample['gt_label'].cpu()
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> dict:
        target = torch.cat([r['gt_label'] for r in results])
        metrics = {}
        for name in self.layer_names:
            scores = torch.stack([r[name] for r in results])
            accs = Accuracy.calculate(scores, target, topk=self.topk)
            for k, acc in zip(self.topk, accs):
                metrics[f'{name}_top{k}'] = float(acc[0])
        return metrics
