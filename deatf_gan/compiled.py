"""``tf.function`` as the project compiles it: XLA, no AutoGraph, traced once per shape even from several threads.

The project's compiled loops are explicit ``tf.while_loop``s, so AutoGraph would only
convert Python code for nothing (it was more than half of the batched evaluator's trace
time). Tracing is one thread at a time, so traced functions are named in the same order in
every process, which XLA's persistent cache (``deatf_gan.xla_cache``) needs to find a
function compiled by another process; compiling and running are not serialised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import tensorflow as tf

_TRACING_LOCK = threading.Lock()


class CompiledFunction:
    """``tf.function(function, jit_compile=...)``, traced once per argument signature under a
    lock; a signature that ``prepare`` traced with open dimensions serves every shape that
    fits it (XLA still compiles each shape once)."""

    def __init__(self, function: Callable, jit_compile: bool = True):
        self.function = tf.function(function, jit_compile=jit_compile, reduce_retracing=True, autograph=False)
        self.jit_compile = jit_compile
        self._traced: set[tuple | None] = set()  # argument signatures this function has a trace for

    def __call__(self, *args):
        if self.jit_compile:
            self._trace(args)
        return self.function(*args)

    def prepare(self, *specs) -> None:
        """Trace now for arguments of these ``tf.TensorSpec``s (not compiling yet). A process
        that prepares its functions in a fixed order before anything else names them alike
        in every run, whatever it trains first: XLA's disk cache then finds their code."""
        if self.jit_compile:
            self._trace(specs)

    def _trace(self, args) -> None:
        signature = _signature(args)
        if signature not in self._traced:
            with _TRACING_LOCK:  # threads arriving together trace it once, in one order
                self.function.get_concrete_function(*args)  # reuses a trace that fits
                self._traced.add(signature)


def _signature(args) -> tuple | None:
    """Shapes and dtypes of the arguments, or None where one is not a tensor, array, variable or spec."""
    signature = []
    for value in tf.nest.flatten(args):
        if not isinstance(value, (tf.Tensor, tf.Variable, np.ndarray, tf.TensorSpec)):
            return None
        signature.append((tuple(value.shape), value.dtype.name))
    return tuple(signature)
