"""XLA's compiled functions kept on disk, so that a new process loads them instead of compiling.

The batched evaluator compiles one training function per superset shape, 10-25 s on a
2-core machine, and every process pays it again: each worker of a run, each run, each
resume. TensorFlow can keep compiled XLA executables in a folder
(``TF_XLA_FLAGS=--tf_xla_persistent_cache_directory=...``); a process that meets the same
function (same HLO, checked by fingerprint) loads it in about a second instead.

The folder is ``~/.cache/deatf_gan/xla-<TensorFlow version>-<CPU fingerprint>``: an
executable is compiled for the CPU features of its machine, so machines that share a home
directory but not a CPU model never load each other's code. ``DEATF_GAN_XLA_CACHE=off``
turns the cache off, any other value names the folder; a ``TF_XLA_FLAGS`` that already
names a cache folder is left alone. Deleting the folder is always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf

SETTING = "DEATF_GAN_XLA_CACHE"
LIMIT_BYTES = 1 << 30  # beyond this the oldest compiled functions are deleted (each is 0.5-4 MB)
_FLAG = "--tf_xla_persistent_cache_directory"


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
    return base / "deatf_gan" / f"xla-{tf.__version__}-{_cpu_fingerprint()}"


def enable() -> Path | None:
    """Point XLA at the cache folder; works until the process's first XLA compilation
    (TensorFlow reads ``TF_XLA_FLAGS`` then), and worker processes started later inherit it."""
    flags = os.environ.get("TF_XLA_FLAGS", "")
    directory = cache_directory()
    if _FLAG in flags or directory is None:
        return None
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home: compile every time, as without the cache
    prune(directory)
    os.environ["TF_XLA_FLAGS"] = f"{flags} {_FLAG}={directory}".strip()
    return directory


def prune(directory: Path, limit: int = LIMIT_BYTES) -> list[Path]:
    """Delete the oldest files until the folder holds at most ``limit`` bytes; returns them.
    The cache only ever grows otherwise: a function traced in another order gets a new key."""
    try:
        files = sorted((f for f in directory.iterdir() if f.is_file()), key=lambda f: f.stat().st_mtime, reverse=True)
        kept, removed = 0, []
        for file in files:
            kept += file.stat().st_size
            if kept > limit:
                file.unlink(missing_ok=True)
                removed.append(file)
    except OSError:
        return []  # another process pruning at the same time, or a read-only folder: try next time
    return removed


_HIDING_LOCK = threading.Lock()
_hiding = {"threads": 0, "saved": -1}  # how many threads hide stderr now, and the real stderr meanwhile


@contextlib.contextmanager
def native_stderr_hidden():
    """Hide what native code writes to stderr meanwhile. Loading a cached executable logs
    three ERROR lines that mean nothing here (the loader tries the text format before the
    binary one; tuning-only CPU features read as missing ones); a real failure still
    raises a Python exception, which is not affected. Threads may overlap: stderr comes back
    when the last one leaves."""
    with _HIDING_LOCK:
        if _hiding["threads"] == 0:
            sys.stderr.flush()
            _hiding["saved"] = os.dup(2)
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 2)
        _hiding["threads"] += 1
    try:
        yield
    finally:
        with _HIDING_LOCK:
            _hiding["threads"] -= 1
            if _hiding["threads"] == 0:
                os.dup2(_hiding["saved"], 2)
                os.close(_hiding["saved"])


_TRACING_LOCK = threading.Lock()


class CompiledFunction:
    """``tf.function(function)``, with XLA if asked; its first call compiles it or loads it
    from the disk cache, with the loader's meaningless log lines hidden. Without AutoGraph:
    the project's compiled loops are explicit ``tf.while_loop``s, and converting the Python
    code was more than half of the batched evaluator's trace (toy superset: 6.4 s, 2.5 s
    without). Threads may call it; tracing is one thread at a time (compiling is not), so
    traced functions are named in one order and the disk cache finds them again."""

    def __init__(self, function: Callable, jit_compile: bool = True):
        self.function = tf.function(function, jit_compile=jit_compile, reduce_retracing=True, autograph=False)
        self.ready = not jit_compile

    def __call__(self, *args):
        if self.ready:
            return self.function(*args)
        with _TRACING_LOCK:
            self.function.get_concrete_function(*args)
        with native_stderr_hidden():
            result = self.function(*args)
        self.ready = True
        return result
