"""Evaluations per second: the straightforward TensorFlow way against the project's evaluators.

    python benchmarks/eval_throughput.py [--cases toy-1000,toy-200,digits-200,digits-1000]
        [--evaluators straightforward,keras,batched] [--genomes 32] [--jit 1] [--population 0]

Every evaluator trains the same random genomes (sampled from the case's search space) for
the case's steps and scores them on held-out samples with the generator loss (fitness
``generator_loss``, whatever ``EvalContext``'s default):

- ``straightforward``: new Keras models per individual and a ``tf.function`` train step
  called from a Python loop (the reference, ``benchmarks/reference.py``);
- ``keras``: ``deatf_gan.evaluation.eval_gan`` (the whole loop in one ``tf.function`` per
  individual; ``training.evaluator: keras``);
- ``batched``: ``deatf_gan.batched.BatchedEvaluation``, a run's default evaluator (the whole
  chunk in calls of ``--population`` individuals of one compiled function; 0:
  ``batched.call_population``). Its first case in a process includes tracing (or loading
  the stored graph) and compiling (or loading from the XLA disk cache); the derived overhead
  and steps/s then mix the two.

Printed per case and evaluator: evaluations/second, the fixed overhead per individual and
the training steps/second (both from two step counts where both are run), resident and peak resident
memory, and the ratio to ``straightforward``. Cases: ``toy`` is configs/gaussian_1d.yaml's
search space on its 1-D Gaussian; ``digits`` is 64-dimensional random data in [-1, 1]
(tanh output) with hidden layers of up to 128 units.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from reference import straightforward  # sibling module: this file runs as a script

from deatf_gan import xla_cache
from deatf_gan.batched import BatchedEvaluation
from deatf_gan.config import IntRangeConfig, load_config
from deatf_gan.datasets import Dataset, load_dataset
from deatf_gan.evaluation import EvalContext, eval_gan

ROOT = Path(__file__).resolve().parent.parent


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def case(name: str):
    """(search space, dataset, latent stddev) of a benchmark case."""
    config = load_config(ROOT / "configs" / "gaussian_1d.yaml")
    if name == "toy":
        return (
            config.build_search_space(),
            load_dataset("gaussian_1d", config.data.params, 0),
            config.training.latent_stddev,
        )
    space = config.search_space
    wide = lambda network: dataclasses.replace(network, units=IntRangeConfig(16, 128))  # noqa: E731
    space = dataclasses.replace(space, generator=wide(space.generator), discriminator=wide(space.discriminator))
    config = dataclasses.replace(config, search_space=space)
    rng = np.random.default_rng(0)
    data = np.tanh(rng.normal(size=(2000, 64))).astype(np.float32)
    return config.build_search_space(), Dataset("digits_shaped", data, "tanh", standardize=False), 1.0


def run(evaluator: str, genomes, context: EvalContext, space, jit: bool, population: int = 0) -> float:
    """Seconds to evaluate every genome."""
    start = time.perf_counter()
    if evaluator == "batched":
        BatchedEvaluation(space, jit_compile=jit, population=population or None).evaluate_chunk(
            [(g, i) for i, g in enumerate(genomes)], context
        )
    else:
        function = straightforward if evaluator == "straightforward" else eval_gan
        for index, genome in enumerate(genomes):
            function(genome, context.for_seed(index))
            tf.keras.backend.clear_session(free_memory=False)
    return time.perf_counter() - start


def memory_growth(evaluations: int, chunk: int, jit: bool) -> None:
    """Resident memory after the first chunk and after ``evaluations`` (toy, 20 steps each):
    new genomes every chunk, one traced function, variables reused."""
    space, dataset, stddev = case("toy")
    context = EvalContext(dataset=dataset, steps=20, latent_stddev=stddev, eval_samples=1000, fitness="generator_loss")
    evaluation, rng = BatchedEvaluation(space, jit_compile=jit), np.random.default_rng(2)
    done, first = 0, None
    while done < evaluations:
        evaluation.evaluate_chunk([(space.sample(rng), done + i) for i in range(chunk)], context)
        done += chunk
        first = current_rss_mb() if first is None else first
    print(
        f"RSS after {chunk} evaluations: {first:.0f} MB; after {done}: {current_rss_mb():.0f} MB; "
        f"growth {current_rss_mb() - first:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default="toy-1000,toy-200,digits-200,digits-1000")
    parser.add_argument("--evaluators", default="straightforward,keras,batched")
    parser.add_argument("--genomes", type=int, default=32)
    parser.add_argument("--jit", type=int, default=1, help="XLA for the batched evaluator (1) or a plain graph (0)")
    parser.add_argument(
        "--population", type=int, default=0, help="batched: individuals per compiled call (0: automatic)"
    )
    parser.add_argument(
        "--memory", type=int, default=0, help="only measure RSS growth over this many batched toy evaluations"
    )
    args = parser.parse_args()
    xla_cache.enable()  # compiled code on disk, as a run has it (before the first compilation)
    if args.memory:
        return memory_growth(args.memory, args.genomes, bool(args.jit))
    print(
        f"{'case':<12} {'evaluator':<16} {'evals/s':>8} {'s/eval':>7} {'seconds':>8} "
        f"{'RSS MB':>7} {'peak MB':>8} {'ratio':>6}"
    )
    per_eval: dict[tuple[str, str], dict[int, float]] = {}  # (case, evaluator) -> {steps: s/eval}
    for item in args.cases.split(","):
        name, steps = item.split("-")
        space, dataset, stddev = case(name)
        rng = np.random.default_rng(1)
        genomes = [space.sample(rng) for _ in range(args.genomes)]
        # the straightforward reference scores the generator loss; every evaluator uses that fitness
        context = EvalContext(
            dataset=dataset,
            steps=int(steps),
            latent_stddev=stddev,
            eval_samples=1000,
            keep_weights=False,
            fitness="generator_loss",
        )
        reference = None
        for evaluator in args.evaluators.split(","):
            seconds = run(evaluator, genomes, context, space, bool(args.jit), args.population)
            rate = len(genomes) / seconds
            reference = rate if evaluator == "straightforward" else reference
            ratio = f"{rate / reference:6.2f}" if reference else "     -"
            label = f"{evaluator}{'-xla' if evaluator == 'batched' and args.jit else ''}"
            print(
                f"{item:<12} {label:<16} {rate:8.3f} {1 / rate:7.3f} {seconds:8.1f} "
                f"{current_rss_mb():7.0f} {peak_rss_mb():8.0f} {ratio}",
                flush=True,
            )
            per_eval.setdefault((name, label), {})[int(steps)] = 1 / rate
    for (name, label), times in per_eval.items():
        if len(times) >= 2:  # s/eval = overhead + steps / (steps per second)
            (s1, t1), (s2, t2) = sorted(times.items())[:2]
            per_step = (t2 - t1) / (s2 - s1)
            print(
                f"{name} {label}: fixed overhead {t1 - s1 * per_step:.2f} s/eval, "
                f"{1 / per_step:.0f} generator steps/s per individual"
            )


if __name__ == "__main__":
    main()
