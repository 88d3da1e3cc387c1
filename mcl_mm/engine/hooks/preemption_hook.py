# Copyright (c) mcl_mm contributors. All rights reserved.
"""A pre-empted run saves a checkpoint at the next iteration boundary and
exits with a code that says: resume me."""
import atexit
import multiprocessing
import os
import signal
from typing import Optional, Sequence

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import CheckpointHook, Hook

from mmpretrain.registry import HOOKS
from .safe_checkpoint_hook import save_named_checkpoint

# sysexits.h EX_TEMPFAIL: the run stopped on a signal after saving a
# checkpoint; run it again with --resume (tools/slurm_train.sh requeues it)
EXIT_PREEMPTED = 75


def workers_wait_for(signals: Sequence[int], stopping) -> None:
    """Make the data loader workers started from now on outlive ``signals``
    until ``stopping`` is set.

    PyTorch's worker ends itself on a SIGTERM that does not come from its
    parent, and Slurm signals every process of a job: the trainer would
    fail on a dead worker before it could save. Such a worker ignores the
    signals while ``stopping`` is clear, and exits on them once it is set
    (the trainer sets it when it stops, so that the SIGTERM with which
    multiprocessing ends daemon processes at exit still ends them).

    Args:
        signals (Sequence[int]): The signals.
        stopping: A ``multiprocessing.Event`` the workers inherit.
    """
    from torch.utils.data._utils import signal_handling
    original = signal_handling._set_worker_signal_handlers
    original = getattr(original, 'torch_handlers', original)

    def worker_handler(signum, frame):
        if stopping.is_set():
            os._exit(0)

    def set_handlers(*args, **kwargs):
        original(*args, **kwargs)
        for sig in signals:
            signal.signal(sig, worker_handler)

    set_handlers.torch_handlers = original
    signal_handling._set_worker_signal_handlers = set_handlers


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Save a checkpoint and exit when the job is told to stop.

    Clusters stop jobs with a signal and kill them a grace period later
    (Slurm: SIGTERM on pre-emption, the ``--signal`` of the job before its
    time limit). On any of ``signals`` the current iteration finishes; after
    it every rank agrees (a max over the ranks of a received flag, each
    iteration) and saves the same checkpoint, ``iter_{n}.pth`` beside the
    checkpoint hook's (atomic, ``last_checkpoint`` points at it), logs one
    line naming it, and exits with :data:`EXIT_PREEMPTED` (75). ``--resume``
    continues from it. A second signal while saving is noted and changes
    nothing.

    The handlers are set when the hook is built, before the runner's train
    loop starts its data loader workers, and the workers outlive the
    signals until the trainer stops (:func:`workers_wait_for`): a signal
    sent to every process of the job stops the trainer alone. Before
    training starts and after it ends, a signal has its usual effect on
    the trainer.

    An epoch-based loop resumed from such a checkpoint starts the
    interrupted epoch anew (mmengine's loops resume whole epochs).

    Args:
        signals (Sequence[str]): Signal names. Defaults to
            ``('SIGTERM', 'SIGUSR1')``.
        exit_code (int): The process's exit code after the save. Defaults
            to :data:`EXIT_PREEMPTED`.
    """

    priority = 'VERY_LOW'  # after the checkpoint hook of the same iteration

    def __init__(self,
                 signals: Sequence[str] = ('SIGTERM', 'SIGUSR1'),
                 exit_code: int = EXIT_PREEMPTED) -> None:
        unknown = [s for s in signals if not hasattr(signal, s)]
        if unknown:
            raise ValueError(f'PreemptionHook: unknown signals {unknown}; '
                             "names such as 'SIGTERM', 'SIGUSR1'")
        self.signals = tuple(getattr(signal, s) for s in signals)
        self.exit_code = exit_code
        self.received: Optional[int] = None
        self.repeats = 0
        self._armed = False
        self._pid = os.getpid()
        self._previous = {
            sig: signal.signal(sig, self._handle)
            for sig in self.signals
        }
        self._stopping = multiprocessing.Event()
        atexit.register(self._stopping.set)  # before multiprocessing's
        workers_wait_for(self.signals, self._stopping)

    def _handle(self, signum: int, frame) -> None:
        if os.getpid() != self._pid:
            return  # a data loader worker: the trainer stops it
        if not self._armed:  # not training: the signal's usual effect
            signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))
            os.kill(os.getpid(), signum)
        elif self.received is None:
            self.received = signum
        else:
            self.repeats += 1

    def before_train(self, runner) -> None:
        self._armed = True

    def after_train(self, runner) -> None:
        self._armed = False
        self._stopping.set()
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)

    def _stop_requested(self) -> bool:
        """Whether any rank received a signal (one small collective)."""
        flag = self.received is not None
        if get_world_size() == 1:
            return flag
        agreed = torch.tensor([int(flag)])
        all_reduce(agreed, op='max')
        return bool(agreed.item())

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if not self._stop_requested():
            return
        step = runner.iter + 1
        checkpoint = next(
            (h for h in runner.hooks if isinstance(h, CheckpointHook)), None)
        path = getattr(checkpoint, 'last_ckpt', None)
        if path is None or not str(path).endswith(f'_{step}.pth') or \
                getattr(checkpoint, 'by_epoch', False):
            path = save_named_checkpoint(runner, checkpoint,
                                         f'iter_{step}.pth')
        name = signal.Signals(self.received).name if self.received else \
            'a signal on another rank'
        repeats = f' ({self.repeats} more signals meanwhile)' \
            if self.repeats else ''
        runner.logger.info(
            f'{name} received: checkpoint {path} saved after iteration '
            f'{step}{repeats}; exiting with code {self.exit_code} (run '
            'again with --resume to continue)')
        self._stopping.set()
        raise SystemExit(self.exit_code)
