"""``BatchedEvaluation``: ``eval_gan`` for a whole chunk of individuals, in compiled calls run by lanes.

A chunk runs as calls of ``population`` individuals each (``planner.call_population``;
one each in the built-in spaces, padded to its batch bucket), all in supersets covering
the whole chunk, so calls share one compiled function per bucket. ``lanes`` calls run at
once, one thread each: one compiled call of these small shapes keeps about one core busy.
The built-in fitness measures read what the calls computed (held-out scores and samples,
and one judge call for the whole chunk); Keras models holding the trained weights are
built only for a measure that asks for them.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from deatf_gan import judge
from deatf_gan.batched import engine
from deatf_gan.batched.engine import train_chunk
from deatf_gan.batched.planner import (
    Superset,
    call_population,
    call_superset,
    plan_calls,
    training_cost,
)
from deatf_gan.build import trained_pair
from deatf_gan.evaluation import (
    EvalContext,
    EvalResult,
    Job,
    check_result,
    eval_gan,
    evaluate_safely,
    held_out,
    scored_result,
)
from deatf_gan.fitness import TrainedPair, fitness_functions, fitness_judged_generator_loss, latent_stream
from deatf_gan.genome import GANGenome, SearchSpace
from deatf_gan.judge import judged_generator_losses
from deatf_gan.streams import SampleStream

logger = logging.getLogger(__name__)

_PREPARED: set = set()  # what this process has traced already (prepare_functions)
_PREPARING = threading.Lock()


class _Trained(NamedTuple):
    """One individual's outputs of a compiled call."""

    fake_logits: np.ndarray
    real_logits: np.ndarray
    generated: np.ndarray
    weights: tuple[list[np.ndarray], list[np.ndarray]]
    judge_samples: np.ndarray | None


def default_lanes() -> int:
    """One lane per thread this process was given: ``TF_NUM_INTRAOP_THREADS`` where set (a
    run's worker processes get 1 each), else its cores."""
    threads = os.environ.get("TF_NUM_INTRAOP_THREADS", "")
    if threads.isdigit() and int(threads) > 0:
        return int(threads)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def prepare_functions(chunk_superset: Superset, context: EvalContext) -> None:
    """Trace every function a chunk may call, in one fixed order, once per process and shape:
    training, scoring and samples (one trace serves every batch bucket), then the judges'.
    Why: TensorFlow names traced functions from a process-wide counter, and the names reach
    the compiled code, so a process that traced in another order (its first chunk held
    other shapes, or other genomes whose initial weights it drew first) would miss XLA's disk
    cache and compile again. Prepared before anything else of a worker's first chunk, they
    get the same names in every worker and every run."""
    rows, dim, eval_rows = len(context.dataset.samples), context.dataset.dim, context.eval_samples
    judged = fitness_judged_generator_loss in fitness_functions(context.fitness)
    key = (dataclasses.replace(chunk_superset, batch=None), rows, eval_rows, judged)
    with _PREPARING:
        if key not in _PREPARED:
            engine.prepare(chunk_superset, rows, dim, eval_rows)
            if judged:
                judge.prepare(dim, rows, rows, eval_rows)
            _PREPARED.add(key)


class BatchedEvaluation:
    """``evaluate_chunk(jobs, context)`` gives one EvalResult per ``Job`` (or ``(genome, seed)``), in
    job order, with ``eval_gan``'s fields. If the batched calls themselves raise, each job
    falls back to ``eval_gan`` alone (logged as a warning)."""

    def __init__(self, space: SearchSpace | None = None, jit_compile: bool = True, population: int | None = None,
                 lanes: int | None = None):  # fmt: skip
        self.space = space
        self.jit_compile = jit_compile
        self.population = population
        self.lanes = lanes

    def superset_for(self, genomes: Sequence[GANGenome], dataset) -> Superset:
        """The superset every call of a chunk of ``genomes`` trains in. Its population does not
        depend on the chunk's size, so an individual gets the same bits whatever chunk (and
        so whichever worker) it lands in, and wherever it sits in its call."""
        covering = Superset.covering(genomes, dataset, self.space, 1, self.jit_compile)
        return dataclasses.replace(covering, population=self.population or call_population(covering))

    def __call__(self, genome: GANGenome, context: EvalContext) -> EvalResult:
        """The one-individual contract (a chunk of one)."""
        return self.evaluate_chunk([Job(genome, context.seed, context.inheritance)], context)[0]

    @staticmethod
    def job_cost(genome: GANGenome, context: EvalContext) -> float:
        """``planner.training_cost``, which executors balance a generation's chunks with."""
        return training_cost(genome, context.steps)

    def evaluate_chunk(self, jobs: Sequence[Job], context: EvalContext) -> list[EvalResult]:
        if not jobs:
            return []
        jobs = [Job(*job) for job in jobs]
        start = time.perf_counter()
        try:
            results = self._evaluate(jobs, context, start)
        except Exception:  # one bad chunk must not end the run
            logger.warning(
                "batched evaluation of %d individuals failed; evaluating each alone", len(jobs), exc_info=True
            )
            return [evaluate_safely(eval_gan, job.genome, context.for_job(job), context.objectives) for job in jobs]
        return [check_result(result, context.objectives) for result in results]

    def _evaluate(self, jobs: list[Job], context: EvalContext, start: float) -> list[EvalResult]:
        genomes = [job.genome for job in jobs]
        contexts = [context.for_job(job) for job in jobs]
        chunk_superset = self.superset_for(genomes, context.dataset)
        supersets = [call_superset(chunk_superset, genome) for genome in genomes]
        held = [held_out(c, genome) for c, genome in zip(contexts, genomes)]
        fitness_fns = fitness_functions(context.fitness)
        judged = fitness_judged_generator_loss in fitness_fns
        prepare_functions(chunk_superset, context)
        calls = plan_calls(genomes, supersets, chunk_superset.population)

        def call(indices: list[int]) -> list[_Trained]:
            call_jobs, call_held = [jobs[i] for i in indices], [held[i] for i in indices]
            start_weights = [contexts[i].start_weights(genomes[i]) if jobs[i].inheritance else None for i in indices]
            return self._train_and_score(call_jobs, call_held, context, supersets[indices[0]], judged, start_weights)

        lanes = self.lanes or default_lanes()
        if lanes == 1 or len(calls) == 1:
            outputs = [call(indices) for indices in calls]
        else:
            with ThreadPoolExecutor(min(lanes, len(calls)), thread_name_prefix="deatf-gan-lane") as pool:
                outputs = list(pool.map(call, calls))
        trained: list[_Trained] = [None] * len(jobs)
        for indices, call_outputs in zip(calls, outputs):
            for i, output in zip(indices, call_outputs):
                trained[i] = output
        dataset = context.dataset
        pairs = [
            TrainedPair(
                job.genome, functools.partial(trained_pair, job.genome, dataset, job.seed, out.weights), dataset,
                *held[i], job.seed, context.latent_stddev,
            ).knowing(generated=out.generated, fake_logits=out.fake_logits)
            for i, (job, out) in enumerate(zip(jobs, trained))
        ]  # fmt: skip
        if judged:  # every judge of the chunk in one call
            losses = judged_generator_losses(
                dataset.samples, [out.judge_samples for out in trained], [pair.generated for pair in pairs],
                [job.seed for job in jobs],
            )  # fmt: skip
            for pair, loss in zip(pairs, losses):
                pair.knowing(judged_loss=loss)
        return [
            dataclasses.replace(
                scored_result(
                    pair, fitness_fns, out.real_logits, out.weights, start, context.keep_weights, share=len(jobs)
                ),
                trained_steps=c.trained_steps(pair.genome),
            )  # fmt: skip
            for pair, out, c in zip(pairs, trained, contexts)
        ]

    @staticmethod
    def _train_and_score(jobs, held, context: EvalContext, superset: Superset, judged: bool,
                         start_weights) -> list[_Trained]:  # fmt: skip
        """One compiled call's jobs: train from their start weights (None: fresh), score on
        the held-out samples, export the weights, and for a judged fitness generate the
        judge's training samples."""
        genomes, seeds = [job.genome for job in jobs], [int(job.seed) for job in jobs]
        chunk = train_chunk(
            genomes, seeds, context.dataset, context.steps, context.latent_stddev, superset=superset,
            start=start_weights,
        )  # fmt: skip
        s = superset

        def padded(latents):
            out = np.zeros((s.population, len(latents[0]), s.latent), np.float32)
            for i, z in enumerate(latents):
                out[i, :, : z.shape[1]] = z
            return tf.constant(out)

        real = np.zeros((s.population, len(held[0][1]), context.dataset.dim), np.float32)
        real[: len(held)] = [x for _, x in held]
        scored = chunk.score_and_generate(padded([z for z, _ in held]), tf.constant(real))
        fake_logits, real_logits, generated = (t.numpy() for t in scored)
        judge_samples = [None] * len(jobs)
        if judged:
            count, stream = len(context.dataset.samples), SampleStream.JUDGE_TRAINING
            latents = [latent_stream(g, seed, context.latent_stddev, count, stream) for g, seed in zip(genomes, seeds)]
            judge_samples = chunk.generate(padded(latents)).numpy()
        return [
            _Trained(
                fake_logits[i], real_logits[i], generated[i], chunk.export(i, genome, context.dataset), judge_samples[i]
            )
            for i, genome in enumerate(genomes)
        ]
