"""TensorFlow's first import without its C++ start-up lines; everything else it prints is kept.

``TF_CPP_MIN_LOG_LEVEL=3`` silences TensorFlow's C++ logging, but on CPUs where TensorFlow
turns oneDNN on, ``port.cc`` announces it before absl's logging is set up, so neither the
level nor anything else that TensorFlow reads stops the line (nor absl's warning that logs
come before ``InitializeLog``). So while ``tensorflow`` is first imported, file descriptor
2 is pointed at a temporary file; when the import ends, every captured line but the known
start-up ones is written to stderr. Nothing is lost: other threads' lines are only delayed
until the import ends. Only with the level at 3: a level the user chose shows everything.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import tempfile
from contextlib import contextmanager

START_UP_LINES = (
    "All log messages before absl::InitializeLog",
    "oneDNN custom operations are on",
    "cpu_feature_guard",
    "To enable the following instructions",
)


def without_start_up_lines(text: str) -> str:
    """``text`` without the lines that TensorFlow's start-up prints."""
    return "".join(line for line in text.splitlines(keepends=True) if not any(s in line for s in START_UP_LINES))


@contextmanager
def start_up_lines_dropped():
    """Capture what is written to file descriptor 2 meanwhile; replay all but the start-up lines."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = without_start_up_lines(capture.read().decode(errors="replace"))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """TensorFlow's own loader, its module run with the start-up lines dropped."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with start_up_lines_dropped():
            self.loader.exec_module(module)

    def __getattr__(self, name):  # resource readers and the like: TensorFlow's loader answers
        return getattr(self.loader, name)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` once, as Python would, and wraps its loader."""

    def find_spec(self, name, path, target=None):
        if name != "tensorflow":
            return None
        uninstall()
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def install() -> None:
    """Drop the start-up lines of this process's first ``import tensorflow``, wherever it
    happens, when the C++ log level is 3 (``TF_CPP_MIN_LOG_LEVEL``)."""
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "3":
        return
    if not any(isinstance(finder, _QuietFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())


def quiet_tensorflow() -> None:
    """TensorFlow's C++ log level at 3 unless the user set one, and its first import without the
    start-up lines that no level stops: for the command line and the worker processes."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    install()


def uninstall() -> None:
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _QuietFinder)]
