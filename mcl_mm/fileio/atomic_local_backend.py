# Copyright (c) mcl_mm contributors. All rights reserved.
"""Write local files so that a crash leaves the old file or the new one.

mmengine's ``LocalBackend.put`` opens the final name and writes into it: a
process killed mid-write, a full disk or data still in the page cache when
the machine goes down leaves a truncated checkpoint under its real name.
:func:`atomic_write` writes to a temporary file in the same folder, flushes
and fsyncs it, renames it over the final name (``os.replace``, atomic on
POSIX) and fsyncs the folder, so that the rename itself reaches the disk.
"""
import contextlib
import errno
import os
import os.path as osp
import secrets
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend


def _fsync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable. Filesystems that cannot sync a
    folder (EINVAL / ENOTSUP, e.g. some network mounts) are let be."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def atomic_write(path: Union[str, Path], data: bytes) -> None:
    """Write ``data`` to ``path`` all at once or not at all.

    The temporary file ``.{name}.{random}.tmp`` sits beside ``path`` (a
    rename across filesystems would not be atomic) and is removed when the
    write fails; a process killed outright leaves it behind, never a partial
    ``path``. The file gets the usual permissions (``0o666`` less the umask).

    Args:
        path (str | Path): The final file name; its folder is created.
        data (bytes): The whole content.
    """
    path = osp.abspath(path)
    folder, name = osp.split(path)
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, f'.{name}.{secrets.token_hex(4)}.tmp')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    _fsync_folder(folder)


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with :func:`atomic_write` for ``put``
    and ``put_text``; reading, listing and removing are ``LocalBackend``'s.

    Selected with ``backend_args=dict(backend='atomic_local')`` wherever
    mmengine takes ``backend_args`` (``CheckpointHook``,
    ``Runner.save_checkpoint``); :class:`SafeCheckpointHook` uses it by
    default.
    """

    name = 'atomic_local'

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically (see :func:`atomic_write`).

        Args:
            obj (bytes): Data to be written.
            filepath (str | Path): Path to write data.
        """
        atomic_write(filepath, obj)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically.

        Args:
            obj (str): Text to be written.
            filepath (str | Path): Path to write data.
            encoding (str): Its encoding. Defaults to 'utf-8'.
        """
        atomic_write(filepath, obj.encode(encoding))
