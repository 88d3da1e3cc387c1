# Copyright (c) mcl_mm contributors. All rights reserved.
from collections.abc import Sized

from mmengine.dataset import InfiniteSampler
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmpretrain.registry import HOOKS
from ...datasets.transforms import MontageAssembly


@HOOKS.register_module()
class MontageBatchCheckHook(Hook):
    """Check before training that every batch fills whole montages.

    A per-GPU batch of B images must give each MCL level a whole number of
    montages; a partial last batch must either be dropped
    (``drop_last=True``) or fit too; and the pipeline's MontageAssembly must
    make the copies the model's montage needs (a run built without
    :class:`MontageRunner` may not). Failing this is reported before the
    first iteration, naming the field and the sizes, instead of mid-epoch.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        tiler = model.tiler
        loader = runner.train_dataloader
        self.check_assembly(loader.dataset, tiler)
        batch_size = loader.batch_size
        try:
            tiler.num_montages(batch_size)
        except ValueError as err:
            raise ValueError(
                f'train_dataloader.batch_size={batch_size}: {err}') from None
        if isinstance(getattr(loader, 'sampler', None), InfiniteSampler) or \
                not isinstance(loader.dataset, Sized):
            return  # no last batch
        per_rank = -(-len(loader.dataset) // get_world_size())
        last = per_rank % batch_size
        if last and loader.drop_last:
            runner.logger.warning(
                f'train_dataloader.drop_last=True: each epoch leaves out '
                f'{last} of the {per_rank} images each process sees (a '
                f'batch is {batch_size} images)')
        elif last:
            try:
                tiler.num_montages(last)
            except ValueError:
                raise ValueError(
                    f'train_dataloader: {len(loader.dataset)} images over '
                    f'{get_world_size()} process(es) leave a last batch of '
                    f'{last} images that does not fill whole montages '
                    f'(batch size must be a multiple of '
                    f'{tiler.batch_multiple}); set '
                    'train_dataloader.drop_last=True') from None

    @staticmethod
    def check_assembly(dataset, tiler) -> None:
        """Refuse a MontageAssembly whose geometry differs from the model's
        montage."""
        transforms = getattr(
            getattr(dataset, 'pipeline', None), 'transforms', [])
        for t in transforms:
            if isinstance(t, MontageAssembly) and \
                    t.geometry != tiler.geometry:
                raise ValueError(
                    f'MontageAssembly(geometry={t.geometry.to_cfg()}) does '
                    f'not match model.montage ({tiler.geometry.to_cfg()}); '
                    'run with runner_type="MontageRunner", which sets the '
                    'pipeline from model.montage')
