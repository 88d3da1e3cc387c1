# Copyright (c) mcl_mm contributors. All rights reserved.
from .atomic_local_backend import AtomicLocalBackend, atomic_write

__all__ = ['AtomicLocalBackend', 'atomic_write']
