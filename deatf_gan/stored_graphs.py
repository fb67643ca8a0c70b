"""Opt-in: traced graphs kept on disk, so a new process loads a function instead of tracing it.

Off unless ``DEATF_GAN_STORED_GRAPHS=1``. This is the one module that uses TensorFlow's
private APIs (registering FunctionDefs in the eager context and executing them by name),
which may change with any TensorFlow release. Tracing the toy training function takes
seconds of Python in every process, and XLA's cache key holds the traced function's name,
which carries a process-wide counter: a process that had traced something else first got
another name and compiled again. A graph stored under names made from a key, the
argument shapes and the package's source is loaded by every later process under the
same names, so its XLA executable is found whatever ran before. The graph is the one
traced, so results are the same bits as without it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf
from tensorflow.core.framework import function_pb2
from tensorflow.python.eager import context, execute

from deatf_gan import xla_cache
from deatf_gan.atomic import write_atomic

logger = logging.getLogger(__name__)

SETTING = "DEATF_GAN_STORED_GRAPHS"


def enabled() -> bool:
    return os.environ.get(SETTING, "").lower() in ("1", "on", "true", "yes") and xla_cache.cache_directory() is not None


def load_or_store(function, args, key: str, signature: tuple) -> Callable | None:
    """What runs ``function`` for ``args``: the stored graph of ``key`` and ``signature`` if
    one is on disk, else the graph traced now and stored; None where it cannot stand alone."""
    path = xla_cache.cache_directory() / f"graph-{_digest(key, signature)}.pb"
    try:
        return StoredGraph.load(path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as error:
        logger.warning("tracing again: stored graph %s is unreadable (%s)", path, error)
    stored = StoredGraph.trace(function, args, path.stem)
    if stored is None:
        return None
    try:
        write_atomic(path, stored)
    except OSError as error:
        logger.warning("cannot store the traced graph in %s (%s)", path.parent, error)
    return StoredGraph.parse(stored)  # the bytes later processes load, so they compile alike


class StoredGraph:
    """A traced function stored as a library of FunctionDefs under stable names; called with
    the traced function's arguments (variables go in as their handles)."""

    HEADER = b"deatf-gan graph 1 "

    def __init__(self, library: function_pb2.FunctionDefLibrary, single_output: bool):
        self.single_output = single_output
        main = library.function[-1]  # the traced function itself; the rest are its loops' bodies
        self.name, self.outputs = main.signature.name, len(main.signature.output_arg)
        ctx = context.context()
        for definition in library.function:
            if not ctx.has_function(definition.signature.name):
                ctx.add_function_def(definition)

    def __call__(self, *args):
        inputs = [a.handle if isinstance(a, tf.Variable) else tf.convert_to_tensor(a) for a in tf.nest.flatten(args)]
        outputs = execute.execute(self.name, self.outputs, inputs, (), context.context())
        return outputs[0] if self.single_output else tuple(outputs)

    @classmethod
    def trace(cls, function, args, prefix: str) -> bytes | None:
        """Trace ``function`` for ``args`` and serialise it; None where the graph cannot stand
        alone (it captures outside tensors, or returns other than a tensor or a tuple of them)."""
        concrete = function.get_concrete_function(*args)
        outputs = concrete.structured_outputs
        single = isinstance(outputs, tf.Tensor)
        flat_tuple = isinstance(outputs, tuple) and all(isinstance(o, tf.Tensor) for o in outputs)
        if concrete.captured_inputs or not (single or flat_tuple):
            return None
        library = function_pb2.FunctionDefLibrary()
        library.function.extend(concrete.graph.as_graph_def().library.function)
        library.function.append(concrete.function_def)
        names = {f.signature.name: f"{prefix.replace('-', '_')}_{i}" for i, f in enumerate(library.function)}
        for definition in library.function:
            definition.signature.name = names[definition.signature.name]
            for attrs in [definition.attr] + [node.attr for node in definition.node_def]:
                for attr in attrs.values():  # references to other functions (loop bodies and conditions)
                    kind = attr.WhichOneof("value")
                    for reference in [attr.func] if kind == "func" else attr.list.func if kind == "list" else []:
                        reference.name = names.get(reference.name, reference.name)
        return cls.HEADER + (b"single" if single else b"tuple") + b"\n" + library.SerializeToString()

    @classmethod
    def parse(cls, data: bytes) -> StoredGraph:
        header, _, body = data.partition(b"\n")
        if not header.startswith(cls.HEADER):
            raise ValueError("not a stored graph")
        try:
            library = function_pb2.FunctionDefLibrary.FromString(body)
        except Exception as error:  # protobuf's DecodeError: a truncated file
            raise ValueError(f"a damaged stored graph ({error})") from None
        if not library.function:
            raise ValueError("an empty stored graph")
        return cls(library, header.endswith(b"single"))

    @classmethod
    def load(cls, path: Path) -> StoredGraph:
        return cls.parse(path.read_bytes())


def _digest(key: str, signature: tuple) -> str:
    return hashlib.sha256(f"{key} {signature} {tf.__version__} {_source_fingerprint()}".encode()).hexdigest()[:24]


@functools.lru_cache(maxsize=1)
def _source_fingerprint() -> str:
    """The package's source: a stored graph is what this code traced, so any change retraces."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
