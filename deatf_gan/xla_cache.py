"""XLA's own persistent cache of compiled functions, turned on explicitly, without TensorFlow.

The batched evaluator compiles one training function per superset shape, and every
process would pay it again: each worker of a run, each run, each resume. TensorFlow keeps
compiled XLA executables in a folder when told to by its documented flag
(``TF_XLA_FLAGS=--tf_xla_persistent_cache_directory=...``); a later process that meets the
same function (same HLO, checked by fingerprint) loads it instead of compiling.

The folder is ``~/.cache/deatf_gan/xla-<TensorFlow version>-<CPU fingerprint>``: an
executable is compiled for the CPU features of its machine, so machines that share a home
directory but not a CPU model never load each other's code. ``DEATF_GAN_XLA_CACHE=off``
turns the cache off, any other value names the folder; a ``TF_XLA_FLAGS`` that already
names a cache folder is left alone. Deleting the folder is always safe, and results are
the same with the cache on or off.

Nothing happens on import: ``enable()`` must run before the process's first XLA
compilation (TensorFlow reads ``TF_XLA_FLAGS`` then), so worker processes call it as they
start, and processes they start inherit it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import platform
from pathlib import Path

logger = logging.getLogger(__name__)

SETTING = "DEATF_GAN_XLA_CACHE"
LIMIT_BYTES = 1 << 30  # beyond this the oldest compiled functions are deleted (each is 0.5-4 MB)
_FLAG = "--tf_xla_persistent_cache_directory"


def _tensorflow_version() -> str:
    for distribution in ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tf-nightly"):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def _cpu_fingerprint() -> str:
    try:
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), "")
    except OSError:
        flags = platform.processor()
    return hashlib.sha256(f"{platform.machine()} {flags}".encode()).hexdigest()[:12]


def cache_directory() -> Path | None:
    """The folder compiled functions go to, or None where the cache is turned off."""
    setting = os.environ.get(SETTING, "")
    if setting.lower() in ("off", "0", "false", "no"):
        return None
    if setting:
        return Path(setting).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "deatf_gan" / f"xla-{_tensorflow_version()}-{_cpu_fingerprint()}"


def enable() -> Path | None:
    """Point XLA at the cache folder (this process and those it starts later); returns the
    folder, or None where the cache is off, already set by the user, or not writable."""
    flags = os.environ.get("TF_XLA_FLAGS", "")
    directory = cache_directory()
    if _FLAG in flags or directory is None:
        return None
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        logger.warning("XLA's compile cache is off: cannot create %s (%s)", directory, error)
        return None
    prune(directory)
    os.environ["TF_XLA_FLAGS"] = f"{flags} {_FLAG}={directory}".strip()
    return directory


def prune(directory: Path, limit: int = LIMIT_BYTES) -> list[Path]:
    """Delete the oldest files until the folder holds at most ``limit`` bytes; returns them.
    The cache only ever grows otherwise: every new search-space shape adds compiled functions."""
    try:
        files = sorted((f for f in directory.iterdir() if f.is_file()), key=lambda f: f.stat().st_mtime, reverse=True)
        kept, removed = 0, []
        for file in files:
            kept += file.stat().st_size
            if kept > limit:
                file.unlink(missing_ok=True)
                removed.append(file)
    except OSError as error:  # another process pruning at the same time, or a read-only folder
        logger.info("not pruning %s now (%s)", directory, error)
        return []
    return removed
