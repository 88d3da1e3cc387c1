# Copyright (c) mcl_mm contributors. All rights reserved.
"""Measurements behind the tools: step cost, pipeline cost, data wait, and
the small MCL / BYOL / random-init transfer comparison."""
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
