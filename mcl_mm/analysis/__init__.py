# Copyright (c) mcl_mm contributors. All rights reserved.
"""Measurements behind the tools: step cost, pipeline cost, and the small
MCL / BYOL / random-init transfer comparison."""
from .pipeline_cost import jpeg_files, measure_pipelines
from .step_cost import (PeakMemory, authors_forward, load_config, make_batch,
                        measure_models, montage_options)

__all__ = [
    'jpeg_files', 'measure_pipelines', 'PeakMemory', 'authors_forward',
    'load_config', 'make_batch', 'measure_models', 'montage_options'
]
