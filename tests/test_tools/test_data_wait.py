"""The data-wait benchmark: timing-run configs and the figures it reports."""
import pytest
from mmengine.config import Config

from benchmarks import data_wait
from benchmarks.step_cost import load_config

DEMO = 'configs/mcl/mcl_r18-fpn_1xb16-96px-s3-100it_demo.py'
# the mini transfer's BYOL arm (benchmarks/mini_transfer_arms.py)
BYOL = 'arm:byol'


def test_figures_against_hand_numbers():
    times = dict(data_time=[5.0, 0.1, 0.2, 0.3], time=[9.0, 1.0, 1.0, 2.0])
    out = data_wait.summarise_wait(times, skip=1, batch_size=16)
    assert out == pytest.approx(
        dict(
            time_s=1.0,
            data_time_s=0.2,
            data_wait_share=0.6 / 4.0,
            images_per_s=16.0,
            iterations=3,
            skipped_steps=None))
    counted = dict(times, skipped_steps=[0.0, 2.0])  # two log lines
    assert data_wait.summarise_wait(counted, 1, 16)['skipped_steps'] == 2
    with pytest.raises(ValueError, match='4 iterations timed, all within'):
        data_wait.summarise_wait(times, skip=4, batch_size=16)


def test_timing_run_keeps_the_pipeline_and_drops_probe_and_checkpoints(
        tmp_path):
    cfg = Config.fromfile(DEMO)
    run = data_wait.loader_config(cfg, str(tmp_path), 7, 3, batch_size=32)
    loader = run.train_dataloader
    assert loader.dataset == dict(
        type='ImageFolder',
        data_root=str(tmp_path),
        with_label=False,
        pipeline=cfg.train_dataloader.dataset.pipeline)
    assert (loader.num_workers, loader.batch_size) == (3, 32)
    assert loader.persistent_workers and loader.sampler.type == \
        'InfiniteSampler'
    assert run.train_cfg == dict(type='IterBasedTrainLoop', max_iters=7)
    assert run.default_hooks.checkpoint is None
    kept = [h['type'] for h in run.custom_hooks]
    assert 'DenseProbeHook' in [h['type'] for h in cfg.custom_hooks]
    assert 'DenseProbeHook' not in kept and kept
    assert run.optim_wrapper == cfg.optim_wrapper and run.model == cfg.model
    # the warm-up stays: the timed steps train as a real run's first ones
    assert run.param_scheduler == cfg.param_scheduler
    # tools/train.py --amp's rule: plain OptimWrapper -> fp16 AMP (float32
    # on a CPU, where mmengine's AmpOptimWrapper cannot run)
    amp = data_wait.loader_config(cfg, str(tmp_path), 7, 3, precision='amp')
    assert amp.optim_wrapper.type == 'OptimWrapper'
    # the config it came from is untouched
    assert cfg.train_dataloader.dataset.type == 'ImageFolder'
    assert cfg.train_cfg != run.train_cfg


@pytest.mark.slow
def test_two_short_training_runs_report_their_waits(photo_dir):
    configs = dict(MCL=load_config(DEMO), BYOL=load_config(BYOL))
    out = data_wait.measure_data_wait(
        configs, photo_dir, iters=3, workers=1, skip=1)
    for name in ('MCL', 'BYOL'):
        r = out[name]
        assert r['iterations'] == 2
        assert 0 < r['data_time_s'] <= r['time_s']
        assert 0 < r['data_wait_share'] < 1
        assert r['images_per_s'] == pytest.approx(16 / r['time_s'])
    assert out['ratios']['train_images_per_s_mcl_over_byol'] == \
        pytest.approx(out['MCL']['images_per_s'] / out['BYOL']['images_per_s'])
