"""How the batched evaluator's lanes (calls running at the same time in threads) pay off.

    python benchmarks/lanes.py [--cases toy,digits] [--lanes 1,2] [--steps 300] [--genomes 16]

For each case (as in eval_throughput.py) and lane count, one ``BatchedEvaluation`` evaluates
the same random genomes twice (fitness ``generator_loss``); the first pass traces and
compiles, the second is timed. Printed: seconds of the timed pass and milliseconds per
individual-step.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from eval_throughput import case  # sibling module: this file runs as a script

from deatf_gan import xla_cache
from deatf_gan.batched import BatchedEvaluation
from deatf_gan.evaluation import EvalContext


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="toy,digits")
    parser.add_argument("--lanes", default="1,2")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--genomes", type=int, default=16)
    args = parser.parse_args()
    xla_cache.enable()  # compiled code on disk, as a run has it (before the first compilation)
    print(f"{'case':8} {'lanes':>5} {'seconds':>8} {'ms per individual-step':>23}")
    for name in args.cases.split(","):
        space, dataset, stddev = case(name)
        rng = np.random.default_rng(0)
        jobs = [(space.sample(rng), seed) for seed in range(args.genomes)]
        context = EvalContext(dataset=dataset, steps=args.steps, latent_stddev=stddev, fitness="generator_loss")
        for lanes in (int(n) for n in args.lanes.split(",")):
            evaluation = BatchedEvaluation(space, jit_compile=True, lanes=lanes)
            evaluation.evaluate_chunk(jobs, context)  # traces, compiles or loads
            start = time.perf_counter()
            evaluation.evaluate_chunk(jobs, context)
            seconds = time.perf_counter() - start
            print(f"{name:8} {lanes:>5} {seconds:>8.1f} {seconds / (args.steps * len(jobs)) * 1e3:>23.3f}", flush=True)


if __name__ == "__main__":
    main()
