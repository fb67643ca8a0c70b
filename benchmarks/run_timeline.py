"""Where a run's wall-clock time goes, per process: a timeline of one ``deatf-gan run``.

    python benchmarks/run_timeline.py configs/gaussian_1d.yaml --out runs/timeline --overwrite

Runs the command line's ``deatf-gan run`` in this process, with the steps that matter timed
(importing the package, each chunk a worker evaluates, the compiled calls inside it, the
judge, the hall-of-fame models a worker makes, the driver's run-directory update after
each generation), then prints every process's events in order, in seconds
from the start. Worker processes are started with ``spawn``, which runs this file again as
``__mp_main__``: they time the same steps, and write to the same event file.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import time
from pathlib import Path

START = float(os.environ.setdefault("DEATF_GAN_TIMELINE_START", repr(time.time())))
EVENTS = Path(
    os.environ.setdefault("DEATF_GAN_TIMELINE_EVENTS", f"{tempfile.gettempdir()}/deatf-gan-timeline-{os.getpid()}.log")
)


def record(event: str) -> None:
    with open(EVENTS, "a") as stream:  # one short line per write: processes do not interleave
        stream.write(f"{time.time() - START:.2f}\t{os.getpid()}\t{event}\n")


record("process started")
# Imported after the first event, so that the import is timed. The driver imports no
# TensorFlow (it evaluates in workers); the workers import the modules that train.
from deatf_gan import cli, runs

WORKER = __name__ == "__mp_main__"
if WORKER:
    from deatf_gan import compiled
    from deatf_gan.batched import engine, evaluator
    from deatf_gan.runs import models
    from deatf_gan.schedule import SEGMENT_STEPS

record("deatf_gan imported" + (", with TensorFlow" if WORKER else ""))


def timed(owner, name: str, label: str) -> None:
    """Record when each call of ``owner.name`` ends and how long it took."""
    function = getattr(owner, name)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        began = time.time()
        try:
            return function(*args, **kwargs)
        finally:
            record(f"{label} {time.time() - began:.2f} s")

    setattr(owner, name, wrapper)


if WORKER:
    timed(evaluator.BatchedEvaluation, "evaluate_chunk", "chunk evaluated in")
    timed(evaluator, "train_chunk", f"train call ({SEGMENT_STEPS} steps a segment)")
    timed(engine.TrainedChunk, "score_and_generate", "score call")
    timed(evaluator, "judged_generator_losses", "judge")
    timed(compiled.CompiledFunction, "prepare", "functions traced in")
    timed(models, "model_files", "hall-of-fame member's model files made in")
timed(runs.RunDirectory, "on_generation", "run directory updated in")


def first_calls_timed() -> None:
    """Record each compiled function's first call per argument shape: it lowers the traced
    graph to XLA and loads the compiled code from the disk cache (or compiles it), then runs."""
    call, seen = compiled.CompiledFunction.__call__, set()

    @functools.wraps(call)
    def wrapper(self, *args):
        key = (id(self), compiled._signature(args))
        if key in seen:
            return call(self, *args)
        began = time.time()
        try:
            return call(self, *args)
        finally:
            seen.add(key)
            name = getattr(self.function.python_function, "func", self.function.python_function).__name__
            record(f"first call of {name} (lowered, loaded or compiled, and run) in {time.time() - began:.2f} s")

    compiled.CompiledFunction.__call__ = wrapper


if WORKER:
    first_calls_timed()


def summary() -> str:
    """Events per process; consecutive train calls folded into one line."""
    lines = [line.split("\t") for line in EVENTS.read_text().splitlines()]
    rows, folded = [], {}
    for at, pid, event in lines:
        if event.startswith("train call"):
            count, total, first = folded.get(pid, (0, 0.0, at))
            folded[pid] = (count + 1, total + float(event.split()[-2]), first)
            continue
        if pid in folded:
            count, total, first = folded.pop(pid)
            rows.append(
                (float(first), pid, f"{count} train calls, {total:.2f} s (the first ended at {float(first):.2f})")
            )
        rows.append((float(at), pid, event))
    rows.sort(key=lambda row: row[0])
    return "\n".join(f"{at:7.2f}  {pid:>7}  {event}" for at, pid, event in rows)


if __name__ == "__main__":
    sys.argv[0] = "deatf-gan"
    code = cli.main(["run", *sys.argv[1:]])
    record("run finished")
    print(f"\nseconds  process  event ({EVENTS})\n{summary()}")
    sys.exit(code)
