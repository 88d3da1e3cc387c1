"""The cost measurements behind tools/analysis_tools/benchmark.py."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

from benchmarks import (count_aten_ops, jpeg_files, load_config, make_batch,
                        measure_augment, measure_flops, measure_models,
                        measure_pipelines, montage_options, op_counts)
from benchmarks.step_cost import build, count_flops, precision_config, ratios
from conftest import DEMO_CONFIG, IN1K, ROOT

BYOL_R18 = {
    'model.backbone.depth': 18,
    'model.neck.in_channels': 512,
    'model.neck.hid_channels': 256,
    'model.head.predictor.in_channels': 256,
    'model.head.predictor.hid_channels': 256,
}
BYOL = 'mmpretrain::byol/byol_resnet50_16xb256-coslr-200e_in1k.py'


def test_flop_count_of_a_linear_layer_matches_the_formula():
    layer = torch.nn.Linear(30, 20, bias=False)
    x = torch.randn(8, 30)
    assert count_flops(lambda: layer(x)) == 2 * 8 * 30 * 20


PEAK_CHECK = """
import sys, time, torch
from benchmarks import PeakMemory
if sys.argv[1] == 'sampled':  # a /proc that cannot reset the high-water mark
    PeakMemory._reset_high_water_mark = staticmethod(lambda: False)
with PeakMemory('cpu') as mem:
    block = torch.ones(64 * 2**20 // 4)  # 64 MB, touched
    time.sleep(0.05)  # held over many 2 ms samples
    del block
with PeakMemory('cpu') as idle:
    pass
print(mem._exact, mem.peak, idle.peak)
"""


@pytest.mark.parametrize('mode', ['vmhwm', 'sampled'])
def test_peak_memory_sees_an_allocation_inside_only(mode):
    # a fresh process: memory that earlier tests freed but the allocator
    # kept resident would take the block without raising the RSS
    out = subprocess.run([sys.executable, '-c', PEAK_CHECK, mode],
                         cwd=ROOT,
                         capture_output=True,
                         text=True,
                         check=True).stdout.split()
    assert out[0] == str(mode == 'vmhwm')
    assert int(out[1]) > 48 * 2**20
    assert int(out[2]) < 16 * 2**20


def test_ratios_divide_mcl_by_byol():
    results = dict(
        MCL=dict(
            step_time_s=3.,
            peak_memory_mb=10.,
            tiling_time_s=0.3,
            device_augment_time_s=0.06,
            train_gflops_per_image=4.,
            forward_gflops_per_image=1.),
        BYOL=dict(
            step_time_s=2.,
            peak_memory_mb=5.,
            train_gflops_per_image=2.,
            forward_gflops_per_image=1.),
        MCL_authors=dict(
            forward_gflops_per_image=4., train_gflops_per_image=16.))
    assert ratios(results) == pytest.approx(
        dict(
            step_time_mcl_over_byol=1.5,
            peak_memory_mcl_over_byol=2.,
            train_flops_mcl_over_byol=2.,
            forward_flops_ours_over_authors=0.25,
            train_flops_ours_over_authors=0.25,
            tiling_share_of_mcl_step=0.1,
            device_augment_share_of_mcl_step=0.02))


@pytest.mark.parametrize('levels', [1, 2, 3])
def test_levels_option_sets_the_whole_geometry(levels):
    """--levels S is one override of model.montage: the model's levels and
    pyramid and the pipeline's copies follow it."""
    cfg = load_config(DEMO_CONFIG, montage_options(levels, 64))
    assembly = cfg.train_dataloader.dataset.pipeline[1]
    assert assembly.geometry['resolution'] == 64
    assert assembly.geometry['scales'] == tuple(2**i for i in range(levels))
    model = build(cfg, 'cpu')[0]
    assert model.head.num_levels == levels == len(model.neck.lateral_convs)
    batch = make_batch(model, 4**(levels - 1), 64)
    assert [v.shape[-1] for v in batch['inputs']
            ] == [64 // 2**i for i in range(levels)] * 2


def test_authors_formulation_costs_more_than_ours():
    torch.manual_seed(0)
    configs = dict(
        MCL=load_config(DEMO_CONFIG, montage_options(3, 64)),
        BYOL=load_config(BYOL, BYOL_R18))
    r = measure_models(
        configs, batch_size=16, resolution=64, iters=1, warmup=0, device='cpu')
    for name in ('MCL', 'BYOL'):
        assert r[name]['train_gflops_per_image'] > \
            r[name]['forward_gflops_per_image'] > 0
    # the authors run the head on every pyramid output and the target on
    # every montage level: more work than ours, in the forward and in the
    # training step (the model's own forward_mode='authors')
    assert 0 < r['ratios']['forward_flops_ours_over_authors'] < 1
    assert 0 < r['ratios']['train_flops_ours_over_authors'] < 1
    # MCL's montage levels add images: more training FLOPs than BYOL
    assert r['ratios']['train_flops_mcl_over_byol'] > 1
    # --mode flops: the same counts without the timed steps
    flops = measure_flops(configs, batch_size=16, resolution=64, device='cpu')
    for name in ('MCL', 'BYOL', 'MCL_authors'):
        for key in ('train_gflops_per_image', 'forward_gflops_per_image'):
            assert flops[name][key] == pytest.approx(r[name][key]), name
    for key, value in flops['ratios'].items():
        if key in r['ratios']:
            assert value == pytest.approx(r['ratios'][key]), key
    forward = measure_flops(configs, 16, 64, 'cpu', train=False)
    assert 'train_gflops_per_image' not in forward['MCL']
    assert forward['MCL']['forward_gflops_per_image'] == pytest.approx(
        r['MCL']['forward_gflops_per_image'])
    assert forward['ratios']['forward_flops_mcl_over_byol'] == pytest.approx(
        r['MCL']['forward_gflops_per_image'] /
        r['BYOL']['forward_gflops_per_image'])


def test_data_profile_splits_pipeline_time_by_transform():
    files = jpeg_files(None)
    # both at 224 px, as the command line sets them; MCL's CPU path first
    cpu_path = dict(montage_options(3, 224))
    cpu_path['model.data_preprocessor.augment_on_device'] = False
    configs = dict(
        MCL=load_config(DEMO_CONFIG, cpu_path),
        BYOL=load_config(BYOL, BYOL_R18))
    r = measure_pipelines(configs, files, rounds=1, profile=True)
    assert r['files'] == len(files) > 10
    mcl, byol = r['profile_ms_per_image']['MCL'], \
        r['profile_ms_per_image']['BYOL']
    assert 'MontageAssembly' in mcl and 'MontageAssembly' not in byol
    assert mcl['ColorJitter'] > 0 and byol['ColorJitter'] > 0
    # MCL colours 2 x S = 6 views per image, BYOL 2 (each applied with
    # p=0.8): three times the calls (counted, so other load on the machine
    # cannot flip it as it could the times)
    calls = r['profile_calls_per_image']
    assert calls['MCL']['MontageAssembly'] == calls['BYOL'][
        'LoadImageFromFile'] == 1
    assert calls['MCL']['ColorJitter'] > 2 * calls['BYOL']['ColorJitter'] > 0
    # the wrapper includes what it calls
    assert mcl['MontageAssembly'] >= mcl['ColorJitter']
    # the device path (the default): no photometric step left on the CPU
    configs['MCL'] = load_config(DEMO_CONFIG, montage_options(3, 224))
    r = measure_pipelines(configs, files[:4], rounds=1, profile=True)
    mcl = r['profile_ms_per_image']['MCL']
    assert 'RandomResizedCrop' in mcl
    for name in ('ColorJitter', 'RandomGrayscale', 'GaussianBlur', 'Solarize'):
        assert name not in mcl, name


def test_data_profile_splits_a_workers_time_by_stage():
    """One worker's stages: the CPU path crops and resizes every view,
    the device-crop path only decodes and draws the boxes, and each hands
    its batches over (collate, pickling)."""
    files = jpeg_files(None)[:4]
    options = montage_options(3, 224)
    configs = dict(
        MCL=load_config(
            DEMO_CONFIG,
            dict(options, **{'model.data_preprocessor.crop_on_device':
                             False})),
        MCL_device_crop=load_config(
            DEMO_CONFIG,
            dict(options, **{'model.data_preprocessor.crop_on_device': True})),
        BYOL=load_config(BYOL, BYOL_R18))
    r = measure_pipelines(configs, files, rounds=1, profile=True, batch_size=2)
    assert set(r['ratios']) == {
        'data_images_per_s_mcl_over_byol',
        'data_images_per_s_mcl_device_crop_over_byol'
    }
    stages = r['profile_stages_ms_per_image']
    for name in configs:
        for stage in ('read file', 'decode', 'pack to tensors', 'collate',
                      'pickle to main process'):
            assert stages[name][stage] > 0, (name, stage)
    assert stages['MCL']['crop and resize'] > 0
    assert stages['BYOL']['crop and resize'] > 0
    device = stages['MCL_device_crop']
    assert 'crop and resize' not in device and device['draw crop boxes'] > 0
    assert 'draw crop boxes' not in stages['MCL']
    calls = r['profile_calls_per_image']
    assert calls['MCL']['RandomResizedCrop'] == 6  # 2 views x 3 levels
    assert 'RandomResizedCrop' not in calls['MCL_device_crop']


def run_benchmark(*args: str) -> subprocess.CompletedProcess:
    """``tools/analysis_tools/benchmark.py`` on the demo config, as a user
    runs it; it must succeed."""
    proc = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark.py'), '--mcl',
        DEMO_CONFIG, *args
    ],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_benchmark_command_line_prints_the_ratios(tmp_path):
    out = tmp_path / 'bench.json'
    options = [f'{k}={v}' for k, v in BYOL_R18.items()]
    proc = run_benchmark('--byol-options', *options, '--batch-size', '16',
                         '--resolution', '64', '--iters', '1', '--warmup', '0',
                         '--profile', '--json', str(out))
    # no per-parameter report: mmengine's init ("name - torch.Size(...)"),
    # the optimizer constructor's options and its frozen target parameters
    output = proc.stdout + proc.stderr
    for per_parameter in ('torch.Size(', 'paramwise_options',
                          'since its requires_grad=False'):
        assert per_parameter not in output, per_parameter
    assert len(output.splitlines()) < 100, output[:3000]  # tables included
    r = json.loads(out.read_text())
    assert r['setup']['levels'] == 3
    assert 'step_time_mcl_over_byol' in proc.stdout
    for name in ('MCL', 'BYOL'):
        assert 'aten::' in r['profile_tables'][name]
    assert 0 < r['MCL']['train_view_ops'] < r['MCL']['train_aten_ops']
    # stock BYOL's LARS and EMA read values to the host per parameter;
    # MCL's ForeachLARS / ForeachCosineEMA do not
    # the demo's OptimWrapper reads the clipped grad norm (mmengine): its
    # one sync; no SVD or eigensolver outside the steps that log
    assert r['MCL']['train_sync_ops'] == 1
    assert r['MCL']['train_decomposition_ops'] == 0
    assert r['MCL']['logging_decomposition_ops'] == 3  # one per level
    assert r['BYOL']['train_sync_ops'] > 100
    assert r['MCL']['settings'] == dict(
        optim_wrapper='OptimWrapper',
        dtype='float32',
        channels_last=False,
        compile=False)
    assert 'syncs/step' in proc.stdout
    assert 'MCL settings: OptimWrapper (float32), channels_last=False' in \
        proc.stdout


@pytest.mark.slow
def test_data_mode_on_the_cpu_path_times_the_photometric_steps(tmp_path):
    """With the photometric steps on the CPU the crops stay there too:
    ``--mode data`` times MCL's CPU pipeline, colour jitter included, and
    no device-crop arm."""
    out = tmp_path / 'data.json'
    run_benchmark('--mode', 'data', '--rounds', '1', '--batch-size', '2',
                  '--profile', '--mcl-options',
                  'model.data_preprocessor.augment_on_device=False', '--json',
                  str(out))
    r = json.loads(out.read_text())
    assert 'MCL_device_crop' not in r
    assert set(r['ratios']) == {'data_images_per_s_mcl_over_byol'}
    assert r['profile_ms_per_image']['MCL']['ColorJitter'] > 0


def test_aten_op_count_of_known_calls():
    x = torch.ones(4, 3)
    assert count_aten_ops(lambda: x * 2 + 1) == 2  # mul, add
    assert count_aten_ops(lambda: (x.sum(), x.t())) == 2
    # t() returns a view of x, sum() a new tensor
    assert count_aten_ops(lambda: (x.sum(), x.t()), views=True) == (2, 1)
    # reading a value or a data-dependent size to the host: sync ops
    assert op_counts(lambda: (x.sum().item(), x[x > 0], x.t())) == dict(
        ops=5, views=1, syncs=2, decompositions=0)
    # sum, item; gt, index by a mask; t
    assert op_counts(
        lambda: torch.linalg.eigvalsh(torch.eye(3)))['decompositions'] == 1


def test_augment_cost_counts_ops_independent_of_the_batch():
    cfg = load_config(DEMO_CONFIG, montage_options(3, 64))
    small = measure_augment(cfg, 2, 'cpu', repeats=1)
    large = measure_augment(cfg, 6, 'cpu', repeats=1)
    assert small['aten_ops_per_call'] == large['aten_ops_per_call'] > 0
    # 2 views x (64^2 + 32^2 + 16^2) px x batch
    assert large['megapixels'] == pytest.approx(6 * 2 * 5376 / 1e6)
    assert small['elementwise_passes'] == pytest.approx(
        small['augment_ms'] / small['elementwise_pass_ms'])
    cpu = load_config(
        DEMO_CONFIG,
        dict(
            montage_options(3, 64),
            **{'model.data_preprocessor.augment_on_device': False}))
    with pytest.raises(ValueError, match='moves no photometric step'):
        measure_augment(cpu, 2, 'cpu')


@pytest.mark.slow
def test_the_shipped_step_syncs_once_and_decomposes_only_when_it_logs():
    """The R50-FPN GPU config at its shipped settings (small size): one read
    to the host per step (the loss scaler's skip check) and no SVD or
    eigensolver but on the steps that log; BYOL as mmpretrain ships it."""
    torch.manual_seed(0)
    configs = dict(
        MCL=load_config(IN1K, montage_options(3, 64)),
        BYOL=load_config(BYOL, BYOL_R18))
    r = measure_models(configs, 16, 64, iters=1, warmup=0, device='cpu')
    mcl = r['MCL']
    assert mcl['settings'] == dict(
        optim_wrapper='MixedPrecisionOptimWrapper',
        dtype='bfloat16',
        channels_last=True,
        compile=False)
    assert r['BYOL']['settings'] == dict(
        optim_wrapper='OptimWrapper',
        dtype='float32',
        channels_last=False,
        compile=False)
    assert mcl['train_sync_ops'] == 1
    assert mcl['train_decomposition_ops'] == 0
    assert mcl['logging_decomposition_ops'] == 3  # one eigh per level
    assert mcl['logging_sync_ops'] == 1


def test_precision_settings_follow_the_train_tool():
    lars = dict(type='OptimWrapper', optimizer=dict(type='LARS', lr=1.))
    ours = dict(type='MixedPrecisionOptimWrapper', dtype='auto')
    # tools/train.py --amp: a plain wrapper becomes fp16 AMP on a GPU
    assert precision_config(lars, 'amp', 'cuda') == dict(
        lars, type='AmpOptimWrapper', loss_scale='dynamic')
    assert precision_config(ours, 'amp', 'cuda') == ours
    # mmengine's AmpOptimWrapper needs a GPU: float32 on the CPU
    assert precision_config(lars, 'amp', 'cpu') == lars
    assert precision_config(ours, 'fp32', 'cuda') == dict(type='OptimWrapper')
    assert precision_config(lars, 'config', 'cuda') == lars


def test_load_config_takes_a_mini_transfer_arm():
    from benchmarks.mini_transfer_arms import arm_config
    one = load_config('arm:mcl_s1')
    assert one.model.montage.scales == (1, )
    # as the runner sees it: the geometry follows the montage
    assert one.train_dataloader.dataset.pipeline[1].geometry['scales'] == (1, )
    byol = load_config('arm:byol', {'model.backbone.depth': 34})
    assert byol.model.type == 'BYOL' and byol.model.backbone.depth == 34
    assert arm_config('byol').model.backbone.depth == 18
    with pytest.raises(ValueError, match='unknown mini transfer arm'):
        load_config('arm:nope')
