# Copyright (c) mcl_mm contributors. All rights reserved.
"""Checkpoints that survive crashes: written atomically, resumed only when
they can be read."""
import os
import os.path as osp
import re
from contextlib import contextmanager
from typing import List, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from ...converters.checkpoint_file import CheckpointReadError, read_checkpoint
from ...fileio import AtomicLocalBackend, atomic_write


class ResumeError(RuntimeError):
    """Resuming cannot start: the checkpoint asked for cannot be read, or
    none of the work dir's can. The message names the files."""


class CheckpointSaveError(OSError):
    """A checkpoint could not be written (a full disk, an I/O error). The
    message names the file, the error and the last good checkpoint."""


def last_good_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``last_checkpoint`` names: written only after a
    checkpoint is complete, so the last good one."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        return f.read().strip() or None


@contextmanager
def explained_save(runner, path: str):
    """Turn an ``OSError`` of a checkpoint save into one
    :class:`CheckpointSaveError` line naming ``path``, the error and the
    last good checkpoint (the atomic writer has removed its temporary
    file; nothing is tried again)."""
    last_good = last_good_checkpoint(runner.work_dir)
    try:
        yield
    except OSError as err:
        good = last_good or 'none yet'
        raise CheckpointSaveError(
            f'cannot save checkpoint {path}: {err}. The last good '
            f'checkpoint is {good}; free space or fix the disk, then run '
            'again with --resume') from err


def save_named_checkpoint(runner, hook: Optional[CheckpointHook],
                          filename: str) -> str:
    """Save a checkpoint named ``filename`` where ``hook`` saves (the
    work dir without one), with its backend, atomically, and point
    ``last_checkpoint`` at it; every rank calls it.

    Returns:
        str: The checkpoint's path.
    """
    out_dir = getattr(hook, 'out_dir', None) or runner.work_dir
    backend_args = getattr(hook, 'backend_args',
                           None) or dict(backend=AtomicLocalBackend.name)
    path = osp.join(out_dir, filename)
    with explained_save(runner, path):
        runner.save_checkpoint(
            out_dir, filename, by_epoch=False, backend_args=backend_args)
        if is_main_process():
            atomic_write(
                osp.join(runner.work_dir, 'last_checkpoint'), path.encode())
    return path


def _readable(path: str) -> Optional[CheckpointReadError]:
    """None if ``path`` loads with the safe loader, else why not."""
    try:
        read_checkpoint(path)
    except CheckpointReadError as err:
        return err
    return None


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook``, made to survive crashes.

    Saving: checkpoints go through :class:`AtomicLocalBackend` (a temporary
    file beside the final one, flushed, fsynced and renamed over it), so a
    crash, a full disk or a lost write-back leaves the previous file or the
    complete new one, never a cut one under a checkpoint's name. The
    ``last_checkpoint`` pointer, which mmengine writes in place after the
    checkpoint, is then rewritten the same way. A save that fails (a full
    disk, an I/O error) stops the run with one :class:`CheckpointSaveError`
    line naming the file, the error and the last good checkpoint, which
    ``--resume`` then starts from.

    Resuming (``resume=True``; ``tools/train.py --resume``): before mmengine
    loads anything (``before_run``), each candidate is read with the safe
    loader. Without a path, the file ``last_checkpoint`` names is tried
    first, then the folder's checkpoints by step, newest first; each one that
    cannot be read is logged with the reason and skipped. If checkpoints
    (or the pointer) exist but none can be read, :class:`ResumeError` names
    them instead of a silent start from scratch. With a path that cannot be
    read, :class:`ResumeError` names it and the readable checkpoints beside
    it.

    Selected in a config with ``default_hooks = dict(checkpoint=dict(
    type='SafeCheckpointHook', ...))``. Registered in mmengine's root
    ``HOOKS``, so that mmdet and mmseg configs find it too. The chosen
    checkpoint is read twice (checked here, loaded by mmengine).

    Args:
        backend_args (dict, optional): As ``CheckpointHook``'s. Defaults to
            ``dict(backend='atomic_local')`` when ``out_dir`` is local and
            ``file_client_args`` is not given; any other value is used as it
            is (only ``last_checkpoint`` is then written atomically).
        **kwargs: The other arguments of ``CheckpointHook``.
    """

    def __init__(self,
                 *,
                 backend_args: Optional[dict] = None,
                 **kwargs) -> None:
        out_dir = kwargs.get('out_dir')
        local = out_dir is None or '://' not in str(out_dir)
        if backend_args is None and local and \
                kwargs.get('file_client_args') is None:
            backend_args = dict(backend=AtomicLocalBackend.name)
        super().__init__(backend_args=backend_args, **kwargs)

    def _save_checkpoint_with_step(self, runner, step: int,
                                   meta: dict) -> None:
        """mmengine's save (through ``backend_args``), then
        ``last_checkpoint`` again, atomically; an ``OSError`` becomes one
        :class:`CheckpointSaveError` line."""
        path = osp.join(self.out_dir, self.filename_tmpl.format(step))
        with explained_save(runner, path):
            super()._save_checkpoint_with_step(runner, step, meta)
            if is_main_process():
                atomic_write(
                    osp.join(runner.work_dir, 'last_checkpoint'),
                    str(self.last_ckpt).encode())

    def before_run(self, runner) -> None:
        """Check or choose the checkpoint to resume from.

        ``Runner.train`` calls ``before_run`` before ``load_or_resume``;
        setting ``runner._load_from`` makes mmengine resume from that file.

        Args:
            runner (Runner): The runner.

        Raises:
            ResumeError: See the class.
        """
        if not runner._resume:
            return
        if runner._load_from is None:
            runner._load_from = self._newest_readable(runner)
        elif '://' not in str(runner._load_from):  # local files only
            self._check_requested(runner._load_from)

    def _folder(self, runner) -> str:
        """Where this hook saves (the rule of ``before_train``)."""
        if self.out_dir in (None, runner.work_dir):
            return runner.work_dir
        return osp.join(self.out_dir,
                        osp.basename(runner.work_dir.rstrip(osp.sep)))

    def _checkpoint_files(self, folder: str) -> List[str]:
        """The files of ``folder`` named like this hook's checkpoints
        (``filename_tmpl``), highest step first."""
        prefix, suffix = re.split(r'\{[^}]*\}', self.filename_tmpl)
        pattern = re.compile(re.escape(prefix) + r'(\d+)' + re.escape(suffix))
        steps = {}
        for name in os.listdir(folder) if osp.isdir(folder) else []:
            found = pattern.fullmatch(name)
            if found:
                steps[osp.join(folder, name)] = int(found.group(1))
        return sorted(steps, key=steps.get, reverse=True)

    def _newest_readable(self, runner) -> Optional[str]:
        """The file ``last_checkpoint`` names if it can be read, else the
        newest readable checkpoint; None when there is none at all."""
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        named = None
        if osp.isfile(pointer):
            with open(pointer) as f:
                named = f.read().strip()
            if not named:
                runner.logger.warning(f'{pointer} is empty; looking for '
                                      'checkpoints by their names')
        folder = osp.dirname(named) if named else self._folder(runner)
        candidates = list(
            dict.fromkeys(([named] if named else []) +
                          self._checkpoint_files(folder)))
        broken = []
        for path in candidates:
            error = _readable(path)
            if error is None:
                how = (f'the newest readable one ({len(broken)} newer '
                       'cannot be read)') if broken else 'the latest one'
                runner.logger.info(f'Resuming from checkpoint {path}, {how}.')
                return path
            runner.logger.warning(f'Cannot resume from {error}; skipped.')
            broken.append(str(error))
        if broken or osp.isfile(pointer):
            raise ResumeError(
                f'{runner.work_dir} has checkpoints but none can be read: '
                f'{"; ".join(broken) or "last_checkpoint is empty"}. Remove '
                'them to start from scratch, or pass --resume PATH')
        return None

    def _check_requested(self, path: str) -> None:
        """Raise :class:`ResumeError` if ``path`` cannot be read, naming the
        readable checkpoints beside it."""
        error = _readable(path)
        if error is None:
            return
        folder = osp.dirname(osp.abspath(path))
        others = [
            p for p in self._checkpoint_files(folder)
            if p != osp.abspath(path) and _readable(p) is None
        ]
        beside = ', '.join(others) or 'none'
        raise ResumeError(f'cannot resume from {error}; readable '
                          f'checkpoints beside it: {beside}')
