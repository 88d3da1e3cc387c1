# Copyright (c) mcl_mm contributors. All rights reserved.
"""The repository's measurements, beside the library and not installed
with it: step cost, pipeline cost, data wait, device-augment cost and op
counts (``tools/analysis_tools/benchmark.py``), the small MCL / BYOL /
random-init transfer comparison and its paired statistics
(``tools/benchmarks/mini_transfer.py``), and the photograph sets they run
on (``tools/prepare_demo_data.py``, ``tools/prepare_paste_data.py``).

It imports ``mcl_mm``; ``mcl_mm`` never imports it. The scripts under
``tools/`` put the repository root on ``sys.path`` to import it; the tests
do through ``pythonpath`` in ``setup.cfg``.
"""
from .augment_cost import measure_augment
from .data_wait import measure_data_wait
from .op_count import count_aten_ops, op_counts
from .pipeline_cost import jpeg_files, measure_pipelines
from .step_cost import (PeakMemory, load_config, make_batch, measure_flops,
                        measure_models, montage_options)

__all__ = [
    'count_aten_ops', 'measure_augment', 'measure_data_wait', 'jpeg_files',
    'measure_pipelines', 'PeakMemory', 'load_config', 'make_batch',
    'measure_flops', 'measure_models', 'montage_options', 'op_counts'
]
