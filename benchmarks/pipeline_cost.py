# Copyright (c) mcl_mm contributors. All rights reserved.
"""Images/s of the MCL and BYOL training pipelines alone, side by side.

:func:`measure_pipelines` runs each pipeline over real JPEG files in one
process (one data worker), rounds interleaved A B A B, and optionally splits
the time per transform class (cProfile). ``tools/analysis_tools/benchmark.py
--mode data`` is its command line.
"""
import os
import statistics
import tempfile
import time
from typing import Callable, Dict, List, Tuple

from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import init_default_scope


def jpeg_files(data_dir: str) -> List[str]:
    """The JPEG files of ``data_dir``, or the scikit-image photographs
    re-encoded as JPEG into a temporary folder."""
    if data_dir is None:
        from PIL import Image

        from .demo_data import skimage_photos
        data_dir = tempfile.mkdtemp(prefix='mcl_bench_jpeg_')
        for path in skimage_photos():
            name = os.path.splitext(os.path.basename(path))[0] + '.jpg'
            with Image.open(path) as img:
                img.convert('RGB').save(
                    os.path.join(data_dir, name), quality=95)
    files = sorted(
        os.path.join(data_dir, f) for f in os.listdir(data_dir)
        if f.lower().endswith(('.jpg', '.jpeg')))
    if not files:
        raise FileNotFoundError(f'no JPEG files in {data_dir}')
    return files


def train_pipeline(cfg: Config) -> Callable:
    """The training pipeline of a config (geometry already applied, see
    :func:`load_config`)."""
    return Compose(cfg.train_dataloader.dataset.pipeline)


def measure_pipelines(configs: Dict[str, Config],
                      files: List[str],
                      rounds: int,
                      profile: bool = False) -> Dict[str, dict]:
    """Images/s of one worker for each config's training pipeline.

    Args:
        configs (Dict[str, Config]): ``MCL`` and ``BYOL`` configs.
        files (List[str]): Image files, each decoded once per round.
        rounds (int): Passes over the files per pipeline, interleaved.
        profile (bool): Also return ms per image in each transform class.

    Returns:
        Dict[str, dict]: Median images/s per pipeline and their ratio.
    """
    init_default_scope('mmpretrain')
    pipelines = {name: train_pipeline(cfg) for name, cfg in configs.items()}
    rates: Dict[str, List[float]] = {k: [] for k in pipelines}
    for _ in range(rounds):  # interleaved A B A B
        for name, pipeline in pipelines.items():
            start = time.perf_counter()
            for path in files:
                pipeline(dict(img_path=path))
            rates[name].append(len(files) / (time.perf_counter() - start))
    results = {
        name: dict(images_per_s_per_worker=statistics.median(r))
        for name, r in rates.items()
    }
    results['ratios'] = dict(data_images_per_s_mcl_over_byol=results['MCL']
                             ['images_per_s_per_worker'] /
                             results['BYOL']['images_per_s_per_worker'])
    results['files'] = len(files)
    if profile:
        times, calls = profile_pipelines(pipelines, files)
        results['profile_ms_per_image'] = times
        results['profile_calls_per_image'] = calls
    return results


def transform_codes() -> Dict[tuple, str]:
    """(file, first line) of every registered transform's ``transform``."""
    from mmcv.transforms import TRANSFORMS as MMCV_TRANSFORMS

    from mmpretrain.registry import TRANSFORMS
    codes = {}
    for registry in (MMCV_TRANSFORMS, TRANSFORMS):
        for name, cls in registry.module_dict.items():
            if 'transform' not in vars(cls):
                continue  # inherited: the defining class names the code
            code = getattr(vars(cls)['transform'], '__code__', None)
            if code is not None:
                codes[(code.co_filename, code.co_firstlineno)] = name
    return codes


def profile_pipelines(
    pipelines: Dict[str, Callable], files: List[str]
) -> Tuple[Dict[str, Dict[str, float]], Dict[str, Dict[str, float]]]:
    """Milliseconds (cumulative) and calls per image in each transform
    class.

    Returns:
        tuple: ``name -> class -> ms per image`` (slowest first) and ``name
        -> class -> calls per image`` (counts, which load on the machine
        cannot change).
    """
    import cProfile
    import pstats
    codes = transform_codes()
    times, calls = {}, {}
    for name, pipeline in pipelines.items():
        prof = cProfile.Profile()
        prof.enable()
        for path in files:
            pipeline(dict(img_path=path))
        prof.disable()
        per_class: Dict[str, float] = {}
        count: Dict[str, float] = {}
        for (file, line, _), stat in pstats.Stats(prof).stats.items():
            cls = codes.get((file, line))
            if cls:
                per_class[cls] = per_class.get(cls, 0.) + stat[3]
                count[cls] = count.get(cls, 0) + stat[1] / len(files)
        times[name] = {
            k: 1e3 * v / len(files)
            for k, v in sorted(per_class.items(), key=lambda kv: -kv[1])
        }
        calls[name] = count
    return times, calls
