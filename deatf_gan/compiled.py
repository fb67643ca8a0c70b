"""``tf.function`` as the project compiles it: XLA, no AutoGraph, traced once per shape even from several threads.

The project's compiled loops are explicit ``tf.while_loop``s, so AutoGraph would only
convert Python code for nothing (it was more than half of the batched evaluator's trace
time). Tracing is one thread at a time, so traced functions are named in the same order in
every process, which XLA's persistent cache (``deatf_gan.xla_cache``) needs to find a
function compiled by another process; compiling and running are not serialised.

Setting ``DEATF_GAN_STORED_GRAPHS=1`` also keeps traced graphs on disk
(``deatf_gan.stored_graphs``, which uses TensorFlow's private APIs), so later processes
skip tracing; results are the same bits either way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from deatf_gan import stored_graphs

_TRACING_LOCK = threading.Lock()


class CompiledFunction:
    """``tf.function(function, jit_compile=...)`` traced once per argument signature. With a
    ``key`` (what the function computes, e.g. its shapes) and stored graphs turned on,
    the traced graph of each signature is kept on disk for later processes; arguments must
    then be tensors, arrays or (nested tuples of) them."""

    def __init__(self, function: Callable, jit_compile: bool = True, key: str | None = None):
        self.function = tf.function(function, jit_compile=jit_compile, reduce_retracing=True, autograph=False)
        self.jit_compile = jit_compile
        self.key = key
        self._prepared: dict[tuple, Callable] = {}  # argument signature -> what runs it

    def __call__(self, *args):
        if not self.jit_compile:
            return self.function(*args)
        signature = _signature(args)
        run = self._prepared.get(signature)
        if run is None:
            with _TRACING_LOCK:  # threads arriving together trace it once
                run = self._prepared.get(signature)
                if run is None:
                    run = self._prepared[signature] = self._prepare(args, signature)
        return run(*args)

    def _prepare(self, args, signature: tuple | None) -> Callable:
        if self.key is not None and signature is not None and stored_graphs.enabled():
            stored = stored_graphs.load_or_store(self.function, args, self.key, signature)
            if stored is not None:
                return stored
        self.function.get_concrete_function(*args)
        return self.function


def _signature(args) -> tuple | None:
    """Shapes and dtypes of the arguments, or None where one is not a tensor, array or variable."""
    signature = []
    for value in tf.nest.flatten(args):
        if not isinstance(value, (tf.Tensor, tf.Variable, np.ndarray)):
            return None
        signature.append((tuple(value.shape), value.dtype.name))
    return tuple(signature)
