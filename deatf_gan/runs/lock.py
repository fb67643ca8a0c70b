"""One writer per run directory: a lock the kernel releases when its holder dies.

``run`` and ``resume`` hold an ``flock`` on ``RUN_DIR/.lock``, a file that names the
holder's process id, for as long as they write the directory; a second one is refused
with that id instead of interleaving its generations with the first's. The lock is
advisory: ``inspect``, ``sample`` and ``plot`` only read, take none, and work during a run.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from deatf_gan.errors import ConfigError
from deatf_gan.runs.layout import LOCK

try:
    import fcntl
except ImportError:  # not a POSIX system
    fcntl = None

logger = logging.getLogger(__name__)


def make_directory(path: Path) -> None:
    """Create ``path`` and its parents; a file in its place, or a place where nothing can be
    written (a read-only folder, ``/proc``), is a ConfigError naming it."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{path}: exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"{path}: cannot create the run directory ({error.strerror or error})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{path}: the run directory is not writable")


class RunLock:
    """``with RunLock(directory):`` creates the directory if need be and holds its lock.

    A second holder, in this process or another, gets a ConfigError naming the first's
    process id. Release removes the file, so a finished run leaves no lock file behind.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.path = self.directory / LOCK
        self._descriptor: int | None = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    def acquire(self) -> None:
        make_directory(self.directory)
        if fcntl is None:
            logger.warning("this system has no flock: %s is not locked against a second run", self.directory)
            return
        try:
            descriptor = self._open_locked()
        except OSError as error:
            raise ConfigError(f"{self.directory}: cannot lock the run directory ({error.strerror or error})") from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        self._descriptor = descriptor

    def _open_locked(self) -> int:
        while True:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
                os.close(descriptor)
                raise ConfigError(
                    f"{self.directory}: in use by process {holder} (a run or resume holds its lock; "
                    "wait for it to finish or stop it)"
                ) from None
            # A holder releasing meanwhile removed the file this descriptor locked: lock the new one.
            if _same_file(descriptor, self.path):
                return descriptor
            os.close(descriptor)

    def release(self) -> None:
        if self._descriptor is None:
            return
        # Removed while still locked: a process that opened the old file sees it is gone and opens anew.
        self.path.unlink(missing_ok=True)
        os.close(self._descriptor)
        self._descriptor = None


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        here, there = os.fstat(descriptor), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
