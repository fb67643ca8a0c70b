import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from deatf_gan.config import config_from_dict
from deatf_gan.genome import GANGenome, LayerGene, MLPDescriptor
from deatf_gan.operators import CROSSOVERS, MUTATIONS, applicable_mutations, crossover, mutate

SPACE = config_from_dict({}).build_search_space()
REQUIRED = {
    "add_layer",
    "remove_layer",
    "change_units",
    "change_activation",
    "change_initializer",
    "change_dropout",
    "toggle_batch_norm",
    "mutate_hyperparameter",
}


def test_required_operators_are_registered():
    assert REQUIRED <= set(MUTATIONS.names())
    assert {"swap_networks", "layerwise"} <= set(CROSSOVERS.names())


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), moves=st.integers(1, 40))
def test_random_variation_keeps_genomes_valid(seed, moves):
    rng = np.random.default_rng(seed)
    a, b = SPACE.sample(rng), SPACE.sample(rng)
    for _ in range(moves):
        if rng.random() < 0.3:
            a, b, name = crossover(a, b, SPACE, rng)
            assert name in CROSSOVERS
        else:
            a, name = mutate(a, SPACE, rng)
            assert name in MUTATIONS
        SPACE.validate(a)
        SPACE.validate(b)
        assert GANGenome.from_json(a.to_json()) == a


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_each_applicable_mutation_keeps_genome_valid(seed):
    rng = np.random.default_rng(seed)
    genome = SPACE.sample(rng)
    for name in MUTATIONS.names():
        mutation = MUTATIONS.get(name)
        if mutation.applicable(genome, SPACE):
            SPACE.validate(mutation.apply(genome, SPACE, rng))


def test_inapplicable_operator_is_never_chosen(rng):
    one_layer = SPACE.sample(rng)
    one_layer = GANGenome(
        MLPDescriptor(one_layer.generator.layers[:1]),
        MLPDescriptor(one_layer.discriminator.layers[:1]),
        one_layer.hyperparameters,
    )
    names = [m.name for m in applicable_mutations(one_layer, SPACE)]
    assert "remove_layer" not in names
    for _ in range(300):
        _, name = mutate(one_layer, SPACE, rng)
        assert name != "remove_layer"


def test_only_remove_layer_named_and_not_applicable_leaves_genome_unchanged(rng):
    genome = GANGenome(
        MLPDescriptor((LayerGene(8),)), MLPDescriptor((LayerGene(8),)), SPACE.sample(rng).hyperparameters
    )
    assert mutate(genome, SPACE, rng, names=["remove_layer"]) == (genome, None)


def test_field_mutation_not_applicable_with_single_choice(rng):
    single = config_from_dict(
        {"search_space": {r: {"activations": ["relu"], "batch_norm": False} for r in ("generator", "discriminator")}}
    ).build_search_space()
    names = {m.name for m in applicable_mutations(single.sample(rng), single)}
    assert "change_activation" not in names and "toggle_batch_norm" not in names


def test_swap_networks_exchanges_whole_networks(rng):
    a, b = SPACE.sample(rng), SPACE.sample(rng)
    child_a, child_b = CROSSOVERS.get("swap_networks").apply(a, b, SPACE, rng)
    swapped = [role for role in ("generator", "discriminator") if child_a.network(role) == b.network(role)]
    assert len(swapped) == 1
    assert child_b.network(swapped[0]) == a.network(swapped[0])
    assert child_a.hyperparameters == a.hyperparameters


def test_user_registered_mutation_is_used(rng):
    from dataclasses import replace

    from deatf_gan.operators import register_mutation

    @register_mutation("test_double_batch", lambda genome, space: genome.hyperparameters.batch_size == 32)
    def double_batch(genome, space, rng):
        return replace(genome, hyperparameters=replace(genome.hyperparameters, batch_size=64))

    try:
        genome = SPACE.sample(rng)
        genome = replace(genome, hyperparameters=replace(genome.hyperparameters, batch_size=32))
        child, name = mutate(genome, SPACE, rng, names=["test_double_batch"])
        assert name == "test_double_batch" and child.hyperparameters.batch_size == 64
    finally:
        MUTATIONS.unregister("test_double_batch")


def test_mutate_hyperparameter_moves_the_loss_and_the_generator_ema(rng):
    hyper = {"losses": ["non_saturating", "hinge"], "generator_ema": [0.0, 0.9]}
    space = config_from_dict({"search_space": {"hyperparameters": hyper}}).build_search_space()
    genome = space.sample(rng)
    moved = set()
    for _ in range(200):
        child = MUTATIONS.get("mutate_hyperparameter").apply(genome, space, rng)
        space.validate(child)
        moved |= {
            n
            for n in ("loss", "generator_ema")
            if getattr(child.hyperparameters, n) != getattr(genome.hyperparameters, n)
        }
    assert moved == {"loss", "generator_ema"}
