"""One generation evaluated in this process, in worker processes and on a local Dask cluster.

    python benchmarks/parallel.py [--individuals 16] [--steps 300] [--workers 2]

Each backend runs ``evolve`` on configs/gaussian_1d.yaml with a first generation of
``--individuals`` and no further generations, so every backend trains the same genomes with
the same seeds; the script checks that they agree to the last bit. Worker start-up (spawn,
importing TensorFlow) is timed on its own (``executor.start()``), then the evaluations:
the speed-up of the evaluations alone is the steady state, the total one includes start-up.
The last column is the CPU time other processes took meanwhile (Linux ``/proc/stat``): on a
shared machine, a measurement is only clean where it is near zero.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

from deatf_gan.config import load_config
from deatf_gan.evolution import evolve
from deatf_gan.executors import make_executor

ROOT = Path(__file__).resolve().parent.parent


def others_cpu_seconds() -> float:
    """CPU seconds the machine has been busy, less those of this process and its reaped children."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    own = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return busy - sum(usage.ru_utime + usage.ru_stime for usage in own)


def measure(kind: str, individuals: int, steps: int, workers: int) -> tuple[float, float, list, float]:
    """Seconds to start the workers, seconds to evaluate, every fitness in id order, and the
    CPU seconds other processes took meanwhile."""
    overrides = [
        f"evolution.population={individuals}",
        "evolution.generations=0",
        f"training.steps={steps}",
        f"executor.kind={kind}",
        f"executor.workers={workers}",
    ]
    config = load_config(ROOT / "configs" / "gaussian_1d.yaml", overrides)
    others = others_cpu_seconds()
    start = time.perf_counter()
    with make_executor(config.executor) as executor:
        executor.start()
        started = time.perf_counter()
        result = evolve(config, map_fn=executor.map)
        finished = time.perf_counter()
    fitness = [ind.fitness.values for ind in sorted(result.population, key=lambda ind: ind.id)]
    return started - start, finished - started, fitness, others_cpu_seconds() - others


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--individuals", type=int, default=16)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kinds", default="serial,processes,dask")
    args = parser.parse_args()
    rows, reference = [], None
    for kind in args.kinds.split(","):
        startup, seconds, fitness, others = measure(kind, args.individuals, args.steps, args.workers)
        reference = reference or fitness
        rows.append((kind, 1 if kind == "serial" else args.workers, startup, seconds, fitness == reference, others))
    serial = {row[0]: row for row in rows}.get("serial")
    print(f"{args.individuals} individuals, {args.steps} steps each (configs/gaussian_1d.yaml)\n")
    print(
        "| backend | workers | start-up s | evaluation s | evaluations/s | speed-up (evaluation) "
        "| speed-up (total) | same results | others' CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for kind, workers, startup, seconds, same, others in rows:
        rate = args.individuals / seconds
        steady = f"{serial[3] / seconds:.2f}×" if serial else "-"
        total = f"{(serial[2] + serial[3]) / (startup + seconds):.2f}×" if serial else "-"
        same = "yes" if same else "NO"
        print(
            f"| {kind} | {workers} | {startup:.1f} | {seconds:.1f} | {rate:.2f} | {steady} | {total} "
            f"| {same} | {others:.0f} |"
        )


if __name__ == "__main__":
    main()
