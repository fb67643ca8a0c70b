"""The batched evaluator against the per-individual Keras path (``deatf_gan.batched``).

Parity is tested with dropout off: the Keras path's ``Dropout`` layers draw their own masks,
so dropout is tested by its statistics instead. Rounding differs between the two paths
(padded einsum vs Keras matmuls), and GAN training amplifies it through ReLU kinks, so the
genomes are fixed draws that cover every option rather than fresh random ones.
"""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from deatf_gan import batched
from deatf_gan.batched.network import Batch, LayerGenes, forward
from deatf_gan.batched.state import ParameterLayout, Params, chunk_specs, load_chunk
from deatf_gan.build import build_pair, initial_weights
from deatf_gan.datasets import Dataset, gaussian_1d
from deatf_gan.evaluation import EvalContext, Job, eval_gan
from deatf_gan.genome import ACTIVATIONS, INITIALIZERS, OPTIMIZERS, GANGenome, Hyperparameters, LayerGene, MLPDescriptor
from deatf_gan.inheritance import Inheritance, Parent
from deatf_gan.training import train_pair

STEPS = 10


def _genomes() -> list[GANGenome]:
    """Nine genomes: every activation, initializer, optimizer, batch norm on and off,
    1-3 discriminator steps, 1-3 layers, several batch and latent sizes."""
    rng = np.random.default_rng(5)
    genomes = []
    for index in range(len(ACTIVATIONS)):

        def layer(offset: int, role: int, index: int = index) -> LayerGene:
            return LayerGene(
                units=int(rng.integers(3, 12)),
                activation=ACTIVATIONS[(index + offset) % len(ACTIVATIONS)],
                initializer=INITIALIZERS[(index + 3 * role + offset) % len(INITIALIZERS)],
                batch_norm=bool((index + offset + role) % 2),
            )

        genomes.append(
            GANGenome(
                MLPDescriptor(tuple(layer(k, 0) for k in range(1 + index % 3))),
                MLPDescriptor(tuple(layer(k, 1) for k in range(1 + (index + 1) % 3))),
                Hyperparameters(
                    generator_learning_rate=float(10 ** rng.uniform(-4, -2)),
                    discriminator_learning_rate=float(10 ** rng.uniform(-4, -2)),
                    optimizer=OPTIMIZERS[index % 3],
                    batch_size=(8, 16, 12)[index % 3],
                    latent_dim=1 + index % 4,
                    discriminator_steps=1 + (index // 3) % 3,
                ),
            )
        )
    return genomes


def _tanh_data() -> Dataset:
    rng = np.random.default_rng(0)
    return Dataset("tanh", np.tanh(rng.normal(size=(500, 3))).astype(np.float32), "tanh", standardize=False)


@pytest.fixture(scope="module", params=["standardize", "tanh"])
def trained(request):
    # every option on standardised data; bounded data (tanh output, no normalisation) on three
    dataset = gaussian_1d(samples=500) if request.param == "standardize" else _tanh_data()
    genomes = _genomes() if request.param == "standardize" else _genomes()[:3]
    seeds = [11 * i + 1 for i in range(len(genomes))]
    chunk = batched.train_chunk(genomes, seeds, dataset, STEPS, latent_stddev=2.0, jit_compile=False)
    return dataset, genomes, seeds, chunk


def test_the_genomes_cover_every_option():
    layers = [layer for g in _genomes() for role in ("generator", "discriminator") for layer in g.network(role).layers]
    assert {layer.activation for layer in layers} == set(ACTIVATIONS)
    assert {layer.initializer for layer in layers} == set(INITIALIZERS)
    assert {layer.batch_norm for layer in layers} == {False, True}
    assert {g.hyperparameters.optimizer for g in _genomes()} == set(OPTIMIZERS)
    assert {g.hyperparameters.discriminator_steps for g in _genomes()} == {1, 2, 3}


def test_initial_weights_are_those_of_build_pair():
    dataset = gaussian_1d(samples=100)
    for seed, genome in enumerate(_genomes()):
        generator, discriminator = build_pair(genome, dataset, seed)
        expected = generator.get_weights() + discriminator.get_weights()
        actual = [w for weights in initial_weights(genome, dataset, seed) for w in weights]
        assert len(actual) == len(expected)
        assert all(np.array_equal(a, e) for a, e in zip(actual, expected))


def test_losses_after_ten_steps_match_the_keras_path(trained):
    dataset, genomes, seeds, chunk = trained
    for index, (genome, seed) in enumerate(zip(genomes, seeds)):
        generator, discriminator = build_pair(genome, dataset, seed)
        outcome = train_pair(generator, discriminator, genome.hyperparameters, dataset, STEPS, seed, latent_stddev=2.0)
        assert chunk.generator_losses[index] == pytest.approx(outcome.generator_loss, rel=1e-4), genome
        assert chunk.discriminator_losses[index] == pytest.approx(outcome.discriminator_loss, rel=1e-4), genome


@pytest.mark.slow
def test_an_individual_trains_alike_in_any_call_population(trained):
    """BatchedEvaluation runs a chunk as several calls of ``call_population`` individuals in
    one superset: an individual's training depends neither on its call-mates nor on K."""
    dataset, genomes, seeds, chunk = trained
    superset = dataclasses.replace(chunk.superset, population=4)
    part = batched.train_chunk(genomes[-3:], seeds[-3:], dataset, STEPS, latent_stddev=2.0, superset=superset)
    np.testing.assert_allclose(part.generator_losses, chunk.generator_losses[-3:], rtol=1e-6)
    np.testing.assert_allclose(part.discriminator_losses, chunk.discriminator_losses[-3:], rtol=1e-6)
    # a call of one (K of the built-in spaces) pads the minibatch only to the individual's
    # batch-size bucket, here 32 (the floor) for batches of 8-16, not to the superset's 256
    alone = dataclasses.replace(superset, population=1, batch=256)
    assert [batched.call_superset(alone, genome).batch for genome in genomes[:3]] == [32, 32, 32]
    for index in range(3):
        own = batched.call_superset(alone, genomes[index])
        single = batched.train_chunk(
            genomes[index : index + 1], seeds[index : index + 1], dataset, STEPS, latent_stddev=2.0, superset=own
        )
        np.testing.assert_allclose(single.generator_losses, chunk.generator_losses[index : index + 1], rtol=1e-6)
        np.testing.assert_allclose(
            single.discriminator_losses, chunk.discriminator_losses[index : index + 1], rtol=1e-6
        )


def test_exported_weights_give_keras_models_with_the_same_outputs(trained):
    dataset, genomes, seeds, chunk = trained
    superset = chunk.superset
    rng = np.random.default_rng(3)
    latent = rng.normal(size=(superset.population, 50, superset.latent)).astype(np.float32)
    real = dataset.samples[rng.integers(len(dataset.samples), size=(superset.population, 50))]
    for index, genome in enumerate(genomes):
        latent[index, :, genome.hyperparameters.latent_dim :] = 0.0
    fake_logits, real_logits = (t.numpy() for t in chunk.score(tf.constant(latent), tf.constant(real)))
    for index, (genome, seed) in enumerate(zip(genomes, seeds)):
        generator, discriminator = build_pair(genome, dataset, seed)
        generator_weights, discriminator_weights = chunk.export(index, genome, dataset)
        generator.set_weights(generator_weights)
        discriminator.set_weights(discriminator_weights)
        z = latent[index, :, : genome.hyperparameters.latent_dim]
        expected_fake = discriminator(generator(z, training=False), training=False).numpy()[:, 0]
        expected_real = discriminator(real[index], training=False).numpy()[:, 0]
        np.testing.assert_allclose(fake_logits[index], expected_fake, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(real_logits[index], expected_real, rtol=1e-5, atol=1e-5)


def test_a_chunk_trained_in_several_segments_matches_the_keras_path(monkeypatch):
    """Segments of three steps (rows drawn per segment from each member's stream) against the
    Keras path in one call."""
    import deatf_gan.batched.engine
    import deatf_gan.batched.state

    for module in (deatf_gan.batched.engine, deatf_gan.batched.state):
        monkeypatch.setattr(module, "SEGMENT_STEPS", 3)
    dataset, genomes = gaussian_1d(samples=500), _genomes()[2:5]  # discriminator steps 1 and 2
    seeds = [5, 6, 7]
    chunk = batched.train_chunk(genomes, seeds, dataset, STEPS, latent_stddev=2.0, jit_compile=False)
    for index, (genome, seed) in enumerate(zip(genomes, seeds)):
        generator, discriminator = build_pair(genome, dataset, seed)
        outcome = train_pair(generator, discriminator, genome.hyperparameters, dataset, STEPS, seed, latent_stddev=2.0)
        assert chunk.generator_losses[index] == pytest.approx(outcome.generator_loss, rel=1e-4), genome
        assert chunk.discriminator_losses[index] == pytest.approx(outcome.discriminator_loss, rel=1e-4), genome


@pytest.mark.slow
def test_one_individual_per_call_runs_its_own_network_and_matches_the_keras_path():
    """K = 1 takes the genome's choices with conditionals (skipped layers, batch norm, the
    activation) instead of computing every option: the same losses as Keras after ten steps,
    and the same held-out logits from the exported weights."""
    dataset, genomes = gaussian_1d(samples=500), _genomes()
    chunk_superset = batched.Superset.covering(genomes, dataset, None, 1, False)
    rng = np.random.default_rng(4)
    for index, genome in enumerate(genomes):
        seed, latent_dim = 7 * index + 2, genome.hyperparameters.latent_dim
        superset = batched.call_superset(chunk_superset, genome)
        assert superset.population == 1
        chunk = batched.train_chunk([genome], [seed], dataset, STEPS, latent_stddev=2.0, superset=superset)
        generator, discriminator = build_pair(genome, dataset, seed)
        outcome = train_pair(generator, discriminator, genome.hyperparameters, dataset, STEPS, seed, latent_stddev=2.0)
        assert chunk.generator_losses[0] == pytest.approx(outcome.generator_loss, rel=1e-4), genome
        assert chunk.discriminator_losses[0] == pytest.approx(outcome.discriminator_loss, rel=1e-4), genome
        latent = np.zeros((1, 50, superset.latent), np.float32)
        latent[0, :, :latent_dim] = rng.normal(size=(50, latent_dim))
        real = dataset.samples[rng.integers(len(dataset.samples), size=(1, 50))]
        fake_logits, real_logits = (t.numpy()[0] for t in chunk.score(tf.constant(latent), tf.constant(real)))
        generator_weights, discriminator_weights = chunk.export(0, genome, dataset)
        generator.set_weights(generator_weights)
        discriminator.set_weights(discriminator_weights)
        expected_fake = discriminator(generator(latent[0, :, :latent_dim], training=False), training=False).numpy()[
            :, 0
        ]
        np.testing.assert_allclose(fake_logits, expected_fake, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            real_logits, discriminator(real[0], training=False).numpy()[:, 0], rtol=1e-5, atol=1e-5
        )


def test_dropout_drops_the_share_of_units_it_names_and_rescales():
    """Training-mode dropout at rate r zeroes a share r of a layer's units and scales the
    rest by 1/(1-r), so the layer's mean is unchanged; inference mode drops nothing."""
    dataset = gaussian_1d(samples=200)
    genome = GANGenome(
        MLPDescriptor((LayerGene(64, "linear", dropout=0.3),)),
        MLPDescriptor((LayerGene(4, "relu"),)),
        Hyperparameters(batch_size=64, latent_dim=2),
    )
    superset = batched.Superset.covering([genome], dataset, None, 4, jit_compile=False)
    genes, state, _ = load_chunk(superset, [genome], [0], dataset, 1)
    shape = superset.generator
    layout = ParameterLayout(shape)
    params = layout.unflatten_numpy(state.generator.parameters)
    params.kernels[0][...] = 1.0  # every unit outputs sum(z) = 1 below
    x = tf.fill([4, 64, superset.latent], 1.0 / superset.latent)
    mask = tf.constant(genes.sample_mask)
    count = tf.reduce_sum(mask, axis=1)
    network = (shape, params, LayerGenes.of(shape, tf.nest.map_structure(tf.constant, genes.generator)))
    keep = []
    for draw in range(5):
        seeds, draws = tf.constant([3, 3, 4, 4], tf.int64), tf.fill([4], draw)
        keep.append(_hidden_layer(network, x, (seeds, draws, 0), mask, count))
    values = np.concatenate([h.ravel() for h in keep])
    assert np.allclose(np.unique(values), [0.0, 1 / 0.7])
    assert np.mean(values == 0) == pytest.approx(0.3, abs=0.02)
    assert np.mean(values) == pytest.approx(1.0, abs=0.03)
    assert not np.array_equal(keep[0], keep[1])  # fresh masks every draw
    inference = _hidden_layer(network, x, None, mask, count)
    assert np.allclose(inference, 1.0)


def _hidden_layer(network, x, noise, mask, count) -> np.ndarray:
    """The first hidden layer's output, by running the network with the output layer replaced
    by the identity on units 0..U (a one-layer superset)."""
    shape, params, genes = network
    probe_shape = dataclasses.replace(shape, output_dim=shape.units)
    identity = np.tile(np.eye(shape.units, dtype=np.float32)[None], [x.shape[0], 1, 1])
    probe = Params(
        [tf.constant(k) for k in params.kernels[:-1]] + [tf.constant(identity)],
        [tf.constant(b) for b in params.biases[:-1]] + [tf.zeros([x.shape[0], shape.units])],
        [tf.constant(g) for g in params.gammas],
        [tf.constant(b) for b in params.betas],
    )
    moving = ([], [])
    batch = Batch(mask, count, tf.ones([x.shape[0]], tf.bool)) if noise is not None else None
    out, _ = forward(probe_shape, probe, genes, x, moving, batch, noise)
    return out.numpy()


def test_a_chunk_evaluation_gives_eval_gan_fields_and_fitness():
    dataset = gaussian_1d(samples=500)
    genomes = _genomes()  # the same superset as the parity fixture: no new trace
    context = EvalContext(dataset=dataset, steps=STEPS, latent_stddev=2.0, eval_samples=1000)
    results = batched.BatchedEvaluation(jit_compile=False).evaluate_chunk(
        [(g, 5 + i) for i, g in enumerate(genomes)], context
    )
    assert len(results) == len(genomes)
    for index, (genome, result) in list(enumerate(zip(genomes, results)))[:2]:
        reference = eval_gan(genome, context.for_seed(5 + index))
        assert not result.failed
        # the judged fitness trains a judge for 1,000 steps on the generator's samples: inputs that
        # differ by 1e-6 (float32 round-off between the two paths) move it by about 0.2 % (measured)
        assert result.fitness[0] == pytest.approx(reference.fitness[0], rel=1e-2)
        assert result.generator_loss == pytest.approx(reference.generator_loss, rel=1e-3)
        assert result.discriminator_loss == pytest.approx(reference.discriminator_loss, rel=1e-3)
        assert result.generator_parameters == reference.generator_parameters
        assert result.discriminator_parameters == reference.discriminator_parameters
        assert all(np.allclose(a, b, atol=1e-4) for a, b in zip(result.weights[0], reference.weights[0]))


def test_both_evaluators_train_an_inherited_start_alike():
    """A job that inherits starts both evaluators from the same mapped weights."""
    dataset = gaussian_1d(samples=500)
    genomes = _genomes()
    context = EvalContext(dataset=dataset, steps=STEPS, latent_stddev=2.0, eval_samples=1000, fitness="generator_loss")
    parent = eval_gan(genomes[0], context.for_seed(3))
    child = dataclasses.replace(genomes[0], generator=genomes[1].generator)
    job = Job(child, 4, Inheritance((Parent(genomes[0], parent.weights, parent.trained_steps),)))
    batched_result = batched.BatchedEvaluation(jit_compile=False).evaluate_chunk([job], context)[0]
    keras_result = eval_gan(child, context.for_job(job))
    assert batched_result.trained_steps == keras_result.trained_steps == 2 * STEPS
    assert batched_result.generator_loss == pytest.approx(keras_result.generator_loss, rel=1e-3)
    for a, b in zip(batched_result.weights[1], keras_result.weights[1]):
        np.testing.assert_allclose(a, b, atol=1e-4)
    fresh = eval_gan(child, context.for_seed(4))
    assert not np.allclose(fresh.weights[1][0], keras_result.weights[1][0], atol=1e-3)


def test_lanes_train_side_by_side_with_the_same_bits_as_one_lane():
    """Calls in two lanes (threads, each with its own variables, one shared function) give
    every individual exactly what one lane gives, whatever call and lane it lands in."""
    dataset = gaussian_1d(samples=500)
    genomes = _genomes()[:6]
    context = EvalContext(dataset=dataset, steps=STEPS, latent_stddev=2.0, eval_samples=200, fitness="generator_loss")
    jobs = [(g, 5 + i) for i, g in enumerate(genomes)]
    one = batched.BatchedEvaluation(jit_compile=False, population=2, lanes=1).evaluate_chunk(jobs, context)
    two = batched.BatchedEvaluation(jit_compile=False, population=2, lanes=2).evaluate_chunk(jobs, context)
    for a, b in zip(one, two):
        assert not a.failed and not b.failed
        assert a.fitness == b.fitness and a.generator_loss == b.generator_loss
        assert all(np.array_equal(x, y) for x, y in zip(a.weights[0] + a.weights[1], b.weights[0] + b.weights[1]))


def _with(genome: GANGenome, **hyperparameters) -> GANGenome:
    return dataclasses.replace(genome, hyperparameters=dataclasses.replace(genome.hyperparameters, **hyperparameters))


# (loss, generator_ema, r1_penalty) of _genomes()[1:4]: each loss type, averaging and the R1
# penalty on and off, 1-2 D steps
LOSS_GENES = [("least_squares", 0.5, 1.0), ("hinge", 0.0, 0.0), ("non_saturating", 0.9, 10.0)]


@pytest.fixture(scope="module")
def trained_with_loss_genes():
    dataset = gaussian_1d(samples=500)
    genomes = [
        _with(g, loss=loss, generator_ema=ema, r1_penalty=r1) for g, (loss, ema, r1) in zip(_genomes()[1:4], LOSS_GENES)
    ]
    seeds = [7 * i + 3 for i in range(len(genomes))]
    chunk = batched.train_chunk(genomes, seeds, dataset, STEPS, latent_stddev=2.0, jit_compile=False)
    return dataset, genomes, seeds, chunk


def _assert_matches_the_keras_path(dataset, genomes, seeds, chunk) -> None:
    """Each member's last losses, exported weights and held-out logits are ``train_pair``'s
    (its discriminator judging ``packing.pack`` of the samples, which packing 1 leaves alone)."""
    from deatf_gan.packing import pack

    rng = np.random.default_rng(8)
    latent = rng.normal(size=(chunk.superset.population, 50, chunk.superset.latent)).astype(np.float32)
    real = dataset.samples[rng.integers(len(dataset.samples), size=(chunk.superset.population, 50))]
    for index, genome in enumerate(genomes):
        latent[index, :, genome.hyperparameters.latent_dim :] = 0.0
    fake_logits, real_logits = (t.numpy() for t in chunk.score(tf.constant(latent), tf.constant(real)))
    for index, (genome, seed) in enumerate(zip(genomes, seeds)):
        m = genome.hyperparameters.packing
        generator, discriminator = build_pair(genome, dataset, seed)
        outcome = train_pair(generator, discriminator, genome.hyperparameters, dataset, STEPS, seed, latent_stddev=2.0)
        assert chunk.generator_losses[index] == pytest.approx(outcome.generator_loss, rel=1e-4), genome
        assert chunk.discriminator_losses[index] == pytest.approx(outcome.discriminator_loss, rel=1e-4), genome
        # the bounds sit between the two paths' round-off and what averaging moves the weights
        # by (docs/performance.md, "Parity tolerances"), so they tell an average from none
        exported = chunk.export(index, genome, dataset)
        assert exported[1][0].shape[0] == m * dataset.dim
        for ours, theirs in zip(exported[0] + exported[1], generator.get_weights() + discriminator.get_weights()):
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
        fake = generator(latent[index, :, : genome.hyperparameters.latent_dim], training=False)
        expected_fake = discriminator(pack(fake, m), training=False).numpy()[:, 0]
        np.testing.assert_allclose(fake_logits[index], expected_fake, rtol=1e-4, atol=1e-5)
        expected_real = discriminator(pack(real[index], m), training=False).numpy()[:, 0]
        np.testing.assert_allclose(real_logits[index], expected_real, rtol=1e-4, atol=1e-5)


def test_each_loss_type_the_generator_average_and_r1_match_the_keras_path(trained_with_loss_genes):
    """Every loss of the superset computed, each individual's own selected, R1 penalties
    where γ > 0; averaged generators exported and scored: the same losses, weights and
    held-out logits as ``train_pair``, whose generator ends holding its average."""
    dataset, genomes, seeds, chunk = trained_with_loss_genes
    assert chunk.superset.losses == ("non_saturating", "least_squares", "hinge") and chunk.superset.generator_ema
    assert chunk.superset.r1_penalty
    _assert_matches_the_keras_path(dataset, genomes, seeds, chunk)


# (packing, r1_penalty) of _genomes()[1:5]: every degree in one superset of degree 4, R1 on packs
PACKING_GENES = [(2, 1.0), (1, 0.0), (3, 0.0), (4, 10.0)]


def test_every_packing_degree_side_by_side_matches_the_keras_path():
    """Individuals packing 1-4 samples in one superset (each cycling within its own minibatch,
    the columns past its own pack masked): the losses, weights and held-out logits of
    ``train_pair``, whose discriminator judges ``packing.pack`` of its batches."""
    dataset = gaussian_1d(samples=500)
    genomes = [_with(g, packing=m, r1_penalty=r1) for g, (m, r1) in zip(_genomes()[1:5], PACKING_GENES)]
    seeds = [7 * i + 3 for i in range(len(genomes))]
    chunk = batched.train_chunk(genomes, seeds, dataset, STEPS, latent_stddev=2.0, jit_compile=False)
    assert chunk.superset.packing == 4 and chunk.superset.discriminator.input_dim == 4 * dataset.dim
    _assert_matches_the_keras_path(dataset, genomes, seeds, chunk)


def test_plain_individuals_train_bit_for_bit_alike_in_a_superset_with_every_loss_averaging_and_r1():
    """A non-saturating individual without averaging gets exactly the bits it gets in a plain
    superset, when the superset also computes the other losses and averages generators."""
    dataset = gaussian_1d(samples=500)
    genome, seed = _genomes()[4], 9
    plain = batched.Superset.covering([genome], dataset, None, 1, False)
    assert plain.losses == ("non_saturating",) and not plain.generator_ema
    every = dataclasses.replace(
        plain, losses=("non_saturating", "least_squares", "hinge"), generator_ema=True, r1_penalty=True
    )
    chunks = [
        batched.train_chunk([genome], [seed], dataset, STEPS, latent_stddev=2.0, superset=s) for s in (plain, every)
    ]
    assert chunks[0].generator_losses == chunks[1].generator_losses
    assert chunks[0].discriminator_losses == chunks[1].discriminator_losses
    for ours, theirs in zip(*(chunk.export(0, genome, dataset) for chunk in chunks)):
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs))


def test_chunk_specs_describe_what_load_chunk_gives():
    """The compiled functions are traced from ``chunk_specs`` before any genome is loaded:
    the loss one-hot, the decays and the generators' average must be there, shaped alike."""
    dataset = gaussian_1d(samples=100)
    mixed = [
        _with(g, loss=loss, generator_ema=ema, r1_penalty=r1, packing=m)
        for g, (loss, ema, r1), m in zip(_genomes()[1:4], LOSS_GENES, (1, 2, 3))
    ]
    for genomes in (mixed, _genomes()[:2]):
        superset = batched.Superset.covering(genomes, dataset, None, 4, False)
        loaded = load_chunk(superset, genomes, [1] * len(genomes), dataset, 3)[:2]
        specs = chunk_specs(superset, dataset.dim)
        tf.nest.assert_same_structure(loaded, specs)
        for array, spec in zip(tf.nest.flatten(loaded), tf.nest.flatten(specs)):
            assert spec.is_compatible_with(tf.constant(array)), (array.shape, spec)
    genes, state = loaded
    assert genes.loss.shape == (4, 1) and state.generator_average == ()


def test_both_evaluators_score_and_keep_the_averaged_generator():
    """``EvalResult.weights`` (what the hall of fame saves) and the fitness come from the
    averaged generator in both evaluators alike."""
    dataset = gaussian_1d(samples=500)
    loss, ema, _ = LOSS_GENES[0]
    genomes = [_with(_genomes()[1], loss=loss, generator_ema=ema)]
    context = EvalContext(dataset=dataset, steps=STEPS, latent_stddev=2.0, eval_samples=1000, fitness="generator_loss")
    jobs = [(g, 5 + i) for i, g in enumerate(genomes)]
    results = batched.BatchedEvaluation(jit_compile=False).evaluate_chunk(jobs, context)
    for (genome, seed), result in zip(jobs, results):
        reference = eval_gan(genome, context.for_seed(seed))
        assert not result.failed and not reference.failed
        assert result.fitness[0] == pytest.approx(reference.fitness[0], rel=1e-4)
        for ours, theirs in zip(result.weights[0] + result.weights[1], reference.weights[0] + reference.weights[1]):
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
        plain = eval_gan(_with(genome, generator_ema=0.0), context.for_seed(seed))
        assert not all(np.allclose(a, b, rtol=1e-4, atol=1e-5) for a, b in zip(result.weights[0], plain.weights[0]))


def test_both_evaluators_judge_a_packing_individual_by_its_packs():
    """The own-discriminator fitness and the held-out diagnostics read the discriminator's
    logits of packs in both evaluators alike, and the saved discriminator takes packs."""
    dataset = gaussian_1d(samples=500)
    genome, seed = _with(_genomes()[1], packing=3), 5
    context = EvalContext(dataset=dataset, steps=STEPS, latent_stddev=2.0, eval_samples=1000, fitness="generator_loss")
    (result,) = batched.BatchedEvaluation(jit_compile=False).evaluate_chunk([(genome, seed)], context)
    reference = eval_gan(genome, context.for_seed(seed))
    assert not result.failed and not reference.failed
    assert result.fitness[0] == pytest.approx(reference.fitness[0], rel=1e-4)
    for name in ("discriminator_loss", "discriminator_accuracy_real", "discriminator_accuracy_fake"):
        assert getattr(result, name) == pytest.approx(getattr(reference, name), rel=1e-3, abs=2e-3), name
    assert result.weights[1][0].shape[0] == 3 * dataset.dim == reference.weights[1][0].shape[0]
