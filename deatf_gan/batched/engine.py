"""The batched evaluator's compiled functions: train a call's individuals side by side, score them.

Each function is pure: it takes a call's genes and training state (``state.ChunkGenes``,
``state.ChunkState``) as named tensors and returns the new state, so threads ("lanes")
share one compiled function per superset shape, and nothing is kept between calls but
the compiled code. Training follows ``deatf_gan.training.train_pair`` step for step: the
same minibatch rows, the same latent draws (``deatf_gan.noise``), the same losses
(``deatf_gan.losses``), optimizer rules and generator weight average, so the two evaluators
agree (tests/batched/test_engine.py).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from deatf_gan.batched.network import Batch, LayerGenes, forward
from deatf_gan.batched.optimizers import Rules, apply_updates
from deatf_gan.batched.planner import Superset, population_bucket
from deatf_gan.batched.state import (
    ChunkGenes,
    ChunkState,
    ParameterLayout,
    RoleState,
    chunk_specs,
    export_role,
    load_chunk,
)
from deatf_gan.build import discriminator_input_dim
from deatf_gan.compiled import CompiledFunction
from deatf_gan.datasets import Dataset
from deatf_gan.genome import GANGenome, SearchSpace
from deatf_gan.inheritance import Weights
from deatf_gan.losses import GAN_LOSSES, masked_mean, r1_penalty
from deatf_gan.noise import hashed_normal
from deatf_gan.packing import pack_rows
from deatf_gan.schedule import SEGMENT_STEPS
from deatf_gan.streams import DropoutStream


class _Networks:
    """A superset's two networks as functions of the call's genes (tensors)."""

    def __init__(self, superset: Superset, genes: ChunkGenes):
        self.superset, self.genes = superset, genes
        self.generator_layout = ParameterLayout(superset.generator)
        self.discriminator_layout = ParameterLayout(superset.discriminator)
        self.generator_genes = LayerGenes.of(superset.generator, genes.generator)
        self.discriminator_genes = LayerGenes.of(superset.discriminator, genes.discriminator)

    def generate(self, z, role: RoleState, parameters=None, moving=None, batch=None, noise=None):
        """Generated samples (and the generator's moving statistics after the call)."""
        s = self.superset
        params = self.generator_layout.unflatten(role.parameters if parameters is None else parameters)
        moving = (role.moving_means, role.moving_variances) if moving is None else moving
        out, moving = forward(s.generator, params, self.generator_genes, z, moving, batch, noise)
        if s.output_activation == "tanh":
            out = tf.tanh(out)
        if s.standardize:
            out = self.genes.data_mean + out * self.genes.data_scale
        return out, moving

    def pack(self, samples, counts=None):
        """The discriminator's inputs from samples ``[K, R, dim]`` in data units: packs of the
        superset's largest degree cycling within each individual's ``counts`` rows (None:
        all ``R``; ``deatf_gan.packing.pack_rows``); the samples themselves where no genome packs."""
        return pack_rows(samples, self.superset.packing, counts)

    def discriminate(self, x, role: RoleState, parameters=None, moving=None, batch=None, noise=None, groups: int = 1):
        """Logits ``[K, B]`` of inputs from :meth:`pack` (and the discriminator's moving
        statistics after the call). An individual packing fewer samples than the superset
        sees zeros in the columns past its own, whose kernel rows are zero and stay zero."""
        s = self.superset
        if s.standardize:
            mean, scale = self.genes.data_mean, self.genes.data_scale
            if s.packing > 1:
                mean, scale = tf.tile(mean, [s.packing]), tf.tile(scale, [s.packing])
            x = (x - mean) / scale
        if s.packing > 1:
            own = tf.cast(tf.range(s.packing)[None, :] < self.genes.packing[:, None], tf.float32)
            x = x * tf.repeat(own, s.discriminator.input_dim // s.packing, axis=1)[:, None, :]
        params = self.discriminator_layout.unflatten(role.parameters if parameters is None else parameters)
        moving = (role.moving_means, role.moving_variances) if moving is None else moving
        logits, moving = forward(
            self.superset.discriminator, params, self.discriminator_genes, x, moving, batch, noise, groups
        )
        return logits[..., 0], moving


def _own(onehot, values: list):
    """Each individual's own of ``values`` (one ``[K]`` tensor per option of the superset,
    ``onehot`` ``[K, options]``); a superset of one option selects nothing."""
    selected = values[0]
    for index, value in enumerate(values[1:], start=1):
        selected = tf.where(onehot[:, index] > 0, value, selected)
    return selected


def _train(superset: Superset, genes: ChunkGenes, state: ChunkState, data, batches, first, last, latent_stddev):
    """Generator updates ``first..last-1``, each after the individual's ``discriminator_steps``
    D updates, as ``deatf_gan.training.train_pair`` does them; returns the last step's
    ``(L_G, L_D)`` per individual and the new state, flattened (``tf.nest``).

    ``batches[:, (step - first) · D + sub]`` holds sub-step ``sub``'s minibatch rows. The D
    updates are an inner loop over the call's largest count (one copy of the update in the
    graph); sub-step ``k`` updates only individuals with ``k <`` their steps, and only their
    step counters advance. Each D sub-step runs the discriminator once on its fake and real
    batches side by side. Individuals are independent, so the gradient of the summed losses
    on individual ``k``'s parameters is that of its own loss. Every loss of the superset is
    computed and each individual's own selected; the unselected ones get zero gradients.
    Where the superset has ``r1_penalty``, each discriminator loss adds ``γ ·
    losses.r1_penalty`` of its real batch's input gradients (γ = 0 adds exactly zero).
    Where the superset has ``generator_ema``, each generator update is followed by
    ``θ_ema ← β θ_ema + (1 - β) θ`` for individuals with ``β > 0`` (``θ_ema = θ`` for the rest).
    """
    s, nets = superset, _Networks(superset, genes)
    sample_mask = genes.sample_mask
    count = tf.reduce_sum(sample_mask, axis=1)
    mean = masked_mean(sample_mask, count)
    latent_mask = genes.latent_mask[:, None, :]
    d_steps, seeds = genes.discriminator_steps, genes.noise_seeds
    g_rules = Rules.of(genes.generator.learning_rate, genes.generator.optimizer)
    d_rules = Rules.of(genes.discriminator.learning_rate, genes.discriminator.optimizer)
    rows, cols = tf.range(tf.shape(sample_mask)[1])[None, :, None], tf.range(s.latent)[None, None, :]
    # every individual takes each generator step; not tf.ones, whose constant TensorFlow names
    # differently per process, so that each process compiled the same graph again
    always = d_steps >= 0

    def latent(draw):
        return latent_stddev * hashed_normal(seeds[:, None, None], draw[:, None, None], rows, cols) * latent_mask

    def discriminator_update(step, g_role, sub, d_loss, g_moving, d_role):
        active = sub < d_steps
        draw = step * (d_steps + 1) + sub
        real = tf.gather(data, tf.gather(batches, (step - first) * s.discriminator_steps + sub, axis=1))
        real = nets.pack(real, count)
        batch = Batch(sample_mask, count, active)
        noise = (seeds, draw, DropoutStream.GENERATOR_IN_DISCRIMINATOR_STEP)
        fake, g_moving = nets.generate(latent(draw), g_role, moving=g_moving, batch=batch, noise=noise)
        fake = nets.pack(fake, count)
        with tf.GradientTape() as tape:
            tape.watch(d_role.parameters)
            streams = (DropoutStream.DISCRIMINATOR_ON_FAKE, DropoutStream.DISCRIMINATOR_ON_REAL)
            with tf.GradientTape() as inner:  # the real packs' input gradients, for R1
                inner.watch(real)
                logits, d_moving = nets.discriminate(tf.concat([fake, real], axis=1), d_role, batch=batch,
                                                     noise=(seeds, draw, streams), groups=2)  # fmt: skip
                fake_logits, real_logits = tf.split(logits, 2, axis=1)
                real_total = tf.reduce_sum(real_logits * sample_mask)
            losses = [GAN_LOSSES[name].discriminator(fake_logits, real_logits, mean=mean) for name in s.losses]
            loss = _own(genes.loss, losses)
            if s.r1_penalty:
                real_gradients = inner.gradient(real_total, real)
                loss = loss + genes.r1_penalty * r1_penalty(real_gradients, mean=mean)
            total = tf.reduce_sum(loss)
        grads = tape.gradient(total, d_role.parameters, unconnected_gradients="zero")
        parameters, slots = apply_updates(d_role.parameters, d_role.slots, grads, active, d_rules)
        return sub + 1, tf.where(active, loss, d_loss), g_moving, RoleState(parameters, slots, *d_moving)

    def averaged(average: tuple, parameters) -> tuple:
        """The generators' weight average after an update (empty where the superset keeps none);
        ``θ`` itself where ``β = 0``, so those individuals export exactly their trained weights."""
        if not average:
            return average
        decay = genes.generator_ema[:, None]
        return (tf.where(decay > 0, decay * average[0] + (1.0 - decay) * parameters, parameters),)

    def body(step, g_loss, d_loss, g_role: RoleState, d_role: RoleState, average: tuple):
        _, d_loss, g_moving, d_role = tf.while_loop(
            lambda sub, *_: sub < max_sub,
            functools.partial(discriminator_update, step, g_role),
            (tf.constant(0), d_loss, (g_role.moving_means, g_role.moving_variances), d_role),
        )
        draw = step * (d_steps + 1) + d_steps
        batch = Batch(sample_mask, count, always)
        with tf.GradientTape() as tape:
            tape.watch(g_role.parameters)
            g_noise = (seeds, draw, DropoutStream.GENERATOR_IN_GENERATOR_STEP)
            fake, g_moving = nets.generate(latent(draw), g_role, moving=g_moving, batch=batch, noise=g_noise)
            d_noise = (seeds, draw, DropoutStream.DISCRIMINATOR_IN_GENERATOR_STEP)
            fake_logits, d_moving = nets.discriminate(nets.pack(fake, count), d_role, batch=batch, noise=d_noise)
            g_loss = _own(genes.loss, [GAN_LOSSES[name].generator(fake_logits, mean=mean) for name in s.losses])
            total = tf.reduce_sum(g_loss)
        grads = tape.gradient(total, g_role.parameters, unconnected_gradients="zero")
        parameters, slots = apply_updates(g_role.parameters, g_role.slots, grads, always, g_rules)
        return (
            step + 1,
            g_loss,
            d_loss,
            RoleState(parameters, slots, *g_moving),
            d_role._replace(moving_means=tuple(d_moving[0]), moving_variances=tuple(d_moving[1])),
            averaged(average, parameters),
        )

    max_sub = tf.reduce_max(d_steps)
    zero = tf.zeros([s.population])
    _, g_loss, d_loss, g_role, d_role, average = tf.while_loop(
        lambda step, *_: step < last,
        body,
        (first, zero, zero, state.generator, state.discriminator, state.generator_average),
    )
    return (g_loss, d_loss, *tf.nest.flatten(ChunkState(g_role, d_role, average)))


def _score_and_generate(superset: Superset, genes: ChunkGenes, state: ChunkState, latent, real):
    """Inference-mode logits ``[K, E]`` of generated and of real held-out samples, and the
    generated samples ``[K, E, dim]``."""
    nets = _Networks(superset, genes)
    fake, _ = nets.generate(latent, state.generator)
    fake_logits, _ = nets.discriminate(nets.pack(fake), state.discriminator)
    real_logits, _ = nets.discriminate(nets.pack(real), state.discriminator)
    return fake_logits, real_logits, fake


def _generate(superset: Superset, genes: ChunkGenes, state: ChunkState, latent):
    return _Networks(superset, genes).generate(latent, state.generator)[0]


class _CompiledFunctions:
    """One superset's compiled functions (shared by every thread), whatever its minibatch:
    traced once with the batch left open, compiled by XLA once per batch bucket."""

    def __init__(self, superset: Superset):
        def compiled(function):
            return CompiledFunction(functools.partial(function, superset), superset.jit_compile)

        self.train = compiled(_train)
        self.score_and_generate = compiled(_score_and_generate)
        self.generate = compiled(_generate)


_FUNCTIONS: OrderedDict[Superset, _CompiledFunctions] = OrderedDict()
_FUNCTIONS_LOCK = threading.Lock()
MAX_SUPERSETS = 8  # compiled shapes kept per process; the least recently used beyond are freed


def compiled_functions(superset: Superset) -> _CompiledFunctions:
    superset = dataclasses.replace(superset, batch=None)  # the functions never read it
    with _FUNCTIONS_LOCK:
        functions = _FUNCTIONS.pop(superset, None) or _CompiledFunctions(superset)
        _FUNCTIONS[superset] = functions
        while len(_FUNCTIONS) > MAX_SUPERSETS:
            _FUNCTIONS.popitem(last=False)
        return functions


def prepare(superset: Superset, data_rows: int, data_dim: int, eval_rows: int) -> None:
    """Trace the superset's functions now, for any minibatch, data of ``data_rows`` and
    scoring batches of ``eval_rows`` (``compiled.CompiledFunction.prepare``)."""
    superset = dataclasses.replace(superset, batch=None)
    functions, k, spec = compiled_functions(superset), superset.population, tf.TensorSpec
    signature = training_signature(superset, data_rows, data_dim)
    functions.train.prepare(*signature)
    genes, state = signature[:2]
    latent, real = spec([k, eval_rows, superset.latent]), spec([k, min(eval_rows, data_rows), data_dim])
    functions.score_and_generate.prepare(genes, state, latent, real)
    functions.generate.prepare(genes, state, spec([k, data_rows, superset.latent]))


def training_signature(superset: Superset, data_rows: int, data_dim: int) -> tuple:
    """The ``tf.TensorSpec``s the training function is traced for: the superset's genes and
    state, data of ``data_rows``, and a segment's minibatch rows with the batch left open."""
    k, spec = superset.population, tf.TensorSpec
    genes, state = chunk_specs(dataclasses.replace(superset, batch=None), data_dim)
    segment = spec([k, SEGMENT_STEPS * superset.discriminator_steps, None], tf.int32)
    step = spec([], tf.int32)
    return genes, state, spec([data_rows, data_dim]), segment, step, step, spec([])


@dataclass(frozen=True)
class TrainedChunk:
    """A trained call: its individuals' genes and trained state, and the last step's losses.
    The state's generator parameters are the averaged ones where a genome has ``generator_ema``
    (batch norm's moving statistics stay the trained generator's), so scoring, samples and
    exports all read the averaged generator, as ``train_pair`` leaves it in the Keras path."""

    superset: Superset
    genomes: tuple[GANGenome, ...]
    genes: ChunkGenes
    state: ChunkState
    generator_losses: np.ndarray
    discriminator_losses: np.ndarray

    def score(self, latent, real):
        """Inference-mode logits of generated and real held-out samples, ``[K, E]`` each."""
        return self.score_and_generate(latent, real)[:2]

    def score_and_generate(self, latent, real):
        return compiled_functions(self.superset).score_and_generate(self._inference_genes, self.state, latent, real)

    def generate(self, latent):
        return compiled_functions(self.superset).generate(self._inference_genes, self.state, latent)

    @functools.cached_property
    def _inference_genes(self) -> ChunkGenes:
        """The genes with the minibatch's row mask cut to one column: inference never reads
        it, and a shape that does not depend on the batch bucket lets every bucket's calls
        share one compiled scoring function (each shape is lowered to XLA once per process)."""
        return self.genes._replace(sample_mask=self.genes.sample_mask[:, :1])

    def export(self, index: int, genome: GANGenome, dataset: Dataset) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Member ``index``'s trained weights as ``(generator, discriminator)`` Keras weight lists."""
        s, latent_dim, state = self.superset, genome.hyperparameters.latent_dim, self._numpy_state
        return (
            export_role(s.generator, state.generator, index, genome.generator, latent_dim),
            export_role(
                s.discriminator,
                state.discriminator,
                index,
                genome.discriminator,
                discriminator_input_dim(genome, dataset),
            ),
        )

    @functools.cached_property
    def _numpy_state(self) -> ChunkState:
        """The trained state as arrays, copied out of TensorFlow once for every member's export."""
        return tf.nest.map_structure(np.asarray, self.state)


def train_chunk(
    genomes: Sequence[GANGenome],
    seeds: Sequence[int],
    dataset: Dataset,
    steps: int,
    latent_stddev: float = 1.0,
    space: SearchSpace | None = None,
    jit_compile: bool = True,
    superset: Superset | None = None,
    start: Sequence[Weights | None] | None = None,
) -> TrainedChunk:
    """Train every ``(genome, seed)`` pair as ``train_pair`` would, all in one compiled call
    (in ``superset`` if given: it must cover the genomes and hold at least as many), each
    from its ``start`` weights where given (``state.load_chunk``)."""
    if superset is None:
        superset = Superset.covering(genomes, dataset, space, population_bucket(len(genomes)), jit_compile)
    elif len(genomes) > superset.population:
        raise ValueError(f"{len(genomes)} genomes do not fit a superset of population {superset.population}")
    genes, state, table = load_chunk(superset, genomes, seeds, dataset, steps, start)
    genes, state = tf.nest.map_structure(tf.constant, (genes, state))
    train = compiled_functions(superset).train
    data, stddev = tf.constant(dataset.samples), tf.constant(latent_stddev, tf.float32)
    g_loss = d_loss = tf.zeros([superset.population])
    for first in range(0, steps, SEGMENT_STEPS):  # one input shape whatever the step count: no recompilation
        segment = tf.constant(table.segment(first))
        last = tf.constant(min(first + SEGMENT_STEPS, steps))
        g_loss, d_loss, *flat = train(genes, state, data, segment, tf.constant(first), last, stddev)
        state = tf.nest.pack_sequence_as(state, flat)
    if superset.generator_ema:  # the averaged generators are the trained ones: scored and exported
        state = state._replace(generator=state.generator._replace(parameters=state.generator_average[0]))
    return TrainedChunk(
        superset, tuple(genomes), genes, state, g_loss.numpy()[: len(genomes)], d_loss.numpy()[: len(genomes)]
    )
