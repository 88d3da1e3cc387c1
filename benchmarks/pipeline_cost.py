# Copyright (c) mcl_mm contributors. All rights reserved.
"""Images/s of one data worker for each training pipeline, side by side.

:func:`measure_pipelines` does in one process what a data loader worker
does for each config: the training pipeline per image, the config's
collate per batch, and the pickling that hands the batch to the main
process (torch's ``ForkingPickler``, which moves the tensors into shared
memory), over real JPEG files, rounds interleaved A B A B. With
``profile`` it splits the time per worker stage and per transform class
(cProfile). ``tools/analysis_tools/benchmark.py --mode data`` is its
command line.
"""
import os
import statistics
import tempfile
import time
from multiprocessing.reduction import ForkingPickler
from typing import Callable, Dict, List, Tuple

import torch.multiprocessing  # noqa: F401 (the tensor reductions)
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import FUNCTIONS, init_default_scope


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
    """The training pipeline of a config (the runner's config functions
    already applied, see :func:`load_config`)."""
    return Compose(cfg.train_dataloader.dataset.pipeline)


def train_collate(cfg: Config) -> Callable:
    """The collate function of a config's training loader (mmengine's
    default: ``pseudo_collate``)."""
    collate = dict(
        cfg.train_dataloader.get('collate_fn', dict(type='pseudo_collate')))
    return FUNCTIONS.get(collate.pop('type'))


class WorkerLoop:
    """What one data worker does for a list of files: the pipeline per
    image, then per batch the collate and the pickling to the main process.

    Args:
        cfg (Config): The training config.
        batch_size (int): Images per collated batch.
    """

    def __init__(self, cfg: Config, batch_size: int) -> None:
        self.pipeline = train_pipeline(cfg)
        self.collate = train_collate(cfg)
        self.batch_size = batch_size

    def load(self, files: List[str]) -> list:
        """The pipeline's output of each file."""
        return [self.pipeline(dict(img_path=path)) for path in files]

    def hand_over(self, samples: list) -> int:
        """Collate ``samples`` per batch and pickle each batch as a worker
        hands it over; returns the bytes pickled."""
        size = 0
        for i in range(0, len(samples), self.batch_size):
            batch = self.collate(samples[i:i + self.batch_size])
            size += len(ForkingPickler.dumps(batch))
        return size

    def __call__(self, files: List[str]) -> None:
        self.hand_over(self.load(files))


def measure_pipelines(configs: Dict[str, Config],
                      files: List[str],
                      rounds: int,
                      profile: bool = False,
                      batch_size: int = 32) -> Dict[str, dict]:
    """Images/s of one worker for each config's training data.

    Args:
        configs (Dict[str, Config]): Configs by name, ``BYOL`` among them.
        files (List[str]): Image files, each decoded once per round.
        rounds (int): Passes over the files per pipeline, interleaved.
        profile (bool): Also return ms per image in each worker stage and
            transform class.
        batch_size (int): Images per collated batch. Defaults to 32.

    Returns:
        Dict[str, dict]: Median images/s per config and each config's
        ratio to BYOL's.
    """
    init_default_scope('mmpretrain')
    loops = {
        name: WorkerLoop(cfg, batch_size)
        for name, cfg in configs.items()
    }
    rates: Dict[str, List[float]] = {k: [] for k in loops}
    for _ in range(rounds):  # interleaved A B A B
        for name, loop in loops.items():
            start = time.perf_counter()
            loop(files)
            rates[name].append(len(files) / (time.perf_counter() - start))
    results = {
        name: dict(images_per_s_per_worker=statistics.median(r))
        for name, r in rates.items()
    }
    byol = results['BYOL']['images_per_s_per_worker']
    results['ratios'] = {
        f'data_images_per_s_{name.lower()}_over_byol':
        results[name]['images_per_s_per_worker'] / byol
        for name in loops if name != 'BYOL'
    }
    results['files'] = len(files)
    results['batch_size'] = batch_size
    if profile:
        stages, times, calls = profile_pipelines(loops, files)
        results['profile_stages_ms_per_image'] = stages
        results['profile_ms_per_image'] = times
        results['profile_calls_per_image'] = calls
    return results


# Worker stages: name -> (end of the file path, function name) of the
# calls whose cumulative time it is (a recursion's outermost call counts
# once; '~' is cProfile's file of built-ins)
STAGES = {
    'read file': [('mmengine/fileio/io.py', 'get')],
    'decode': [('~', '<imdecode>'), ('image_file.py', '_pillow_decode')],
    'shrink sources': [('montage_assembly.py', '_sources'),
                       ('montage_assembly.py', '_bounded')],
    'draw crop boxes': [('montage_assembly.py', 'draw_boxes')],
    'crop and resize': [('mmcv/image/geometric.py', 'imcrop'),
                        ('mmcv/image/geometric.py', 'imresize')],
    'flip': [('mmcv/image/geometric.py', 'imflip')],
    'deep copies': [('copy.py', 'deepcopy')],
    'array copies': [('~', "<method 'copy' of 'numpy.ndarray' objects>")],
    'pack to tensors': [('formatting.py', 'format_input')],
    'collate': [('pipeline_cost.py', '_collate')],
    'pickle to main process': [('pipeline_cost.py', '_pickle')],
}


def _stage(file: str, func: str) -> str:
    """The stage of a cProfile entry, or ''."""
    for stage, calls in STAGES.items():
        for end, name in calls:
            if func == name and file.endswith(end):
                return stage
    return ''


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


class _ProfiledLoop:
    """A :class:`WorkerLoop` whose collate and pickling are functions of
    their own names, so cProfile shows them as stages."""

    def __init__(self, loop: WorkerLoop) -> None:
        self.loop = loop

    def _collate(self, samples: list) -> object:
        return self.loop.collate(samples)

    def _pickle(self, batch: object) -> bytes:
        return ForkingPickler.dumps(batch)

    def __call__(self, files: List[str]) -> None:
        samples = self.loop.load(files)
        size = self.loop.batch_size
        for i in range(0, len(samples), size):
            self._pickle(self._collate(samples[i:i + size]))


def profile_pipelines(
    loops: Dict[str, WorkerLoop], files: List[str]
) -> Tuple[Dict[str, Dict[str, float]], Dict[str, Dict[str, float]], Dict[
        str, Dict[str, float]]]:
    """Milliseconds per image in each worker stage (:data:`STAGES`) and
    each transform class (cumulative), and calls per image of each class.

    Returns:
        tuple: ``name -> stage -> ms per image`` (in :data:`STAGES` order,
        stages a pipeline does not have left out), ``name -> class -> ms
        per image`` (slowest first) and ``name -> class -> calls per
        image`` (counts, which load on the machine cannot change).
    """
    import cProfile
    import pstats
    codes = transform_codes()
    stages, times, calls = {}, {}, {}
    for name, loop in loops.items():
        prof = cProfile.Profile()
        prof.enable()
        _ProfiledLoop(loop)(files)
        prof.disable()
        per_stage: Dict[str, float] = {}
        per_class: Dict[str, float] = {}
        count: Dict[str, float] = {}
        for (file, line, func), stat in pstats.Stats(prof).stats.items():
            stage = _stage(file, func)
            if stage:
                per_stage[stage] = per_stage.get(stage, 0.) + stat[3]
            cls = codes.get((file, line))
            if cls:
                per_class[cls] = per_class.get(cls, 0.) + stat[3]
                count[cls] = count.get(cls, 0) + stat[1] / len(files)
        stages[name] = {
            k: 1e3 * per_stage[k] / len(files)
            for k in STAGES if k in per_stage
        }
        times[name] = {
            k: 1e3 * v / len(files)
            for k, v in sorted(per_class.items(), key=lambda kv: -kv[1])
        }
        calls[name] = count
    return stages, times, calls
