# Copyright (c) mcl_mm contributors. All rights reserved.
from .foreach_lars import ForeachLARS
from .mixed_precision_optim_wrapper import (CappedGradScaler,
                                            MixedPrecisionOptimWrapper)

__all__ = ['CappedGradScaler', 'ForeachLARS', 'MixedPrecisionOptimWrapper']
