"""Atomic file writes: readers see the old file or the new one, never half of one."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, then rename it
    into place, so a SIGKILL or a power cut leaves either the old file or the new one.

    The temporary name is unique per process and thread, so concurrent writers of the same
    path never share one; the last rename wins and every version is whole.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(temporary, "wb") as stream:
            stream.write(data.encode() if isinstance(data, str) else data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
