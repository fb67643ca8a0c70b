"""Map-like backends for a generation's evaluations: serial, local processes, Dask.

Every backend is a context manager whose ``map(function, jobs)`` returns the results in job
order, so the evolution driver only swaps ``map``. Jobs go in chunks of ``chunk_size``: a job
function with ``evaluate_chunk(jobs)`` (a batched evaluator) gets a whole chunk in one call.
``chunk_size`` None splits such a function's jobs over the workers (one chunk each): evenly
by count, or, where the function estimates each job's cost (``job_cost(job)``, any unit),
so that the chunks cost alike (a generation waits for its slowest chunk); other functions'
jobs are sent one by one.
The function goes to workers with cloudpickle, so an evaluation or a fitness defined in
``__main__``, a notebook or a file loaded by path reaches them too.

Results do not depend on the backend or the number of workers: the driver gives every
individual its own seed, and TensorFlow's CPU kernels return the same bits with one
intra-op thread (the workers) as with the default pool (serial, in the caller's process,
whose TensorFlow settings are left alone): measured, and checked by
``tests/test_executors.py``, which compares whole runs across the three backends.

A worker that dies (killed, out of memory) never hangs the run nor loses finished results:
its job is run again up to ``retries`` times and then comes back as a :class:`WorkerDied`
record, which the caller turns into what a failed job means to it. An exception raised by
a job function is not a death: it propagates (an evaluation catches its own errors), and it
is never retried. A chunk that runs past its time limit (``time_limit`` seconds per job)
ends its worker, as no thread can stop a running TensorFlow call, and comes back as a
:class:`TimedOut` record per job, never run again; the other chunks go on. Only worker
processes can be stopped this way: the serial executor has no time limit.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import current_process, parent_process
from multiprocessing.context import SpawnContext, SpawnProcess

import cloudpickle

from deatf_gan import quiet_start
from deatf_gan.config import ExecutorConfig
from deatf_gan.errors import ConfigError, RunAborted

logger = logging.getLogger(__name__)

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")
_configured = False


@dataclass(frozen=True)
class WorkerDied:
    """The result of a job whose worker died more than ``retries`` times: ``deaths`` in all."""

    deaths: int

    def __str__(self) -> str:
        return f"worker died {self.deaths} times"


@dataclass(frozen=True)
class TimedOut:
    """The result of a job whose chunk ran past its time limit of ``seconds``."""

    seconds: float

    def __str__(self) -> str:
        return f"timed out after {self.seconds:g} s (evaluation.timeout_s per individual)"


TIMED_OUT_EXIT = 124  # a worker that ends itself at its time limit exits with this code (as timeout(1) does)
UNGUARDED_MAIN_EXIT = 86  # a worker whose start re-ran a script's unguarded run exits with this code
UNGUARDED_MAIN = (
    "the worker processes could not start: they start with 'spawn', which imports your script again in each"
    ' worker, and your script starts the run on import; put the code that runs it under if __name__ == "__main__":'
)


# --- worker processes: set-up on start, exit with the driver -------------------------------


def configure_worker(threads: int = 1) -> None:
    """Worker set-up, once per process: ``threads`` per TensorFlow pool, GPU memory on demand.

    Sized pools keep ``workers`` processes on as many cores from oversubscribing them, and
    memory grown on demand lets them share a GPU (by default TensorFlow's first process
    takes nearly all of it). Only worker processes call this; the caller's process keeps
    its settings. XLA's compiled-function cache is turned on
    first (``xla_cache.enable``): the thread settings make TensorFlow read its XLA flags, and
    a flag set after that is ignored for the life of the process.

    TensorFlow's pools can only be sized before its first operation; a process that already
    ran TensorFlow (a shared Dask worker) keeps its pools. The environment variables reach
    native libraries loaded later (NumPy's BLAS is loaded already and barely used here).
    """
    global _configured
    if _configured:
        return
    _configured = True
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(threads)
    # Every worker would log the same start-up lines, and loading compiled code from XLA's disk
    # cache logs an ERROR line per function that means nothing (the loader tries the text format
    # before the binary one); a real failure still raises, and is recorded with the individual.
    quiet_start.quiet_tensorflow()
    import tensorflow as tf

    from deatf_gan import xla_cache

    xla_cache.enable()

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
    except RuntimeError as error:
        logger.warning("worker %d keeps TensorFlow's thread and GPU settings (%s)", os.getpid(), error)


def _start_pool_worker() -> None:
    """Pool initializer: size the thread pools, and exit when the driver does. A worker holds
    both ends of its task pipe, so a driver killed with SIGKILL would leave it waiting forever.
    A worker that is told to stop skips the interpreter's teardown, which with TensorFlow
    loaded takes about a second that the driver would wait (its results are sent by then)."""
    configure_worker()
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    atexit.register(_exit_at_once)


def _exit_with_parent() -> None:
    parent_process().join()  # returns once the driver process has ended
    os._exit(1)


def _exit_at_once() -> None:
    """Flush and leave. Registered once TensorFlow is loaded, and exit handlers run
    last-registered first: handlers an evaluation registers still run, TensorFlow's do not."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


# --- running chunks ----------------------------------------------------------------------------


def evaluate_chunk(function: Callable, chunk: Sequence) -> list:
    """One unit of work: in one call where the function takes whole chunks (a batched
    evaluator's ``evaluate_chunk(jobs)``), else job by job."""
    whole = getattr(function, "evaluate_chunk", None)
    return list(whole(chunk)) if whole is not None else [function(job) for job in chunk]


def run_chunk(payload: bytes, chunk: Sequence, time_limit: float | None = None) -> list:
    """One unit of work in a worker, the function cloudpickled. Past ``time_limit`` seconds
    the worker process ends itself: the driver sees the death and, from the time, why."""
    configure_worker()
    watchdog = threading.Timer(time_limit, os._exit, (TIMED_OUT_EXIT,)) if time_limit else None
    if watchdog is not None:
        watchdog.daemon = True
        watchdog.start()
    try:
        return evaluate_chunk(cloudpickle.loads(payload), chunk)
    finally:
        if watchdog is not None:
            watchdog.cancel()


def _ready() -> int:
    time.sleep(0.5)  # long enough that each of a batch of these lands on a different worker
    return os.getpid()


class Executor:
    """A ``map`` that may hold workers: enter it once per run, leave it to stop them."""

    workers = 1

    def __init__(self, chunk_size: int | None = None):
        self.chunk_size = chunk_size

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None: ...

    def start(self) -> None:
        """Start every worker now (spawn, import TensorFlow) instead of on first use."""

    def map(self, function: Callable, jobs) -> Iterator:
        """Results in job order, each as soon as it and those before it are done."""
        jobs = list(jobs)
        groups = self._chunk_indices(function, jobs)
        return _in_order(self._finished(function, [[jobs[i] for i in group] for group in groups]), groups)

    def _chunk_indices(self, function: Callable, jobs: list) -> list[list[int]]:
        """The job indices of each chunk: consecutive runs of ``chunk_size`` (or of the
        automatic size), or, for one chunk per worker of a function whose ``job_cost(job)``
        estimates every job, balanced chunks: jobs dealt dearest first, each to the chunk
        that costs least so far."""
        size = self.chunk_size or self.automatic_chunk_size(function, len(jobs))
        consecutive = [list(range(i, min(i + size, len(jobs)))) for i in range(0, len(jobs), size)]
        cost = getattr(function, "job_cost", None)
        count = len(consecutive)
        if self.chunk_size or cost is None or count < 2 or getattr(function, "evaluate_chunk", None) is None:
            return consecutive
        costs = [cost(job) for job in jobs]
        if any(c is None for c in costs):
            return consecutive
        groups: list[list[int]] = [[] for _ in range(count)]
        totals = [0.0] * count
        for index in sorted(range(len(jobs)), key=lambda i: -costs[i]):
            cheapest = totals.index(min(totals))
            groups[cheapest].append(index)
            totals[cheapest] += costs[index]
        return [sorted(group) for group in groups if group]

    def automatic_chunk_size(self, function: Callable, jobs: int) -> int:
        """One chunk per worker for a function that takes whole chunks, else single jobs."""
        if getattr(function, "evaluate_chunk", None) is None:
            return 1
        return max(1, -(-jobs // self.workers))

    def _finished(self, function: Callable, chunks: list[list]) -> Iterator[tuple[int, list]]:
        """``(chunk index, results)`` for every chunk, in the order they finish."""
        raise NotImplementedError


class SerialExecutor(Executor):
    """Evaluations one after another in this process: no start-up, any callable works."""

    def _finished(self, function: Callable, chunks: list[list]) -> Iterator[tuple[int, list]]:
        for index, chunk in enumerate(chunks):
            yield index, evaluate_chunk(function, chunk)


def _in_order(finished: Iterator[tuple[int, list]], groups: list[list[int]]) -> Iterator:
    """Flatten ``(chunk index, results)`` pairs that arrive in any order into job order;
    ``groups[c]`` holds chunk ``c``'s job indices."""
    held: dict[int, object] = {}
    next_job = 0
    try:
        for index, results in finished:
            held.update(zip(groups[index], results))
            while next_job in held:
                yield held.pop(next_job)
                next_job += 1
    finally:
        finished.close()


class _WorkerExecutor(Executor):
    """Sends chunks of jobs to worker processes; subclasses say how and what a death costs."""

    def __init__(self, workers: int, retries: int, chunk_size: int | None = None, time_limit: float | None = None):
        super().__init__(chunk_size)
        self.workers = workers
        self.retries = retries
        self.time_limit = time_limit  # seconds per job; a chunk of n jobs gets n times as long

    def _chunk_limit(self, chunk: list) -> float | None:
        return self.time_limit * len(chunk) if self.time_limit else None

    def _timed_out(self, chunk: list, started: float) -> bool:
        """Whether a chunk whose worker died had run past its limit (its watchdog ended it)."""
        limit = self._chunk_limit(chunk)
        return limit is not None and time.monotonic() - started >= limit

    def _give_up_timed_out(self, chunk: list) -> list[TimedOut]:
        logger.warning(
            "a chunk of %d job(s) ran past its limit of %g s; failing it", len(chunk), self._chunk_limit(chunk)
        )
        return [TimedOut(self.time_limit) for _ in chunk]

    @staticmethod
    def _worker_died(deaths: int, chunk: list) -> list[WorkerDied]:
        logger.warning("a chunk of %d job(s) killed its worker %d times; giving it up", len(chunk), deaths)
        return [WorkerDied(deaths) for _ in chunk]


NO_MAIN_FILE = (
    "the worker processes cannot start: they start with 'spawn', which imports the main script again in each"
    ' worker from its file, and {file} is none; save the code as a script (under if __name__ == "__main__":)'
    " or use executor.kind: serial"
)


def _main_file_missing() -> str | None:
    """The ``__file__`` of a ``__main__`` that spawned workers would fail to import (code piped
    to ``python -`` is ``<stdin>``), else None. A module run with ``-m``, ``-c`` code and
    notebooks have no such file to import, and spawn does not try."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or getattr(main, "__spec__", None) is not None or os.path.exists(path):
        return None
    return path


def _starting_a_worker() -> bool:
    """Whether this process is a spawned worker still importing its parent's ``__main__``
    (the ``_inheriting`` flag multiprocessing itself checks before it refuses to start a
    process, with a traceback per worker and per retry; ``parent_process()`` is not yet set
    at that point)."""
    return bool(getattr(current_process(), "_inheriting", False))


class _WatchedSpawnContext(SpawnContext):
    """The spawn start method, keeping the processes it starts so that a broken pool can
    tell a script without a ``__main__`` guard (:data:`UNGUARDED_MAIN_EXIT`) from a death."""

    def __init__(self):
        super().__init__()
        self.processes: list[SpawnProcess] = []

    def Process(self, *args, **kwargs) -> SpawnProcess:  # noqa: N802 - the name multiprocessing calls
        process = SpawnProcess(*args, **kwargs)
        self.processes.append(process)
        return process

    def unguarded_main(self) -> bool:
        """Asked of a broken pool, whose workers are all ending (it terminates them): a dead
        worker's exit code can lag its pipe's closing, so each is waited for, briefly."""
        for process in self.processes:
            if process.pid is not None:
                process.join(timeout=5)
        return any(process.exitcode == UNGUARDED_MAIN_EXIT for process in self.processes)


class ProcessExecutor(_WorkerExecutor):
    """Local worker processes (``spawn``, one TensorFlow thread each) via ``concurrent.futures``.

    Unlike ``multiprocessing.Pool``, which hangs when a worker dies, a broken pool raises
    ``BrokenProcessPool``; the pool is then rebuilt and the unfinished chunks are sent again.
    The pool cannot tell which chunk killed it, so every chunk in flight counts the death and
    is then run alone, where a death is its own: an innocent chunk is never failed for
    sharing a pool with a culprit, and a culprit fails once it has died more than ``retries``
    times, the last time alone. At most ``workers`` chunks are in flight, so "in flight"
    means "running".
    """

    _pool: ProcessPoolExecutor | None = None
    _context: _WatchedSpawnContext | None = None

    @property
    def pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            if _starting_a_worker():  # a script without a __main__ guard, imported again in a worker
                raise SystemExit(UNGUARDED_MAIN_EXIT)
            missing = _main_file_missing()
            if missing is not None:
                raise RunAborted(NO_MAIN_FILE.format(file=missing))
            self._context = _WatchedSpawnContext()
            self._pool = ProcessPoolExecutor(self.workers, mp_context=self._context, initializer=_start_pool_worker)
        return self._pool

    def _broken(self) -> None:
        """A worker died: abort the run in one line when it was a worker that could not start
        for want of a ``__main__`` guard (every worker would die the same way), else go on."""
        if self._context is not None and self._context.unguarded_main():
            self.close()
            raise RunAborted(UNGUARDED_MAIN)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def start(self) -> None:
        started: set[int] = set()
        for _ in range(10):  # the pool spawns a worker per submit while none is idle
            futures = [self.pool.submit(_ready) for _ in range(self.workers)]
            try:
                started.update([future.result() for future in futures])
            except BrokenProcessPool:
                self._broken()
                raise
            if len(started) >= self.workers:
                return

    def _finished(self, function: Callable, chunks: list[list]) -> Iterator[tuple[int, list]]:
        payload = cloudpickle.dumps(function)
        deaths = [0] * len(chunks)
        waiting, suspects = deque(range(len(chunks))), deque()
        running: dict = {}  # future -> chunk index
        started: dict = {}  # future -> when it was submitted (at most ``workers`` run: submitted is running)

        def submit(index: int) -> None:
            try:
                future = self.pool.submit(run_chunk, payload, chunks[index], self._chunk_limit(chunks[index]))
            except BrokenProcessPool:  # broke between two submits: say why if it is the guard
                self._broken()
                raise
            running[future], started[future] = index, time.monotonic()

        try:
            while waiting or suspects or running:
                if suspects and not running:
                    submit(suspects.popleft())
                isolating = any(deaths[index] for index in running.values())
                while waiting and not suspects and not isolating and len(running) < self.workers:
                    submit(waiting.popleft())
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                if not any(isinstance(future.exception(), BrokenProcessPool) for future in done):
                    for future in done:
                        yield running.pop(future), future.result()  # an error that aborts the run propagates
                    continue
                self._broken()
                self.close()  # a worker died: the broken pool settles every future it held
                in_flight = [(index, future, started[future]) for future, index in running.items()]
                running.clear()
                yield from self._settle(in_flight, chunks, deaths, waiting, suspects)
        finally:
            for future in running:
                future.cancel()

    def _settle(self, in_flight, chunks, deaths, waiting, suspects) -> Iterator[tuple[int, list]]:
        """The chunks a broken pool held: finished ones are yielded; one past its time limit
        fails (the others were innocent and go back in the queue); without one, every
        unfinished chunk counts the death and runs again alone, or fails once it has died
        more than ``retries`` times alone."""
        culprits = {
            index
            for index, future, began in in_flight
            if future.exception() is not None and self._timed_out(chunks[index], began)
        }
        alone = len(in_flight) == 1
        for index, future, _ in in_flight:
            if future.exception() is None:  # finished before the pool broke
                yield index, future.result()
                continue
            if culprits:
                if index in culprits:
                    yield index, self._give_up_timed_out(chunks[index])
                else:
                    waiting.appendleft(index)
                continue
            deaths[index] += 1
            if alone and deaths[index] > self.retries:
                yield index, self._worker_died(deaths[index], chunks[index])
            else:
                logger.warning(
                    "a worker died (chunk %d, death %d); running the chunk again alone", index, deaths[index]
                )
                suspects.append(index)


class DaskExecutor(_WorkerExecutor):
    """A Dask cluster: a ``LocalCluster`` of ``workers`` one-thread processes on loopback, or
    the scheduler at ``address``. Deaths are Dask's business: the scheduler reruns a task
    whose worker died until it has killed ``allowed-failures`` + 1 workers, then raises
    ``KilledWorker``, which becomes a :class:`WorkerDied` record per job. The local cluster sets
    ``allowed-failures`` to ``retries``; a remote scheduler keeps its own
    ``distributed.scheduler.allowed-failures``. ``retries`` also goes to ``client.submit``,
    for errors a task raises outside the evaluation.

    Dask counts a death against every task assigned to the dead worker, running or queued,
    so no more tasks are submitted than the cluster has threads: each worker then holds the
    one it runs. Each result is fetched as soon as it is ready and released on the cluster,
    since a result left in a dead worker's memory would be computed again.
    """

    def __init__(
        self,
        workers: int,
        address: str | None,
        retries: int,
        chunk_size: int | None = None,
        time_limit: float | None = None,
    ):
        super().__init__(workers, retries, chunk_size, time_limit)
        try:
            import distributed
        except ImportError:
            raise ConfigError("executor.kind: dask needs Dask: pip install 'deatf_gan[dask]'") from None
        self.cluster = None
        if address is None:
            self.cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                scheduler_kwargs={"allowed_failures": retries},
            )
        try:
            self.client = distributed.Client(self.cluster if self.cluster is not None else address)
        except OSError as error:
            raise ConfigError(f"executor.address: no Dask scheduler answers at {address} ({error})") from None

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def start(self) -> None:
        if self.cluster is not None:
            self.client.wait_for_workers(self.workers)
        self.client.run(configure_worker)

    def _finished(self, function: Callable, chunks: list[list]) -> Iterator[tuple[int, list]]:
        from distributed import KilledWorker, as_completed

        payload = cloudpickle.dumps(function)
        waiting = deque(range(len(chunks)))
        running: dict = {}  # future -> chunk index
        started: dict = {}  # chunk index -> when it was submitted
        completed = as_completed()

        def submit_more() -> None:
            threads = sum(self.client.nthreads().values())
            while waiting and len(running) < max(threads, 1):
                index = waiting.popleft()
                limit = self._chunk_limit(chunks[index])
                future = self.client.submit(run_chunk, payload, chunks[index], limit, retries=self.retries, pure=False)
                running[future], started[index] = index, time.monotonic()
                completed.add(future)

        try:
            submit_more()
            for future in completed:
                index = running.pop(future)
                try:
                    results = future.result()  # an error that aborts the run propagates
                except KilledWorker as error:  # Dask ran it again after each death, a timed-out one too
                    if self._timed_out(chunks[index], started[index]):
                        results = self._give_up_timed_out(chunks[index])
                    else:
                        results = self._worker_died(error.allowed_failures + 1, chunks[index])
                future.release()
                submit_more()
                yield index, results
        finally:
            self.client.cancel(list(running))


def worker_processes(config: ExecutorConfig) -> int:
    """How many worker processes the config starts: none for ``serial``; ``workers: null``
    means one per core."""
    return 0 if config.kind == "serial" else config.workers or os.cpu_count() or 1


def make_executor(config: ExecutorConfig, time_limit: float | None = None) -> Executor:
    """The backend the config names; ``workers: null`` means one per core; ``time_limit``
    (seconds per job) holds for worker processes only."""
    if config.kind == "serial":
        return SerialExecutor(config.chunk_size)
    workers = worker_processes(config)
    if config.kind == "processes":
        return ProcessExecutor(workers, config.retries, config.chunk_size, time_limit)
    return DaskExecutor(workers, config.address, config.retries, config.chunk_size, time_limit)
