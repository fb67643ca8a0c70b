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

The traced graphs are kept there too (``graph-*.pb``). Tracing the toy training function
takes 1.7-3.5 s of Python in every process, and XLA's cache key holds the traced function's
name, which carries a process-wide counter: a process that had traced something else
first got a new name, missed the cache and compiled again. A ``CompiledFunction`` given a
``key`` stores its graph under names made from that key, the argument shapes and the
package's source, and every later process loads it (a few hundredths of a second) under
the same names, so its XLA executable is found whatever ran before.

A loaded graph is still lowered to XLA (tf2xla) in every process before the cache can find
its executable: about 1.5 s for the toy training graph. So where the function reads no
variable, what is stored is a call (``XlaCallModule``) of its StableHLO module, converted
once when it is traced; later processes reach the executable in a few tenths of a second.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import platform
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.compiler.mlir.stablehlo import stablehlo
from tensorflow.compiler.mlir.tensorflow_to_stablehlo.python.pywrap_tensorflow_to_stablehlo import tensorflow_module_to_stablehlo
from tensorflow.compiler.tf2xla.python import xla
from tensorflow.core.framework import function_pb2
from tensorflow.python.eager import context, execute

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
    The cache only ever grows otherwise: every change of the package's source or of a
    search space's shapes adds new graphs and compiled functions."""
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
    traced functions are named in one order.

    With a ``key`` (what the function computes, e.g. its shapes) and XLA, the traced graph
    of each argument signature is kept on disk (``StoredGraph``): later processes load it
    instead of tracing, and find its XLA executable under the same names. Arguments must
    then be tensors, arrays or variables (lists and tuples of them)."""

    def __init__(self, function: Callable, jit_compile: bool = True, key: str | None = None, stablehlo: bool = True):
        self.function = tf.function(function, jit_compile=jit_compile, reduce_retracing=True, autograph=False)
        self.jit_compile = jit_compile
        self.key = key
        self.stablehlo = stablehlo  # store a pure function as one StableHLO module (_as_stablehlo_call)
        self._prepared: dict[tuple, Callable] = {}  # argument signature -> what runs it (traced or loaded)
        self._compiled: dict[tuple, Callable] = {}  # the same, once its first call has compiled it

    def __call__(self, *args):
        if not self.jit_compile:
            return self.function(*args)
        signature = _signature(args)
        run = self._compiled.get(signature)
        if run is not None:
            return run(*args)
        with _TRACING_LOCK:  # lanes arriving together prepare it once
            run = self._prepared.get(signature)
            if run is None:
                run = self._prepared[signature] = self._prepare(args, signature)
        with native_stderr_hidden():
            result = run(*args)  # compiles, or loads from the disk cache
        self._compiled[signature] = run
        return result

    def _prepare(self, args, signature: tuple) -> Callable:
        directory = cache_directory()
        if self.key is None or directory is None or signature is None:
            self.function.get_concrete_function(*args)
            return self.function
        path = directory / f"graph-{_digest(self.key, signature)}.pb"
        try:
            return StoredGraph.load(path)
        except (OSError, ValueError):
            pass  # not stored yet (or unreadable): trace and store
        stored = StoredGraph.trace(self.function, args, path.stem, self.stablehlo)
        if stored is None:
            return self.function
        try:
            _write_atomically(path, stored)
        except OSError:
            pass  # a read-only cache: this process still runs the stored-name graph
        return StoredGraph.parse(stored)  # the bytes later processes load (unless another tracer's win), so they compile alike


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
    def trace(cls, function, args, prefix: str, stablehlo: bool = True) -> bytes | None:
        """Trace ``function`` for ``args`` and serialise it (with ``stablehlo``, as a call of its
        StableHLO module where it converts); None where the graph cannot stand alone (it
        captures outside tensors, or returns other than a tensor or a tuple of them)."""
        concrete = function.get_concrete_function(*args)
        outputs = concrete.structured_outputs
        single = isinstance(outputs, tf.Tensor)
        if concrete.captured_inputs or not (single or (isinstance(outputs, tuple) and all(isinstance(o, tf.Tensor) for o in outputs))):
            return None
        portable = _as_stablehlo_call(concrete, single) if stablehlo else None
        if portable is not None:
            concrete = portable.get_concrete_function(*[tf.TensorSpec(t.shape, t.dtype) for t in concrete.inputs])
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
        except Exception as error:  # noqa: BLE001 - protobuf's DecodeError: a truncated file
            raise ValueError(f"a damaged stored graph ({error})") from None
        if not library.function:
            raise ValueError("an empty stored graph")
        return cls(library, header.endswith(b"single"))

    @classmethod
    def load(cls, path: Path) -> StoredGraph:
        return cls.parse(path.read_bytes())


def _as_stablehlo_call(concrete, single: bool):
    """A jit function of the same flat arguments that runs ``concrete`` as one StableHLO
    module (an ``XlaCallModule`` op), or None where ``concrete`` reads variables or does not
    convert. Why: a process that loads a stored graph still lowers it to XLA before the disk
    cache can find its executable, and for the toy training graph (4,600 nodes) that
    lowering took about 1.5 s in every worker of every run; the module is already lowered,
    and reaching its cached executable took about 0.3 s (measured, 2-core machine)."""
    if any(t.dtype == tf.resource for t in concrete.inputs):
        return None
    try:
        module = tf.mlir.experimental.convert_function(concrete)
        shapes = ":".join(",".join(str(d) for d in t.shape) for t in concrete.inputs)
        lowered = tensorflow_module_to_stablehlo(module, shapes)
        artifact = stablehlo.serialize_portable_artifact_str(lowered, stablehlo.get_current_version())
    except Exception:  # noqa: BLE001 - an op without a lowering, say: the graph itself still runs
        return None
    results = concrete.outputs
    shapes, dtypes = [r.shape for r in results], [r.dtype for r in results]

    def call(*flat):
        outputs = xla.call_module(
            list(flat), version=xla.call_module_maximum_supported_version(), module=artifact, Sout=shapes, Tout=dtypes,
            platforms=["CPU"], disabled_checks=[xla.call_module_disable_check_platform()],  # the module suits any device
        )
        return outputs[0] if single else tuple(outputs)

    return tf.function(call, jit_compile=True, autograph=False)


def _write_atomically(path: Path, data: bytes) -> None:
    """Processes that miss at the same time each write a whole file and the last one stays
    (their traces may differ in names, so at most one of them compiles once more); none
    reads a partial file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _signature(args) -> tuple | None:
    """Shapes and dtypes of the arguments, or None where one is not a tensor, array or variable."""
    signature = []
    for value in tf.nest.flatten(args):
        if not isinstance(value, (tf.Tensor, tf.Variable, np.ndarray)):
            return None
        signature.append((tuple(value.shape), value.dtype.name))
    return tuple(signature)


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
