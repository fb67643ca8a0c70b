"""Seconds per judged individual: K judges trained side by side in one call (``deatf_gan.judge``).

    python benchmarks/judge_speed.py [--judges 1,4,8] [--calls 5]

For 1-D data (10,000 real and generated samples, as ``configs/gaussian_1d.yaml``) and 64-D
data (1,797 samples, the digits' shape), prints the first call (compilation, or a load from
the XLA disk cache) and the mean of ``--calls`` later calls, per call and per judge.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from deatf_gan import xla_cache
from deatf_gan.judge import judged_generator_losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judges", default="1,4,8")
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    xla_cache.enable()  # compiled code on disk, as a run has it (before the first compilation)
    rng = np.random.default_rng(0)
    print(f"{'dim':>4} {'K':>3} {'first call s':>13} {'later call s':>13} {'s per judge':>12}")
    for dim, samples in ((1, 10_000), (64, 1_797)):
        real = rng.normal(size=(samples, dim)).astype(np.float32)
        for k in (int(value) for value in args.judges.split(",")):
            fakes = [rng.normal(0.1, 1.1, size=(samples, dim)).astype(np.float32) for _ in range(k)]
            evals = [fake[:2000] for fake in fakes]

            def call(seed: int, real=real, fakes=fakes, evals=evals, k=k) -> float:
                start = time.perf_counter()
                judged_generator_losses(real, fakes, evals, list(range(seed, seed + k)))
                return time.perf_counter() - start

            first = call(0)
            later = float(np.mean([call(1 + i) for i in range(args.calls)]))
            print(f"{dim:>4} {k:>3} {first:13.2f} {later:13.3f} {later / k:12.3f}", flush=True)


if __name__ == "__main__":
    main()
