"""Lamarckian weight inheritance (``deatf_gan.inheritance``): what a child starts from."""

import dataclasses

import numpy as np
import pytest

from deatf_gan.build import build_pair, initial_weights
from deatf_gan.datasets import gaussian_1d, ring8
from deatf_gan.genome import GANGenome, Hyperparameters, LayerGene, MLPDescriptor
from deatf_gan.inheritance import Inheritance, Parent, align
from deatf_gan.operators import MUTATIONS, cx_layerwise, cx_swap_networks
from tests.conftest import TINY_RUN

DATASET = ring8(samples=200)
RELU = MLPDescriptor((LayerGene(6, "relu"), LayerGene(5, "relu")))


def _genome(generator=RELU, discriminator=RELU, latent_dim=3) -> GANGenome:
    return GANGenome(generator, discriminator, Hyperparameters(latent_dim=latent_dim))


def _trained(genome: GANGenome, seed: int):
    """Weights unlike any initialisation: random normal values, positive batch-norm variances."""
    rng = np.random.default_rng(seed)
    return tuple(
        [np.abs(w) + 0.5 if w.ndim == 1 and np.all(w == 1) else rng.normal(size=w.shape).astype(np.float32) for w in ws]
        for ws in initial_weights(genome, DATASET, seed)
    )


def _child_weights(child: GANGenome, *parents: tuple[GANGenome, tuple]):
    inheritance = Inheritance(tuple(Parent(g, w, 100) for g, w in parents))
    return inheritance.weights(child, initial_weights(child, DATASET, 9))


def _outputs(genome: GANGenome, weights, latent=None, data=None):
    """Inference-mode outputs of both networks holding ``weights``."""
    generator, discriminator = build_pair(genome, DATASET, 0)
    generator.set_weights(weights[0])
    discriminator.set_weights(weights[1])
    rng = np.random.default_rng(1)
    latent = rng.normal(size=(64, genome.hyperparameters.latent_dim)) if latent is None else latent
    data = rng.normal(size=(64, DATASET.dim)) if data is None else data
    return np.asarray(generator(latent, training=False)), np.asarray(discriminator(data, training=False))


def test_an_unchanged_genome_inherits_every_weight_exactly():
    parent = _genome()
    weights = _trained(parent, 0)
    child = _child_weights(parent, (parent, weights))
    assert all(np.array_equal(a, b) for role in range(2) for a, b in zip(child[role], weights[role]))


def test_a_hyperparameter_change_keeps_every_weight():
    parent = _genome()
    weights = _trained(parent, 0)
    child_genome = dataclasses.replace(
        parent, hyperparameters=Hyperparameters(latent_dim=3, generator_learning_rate=0.1)
    )
    child = _child_weights(child_genome, (parent, weights))
    assert all(np.array_equal(a, b) for role in range(2) for a, b in zip(child[role], weights[role]))


def test_a_widened_layer_keeps_the_function_and_its_new_units_can_learn():
    parent = _genome()
    weights = _trained(parent, 0)
    wider = MLPDescriptor((LayerGene(9, "relu"), LayerGene(5, "relu")))
    child_genome = _genome(generator=wider, discriminator=wider)
    child = _child_weights(child_genome, (parent, weights))
    for before, after in zip(_outputs(parent, weights), _outputs(child_genome, child)):
        np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)
    assert np.count_nonzero(child[0][0][:, 6:]) > 0  # new units have incoming weights
    assert not np.any(child[0][2][6:])  # and no outgoing ones yet


def test_new_latent_inputs_start_unused_and_a_narrowed_layer_keeps_its_first_units():
    parent = _genome()
    weights = _trained(parent, 0)
    narrower = MLPDescriptor((LayerGene(4, "relu"), LayerGene(5, "relu")))
    child_genome = _genome(generator=narrower, latent_dim=5)
    child = _child_weights(child_genome, (parent, weights))
    np.testing.assert_array_equal(child[0][0][:3], weights[0][0][:3, :4])
    assert not np.any(child[0][0][3:])
    np.testing.assert_array_equal(child[1][0], weights[1][0])


def test_batch_norm_switched_off_is_folded_into_the_layer():
    with_bn = MLPDescriptor((LayerGene(6, "relu", batch_norm=True), LayerGene(5, "tanh")))
    parent = _genome(discriminator=with_bn)
    weights = _trained(parent, 0)
    child_genome = _genome(discriminator=MLPDescriptor((LayerGene(6, "relu"), LayerGene(5, "tanh"))))
    child = _child_weights(child_genome, (parent, weights))
    np.testing.assert_allclose(_outputs(child_genome, child)[1], _outputs(parent, weights)[1], rtol=1e-4, atol=1e-4)


def test_an_added_layer_starts_near_the_identity_and_a_removed_one_drops_out():
    parent = _genome()
    weights = _trained(parent, 0)
    deeper = MLPDescriptor((LayerGene(6, "relu"), LayerGene(6, "relu"), LayerGene(5, "relu")))
    child_genome = _genome(generator=deeper)
    child = _child_weights(child_genome, (parent, weights))
    before, after = _outputs(parent, weights)[0], _outputs(child_genome, child)[0]
    assert np.max(np.abs(after - before)) < 0.05 * np.max(np.abs(before))
    shallower = MLPDescriptor((LayerGene(6, "relu"),))
    removed = _child_weights(_genome(generator=shallower), (parent, weights))
    np.testing.assert_array_equal(removed[0][0], weights[0][0])  # the first layer as it was


def test_alignment_finds_the_inserted_the_removed_and_the_changed_layer():
    a, b, c, d = (LayerGene(u, "relu") for u in (4, 5, 6, 7))
    assert align(MLPDescriptor((a, d, b)), MLPDescriptor((a, b))) == ([0, None, 1], 1)
    assert align(MLPDescriptor((a, c)), MLPDescriptor((a, b, c))) == ([0, 2], 1)
    assert align(MLPDescriptor((a, d, c)), MLPDescriptor((a, b, c))) == ([0, 1, 2], 1)


def test_crossover_children_take_each_network_and_layer_from_the_parent_it_came_from():
    rng = np.random.default_rng(0)
    first = _genome(MLPDescriptor((LayerGene(6, "relu"), LayerGene(5, "elu"))), RELU)
    second = _genome(MLPDescriptor((LayerGene(6, "tanh"), LayerGene(5, "relu"))), MLPDescriptor((LayerGene(7, "elu"),)))
    w_first, w_second = _trained(first, 0), _trained(second, 1)
    swapped, _ = cx_swap_networks(first, second, None, np.random.default_rng(3))
    child = _child_weights(swapped, (first, w_first), (second, w_second))
    for role, genome in enumerate((swapped.generator, swapped.discriminator)):
        source = w_first if genome == first.network(("generator", "discriminator")[role]) else w_second
        assert all(np.array_equal(a, b) for a, b in zip(child[role], source[role]))
    for _ in range(5):
        mixed, _ = cx_layerwise(first, second, None, rng)
        child = _child_weights(mixed, (first, w_first), (second, w_second))
        for j, gene in enumerate(mixed.generator.layers):
            source = w_first if gene == first.generator.layers[j] else w_second
            np.testing.assert_array_equal(child[0][2 * j], source[0][2 * j])


@pytest.mark.parametrize("name", sorted(MUTATIONS.names()))
def test_every_mutation_gives_weights_that_fit_the_child(name):
    from deatf_gan.config import config_from_dict

    space = config_from_dict(TINY_RUN).build_search_space()
    rng = np.random.default_rng(4)
    dataset = gaussian_1d(samples=100)
    for _ in range(10):
        parent = space.sample(rng)
        mutation = MUTATIONS.get(name)
        if not mutation.applicable(parent, space):
            continue
        child = mutation.apply(parent, space, rng)
        inheritance = Inheritance((Parent(parent, initial_weights(parent, dataset, 1), 30),))
        weights = inheritance.weights(child, initial_weights(child, dataset, 2))
        generator, discriminator = build_pair(child, dataset, 2)
        generator.set_weights(weights[0])  # raises if a shape is wrong
        discriminator.set_weights(weights[1])
        assert inheritance.trained_steps(child) == 30


def test_a_packing_change_keeps_the_discriminators_judgement_of_the_samples_it_saw():
    """Packing more samples adds first-layer rows, zero, so the child's discriminator judges a
    pack by its first samples exactly as the parent judged them; packing fewer drops rows."""
    from deatf_gan.packing import pack

    parent = dataclasses.replace(_genome(), hyperparameters=Hyperparameters(latent_dim=3, packing=2))
    weights = _trained(parent, 0)
    samples = np.random.default_rng(2).normal(size=(64, DATASET.dim)).astype(np.float32)
    for packing in (3, 1):
        child = dataclasses.replace(parent, hyperparameters=Hyperparameters(latent_dim=3, packing=packing))
        inherited = _child_weights(child, (parent, weights))
        kernel = inherited[1][0]
        assert kernel.shape[0] == packing * DATASET.dim
        shared = min(packing, 2) * DATASET.dim
        np.testing.assert_array_equal(kernel[:shared], weights[1][0][:shared])
        assert all(np.array_equal(a, b) for a, b in zip(inherited[0], weights[0]))
        if packing > 2:
            assert not kernel[shared:].any()
            ours = _outputs(child, inherited, data=pack(samples, packing))[1]
            theirs = _outputs(parent, weights, data=pack(samples, 2))[1]
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
