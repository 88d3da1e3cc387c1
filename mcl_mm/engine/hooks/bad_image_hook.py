# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook

from mmpretrain.registry import HOOKS
from ...datasets.transforms.load_image_checked import LoadImageChecked


def _checked_loaders(dataset) -> List[LoadImageChecked]:
    """The LoadImageChecked transforms of a dataset, wrappers included."""
    found = []
    for t in getattr(getattr(dataset, 'pipeline', None), 'transforms', []):
        if isinstance(t, LoadImageChecked):
            found.append(t)
    for inner in [
            getattr(dataset, 'dataset', None),
            *getattr(dataset, 'datasets', [])
    ]:
        if inner is not None:
            found += _checked_loaders(inner)
    return found


@HOOKS.register_module()
class BadImageHook(Hook):
    """Count the unreadable images the training pipeline skipped, and stop
    past a cap.

    Works with :class:`LoadImageChecked` ``(skip_bad=True)``: every
    ``interval`` iterations the skips of all data workers (summed over all
    processes) are counted, and past ``max_bad_images`` the run stops with
    the list. The count is logged at each epoch end and at the end of
    training.

    Args:
        max_bad_images (int): Skips tolerated. Defaults to 10.
        interval (int): Check every ``interval`` iterations. Defaults to 10.
    """

    priority = 'LOW'

    def __init__(self, max_bad_images: int = 10, interval: int = 10) -> None:
        self.max_bad_images = max_bad_images
        self.interval = interval

    def skipped(self, runner) -> Dict[str, str]:
        """The files skipped so far in this process's data pipeline."""
        found: Dict[str, str] = {}
        for loader in _checked_loaders(runner.train_dataloader.dataset):
            found.update(loader.skipped())
        return found

    def _check(self, runner) -> Dict[str, str]:
        skipped = self.skipped(runner)
        total = torch.tensor(len(skipped), dtype=torch.long)
        all_reduce(total)
        if int(total) > self.max_bad_images:
            listing = '\n'.join(f'  {p}: {r}' for p, r in skipped.items())
            raise RuntimeError(
                f'{int(total)} unreadable images skipped, more than '
                f'max_bad_images={self.max_bad_images} (BadImageHook); fix '
                f'or remove them (tools/analysis_tools/check_dataset.py '
                f'lists them all) and resume. This process skipped:\n'
                f'{listing}')
        return skipped

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            self._check(runner)

    def _report(self, runner, when: str) -> None:
        skipped = self._check(runner)
        if skipped:
            runner.logger.warning(
                f'{when}: {len(skipped)} unreadable images skipped so far: ' +
                '; '.join(f'{p} ({r})' for p, r in skipped.items()))
        else:
            runner.logger.info(f'{when}: no unreadable image skipped')

    def after_train_epoch(self, runner) -> None:
        self._report(runner, f'epoch {runner.epoch}')

    def after_train(self, runner) -> None:
        self._report(runner, 'end of training')
