import logging
from types import SimpleNamespace

import pytest
from mmengine.dataset import InfiniteSampler

from mcl_mm.engine import MontageBatchCheckHook
from mcl_mm.models import MontageTiler


def _runner(batch_size, num_images, drop_last, sampler=None):
    loader = SimpleNamespace(
        batch_size=batch_size,
        drop_last=drop_last,
        dataset=list(range(num_images)),
        sampler=sampler)
    model = SimpleNamespace(tiler=MontageTiler(32, scales=(1, 2, 4)))
    return SimpleNamespace(
        model=model,
        train_dataloader=loader,
        logger=logging.getLogger('mcl_test'))


def test_batch_size_that_fits_passes():
    MontageBatchCheckHook().before_train(_runner(32, 96, True))
    MontageBatchCheckHook().before_train(_runner(16, 64, False))


def test_batch_size_that_does_not_fit_names_the_field():
    with pytest.raises(
            ValueError,
            match=r'train_dataloader.batch_size=24: .*level 2.*'
            r'multiple of 16'):
        MontageBatchCheckHook().before_train(_runner(24, 100, True))


def test_partial_last_batch_needs_drop_last():
    with pytest.raises(
            ValueError, match=r'last batch of 4 images .*'
            'drop_last=True'):
        MontageBatchCheckHook().before_train(_runner(16, 100, False))


def test_dropped_images_are_reported(caplog):
    with caplog.at_level(logging.WARNING, logger='mcl_test'):
        MontageBatchCheckHook().before_train(_runner(16, 100, True))
    assert 'leaves out 4 of the 100 images' in caplog.text


def test_infinite_sampler_has_no_last_batch(caplog):
    sampler = InfiniteSampler(list(range(100)), shuffle=False)
    with caplog.at_level(logging.WARNING, logger='mcl_test'):
        MontageBatchCheckHook().before_train(
            _runner(16, 100, False, sampler=sampler))
    assert caplog.text == ''
