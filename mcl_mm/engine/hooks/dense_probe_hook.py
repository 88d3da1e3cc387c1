# Copyright (c) mcl_mm contributors. All rights reserved.
import math
import os.path as osp
import time
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmpretrain.registry import HOOKS
from ...evaluation.dense_probe import ProbeSet, dense_probe
from ...utils.coins_data import make_coins_dataset

# probe sets the hook can build when missing: name -> builder(data_root)
PROBE_SETS = dict(coins=make_coins_dataset)


@HOOKS.register_module()
class DenseProbeHook(Hook):
    """Measure dense feature quality while pre-training.

    Every ``interval`` iterations (and after the last one), on the main
    process, runs :func:`dense_probe` on the frozen backbone and pyramid of
    the online network over a small COCO-format set and writes
    ``dense_probe/<metric>`` (``miou_p5``, ..., ``miou_all``,
    ``knn_top1``) to the visualizer (scalars.json, TensorBoard) and the
    log. The network is not updated and its BN statistics are untouched;
    the time the probe took and its share of the run are logged at the end.

    Args:
        ann_file (str): COCO instances json of the probe set.
        img_dir (str): Folder of its images.
        size (int): Probe image side. Defaults to 224.
        interval (int): Iterations between probes. Defaults to 1000.
        steps (int): Optimiser steps of each linear probe. Defaults to 200.
        build (str, optional): A key of :data:`PROBE_SETS` that builds the
            set under ``data_root`` when ``ann_file`` is missing. Without
            it, a missing ``ann_file`` turns the probe off with a warning.
        data_root (str, optional): Where ``build`` writes the set.
    """

    priority = 'LOW'

    def __init__(self,
                 ann_file: str,
                 img_dir: str,
                 size: int = 224,
                 interval: int = 1000,
                 steps: int = 200,
                 build: Optional[str] = None,
                 data_root: Optional[str] = None) -> None:
        if build is not None and build not in PROBE_SETS:
            raise ValueError(f'DenseProbeHook: build must be one of '
                             f'{sorted(PROBE_SETS)}, got {build!r}')
        self.ann_file = ann_file
        self.img_dir = img_dir
        self.size = size
        self.interval = interval
        self.steps = steps
        self.build = build
        self.data_root = data_root
        self.probe: Optional[ProbeSet] = None
        self.seconds = 0.0
        self._start = None
        self._last = -1

    def _model(self, runner):
        return runner.model.module if is_model_wrapper(
            runner.model) else runner.model

    def before_train(self, runner) -> None:
        self._start = time.perf_counter()
        if not is_main_process():
            return
        if not osp.isfile(self.ann_file) and self.build is not None:
            PROBE_SETS[self.build](self.data_root)
        if not osp.isfile(self.ann_file):
            runner.logger.warning(
                f'dense probe off: {self.ann_file} not found (make a small '
                'COCO subset with tools/analysis_tools/'
                'make_probe_subset.py)')
            return
        preprocessor = self._model(runner).data_preprocessor
        mean = getattr(preprocessor, 'mean', None)
        std = getattr(preprocessor, 'std', None)
        kwargs = {}
        if mean is not None and std is not None:
            kwargs = dict(
                mean=mean.flatten().tolist(), std=std.flatten().tolist())
        self.probe = ProbeSet(self.ann_file, self.img_dir, self.size, **kwargs)

    def _probe(self, runner, step: int) -> None:
        """Probe the model as it is after ``step`` iterations."""
        if self.probe is None or self._last == step:
            return
        self._last = step
        start = time.perf_counter()
        results = dense_probe(self._model(runner), self.probe, self.steps)
        seconds = time.perf_counter() - start
        self.seconds += seconds
        scalars = {
            f'dense_probe/{k}': v
            for k, v in results.items() if not math.isnan(v)
        }
        runner.visualizer.add_scalars(scalars, step=step)
        runner.logger.info(
            f'dense probe after iteration {step} ({seconds:.1f} s): ' +
            ', '.join(f'{k} {v:.4f}' for k, v in scalars.items()))

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            self._probe(runner, runner.iter + 1)

    def after_train(self, runner) -> None:
        if self.probe is None:
            return
        self._probe(runner, runner.iter)  # after the loop: iterations run
        total = time.perf_counter() - self._start
        runner.logger.info(
            f'dense probe: {self.seconds:.1f} s of {total:.1f} s of '
            f'training ({100 * self.seconds / max(total, 1e-9):.1f} %)')
