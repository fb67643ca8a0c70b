import json
import re

import numpy as np
import pytest

from deatf_gan.config import config_from_dict
from deatf_gan.errors import GenomeError
from deatf_gan.genome import GANGenome, Hyperparameters, LayerGene, MLPDescriptor
from deatf_gan.genome.space import HYPERPARAMETER_FIELDS


def test_json_round_trip_is_exact(space, rng):
    for _ in range(50):
        genome = space.sample(rng)
        assert GANGenome.from_json(genome.to_json()) == genome
        assert GANGenome.from_json(genome.to_json()).fingerprint() == genome.fingerprint()


def test_genome_is_plain_data(space, rng):
    data = json.loads(space.sample(rng).to_json())
    assert set(data) == {"generator", "discriminator", "hyperparameters"}
    assert isinstance(data["generator"]["layers"][0]["activation"], str)


def _genome_dict(space, rng):
    return json.loads(space.sample(rng).to_json())


@pytest.mark.parametrize(
    "edit, field",
    [
        (lambda d: d["generator"]["layers"][0].update(units=-3), "generator.layers[0].units"),
        (lambda d: d["discriminator"]["layers"][0].update(activation="relu6"), "discriminator.layers[0].activation"),
        (lambda d: d["generator"]["layers"][0].update(initializer="zeros"), "generator.layers[0].initializer"),
        (lambda d: d["generator"]["layers"][0].update(dropout=1.5), "generator.layers[0].dropout"),
        (lambda d: d["generator"]["layers"][0].update(batch_norm="yes"), "generator.layers[0].batch_norm"),
        (lambda d: d["generator"]["layers"][0].update(colour="red"), "generator.layers[0].colour"),
        (lambda d: d["discriminator"].update(layers=[]), "discriminator.layers"),
        (lambda d: d["hyperparameters"].update(optimizer="adagrad"), "hyperparameters.optimizer"),
        (lambda d: d["hyperparameters"].update(batch_size=0), "hyperparameters.batch_size"),
        (lambda d: d["hyperparameters"].update(loss="wasserstein"), "hyperparameters.loss"),
        (lambda d: d["hyperparameters"].update(generator_ema=1.0), "hyperparameters.generator_ema"),
        (lambda d: d["hyperparameters"].update(generator_ema=-0.5), "hyperparameters.generator_ema"),
        (lambda d: d["hyperparameters"].update(packing=0), "hyperparameters.packing"),
        (lambda d: d["hyperparameters"].update(packing=2.0), "hyperparameters.packing"),
        (lambda d: d["hyperparameters"].update(batch_size=3, packing=4), "hyperparameters.packing"),
        (
            lambda d: d["hyperparameters"].update(generator_learning_rate=float("nan")),
            "hyperparameters.generator_learning_rate",
        ),
        (lambda d: d.pop("hyperparameters"), "genome.hyperparameters"),
    ],
)
def test_invalid_json_names_the_field(space, rng, edit, field):
    data = _genome_dict(space, rng)
    edit(data)
    with pytest.raises(GenomeError, match="^" + re.escape(field)):
        GANGenome.from_dict(data)


def test_hand_built_invalid_genome_names_the_field():
    with pytest.raises(GenomeError, match="units"):
        LayerGene(units=0)
    with pytest.raises(GenomeError, match="discriminator_steps"):
        Hyperparameters(discriminator_steps=0)
    with pytest.raises(GenomeError, match="layers"):
        MLPDescriptor(())


def test_not_json_is_a_genome_error():
    with pytest.raises(GenomeError, match="not valid JSON"):
        GANGenome.from_json("{generator:")


def test_search_space_validation_names_the_field(space, rng):
    genome = space.sample(rng)
    too_wide = GANGenome.from_dict(
        {**genome.to_dict(), "generator": {"layers": [dict(genome.to_dict()["generator"]["layers"][0], units=10_000)]}}
    )
    with pytest.raises(GenomeError, match=r"generator\.layers\[0\]\.units: 10000 is outside"):
        space.validate(too_wide)
    too_deep = GANGenome(
        generator=MLPDescriptor(genome.generator.layers[:1] * 7),
        discriminator=genome.discriminator,
        hyperparameters=genome.hyperparameters,
    )
    with pytest.raises(GenomeError, match=r"generator\.layers: 7 layers"):
        space.validate(too_deep)


def test_samples_lie_in_the_space(space, rng):
    for _ in range(200):
        assert space.contains(space.sample(rng))


# A genome as runs wrote it before the loss and generator_ema genes existed.
OLD_GENOME_JSON = """{"discriminator": {"layers": [{"activation": "relu", "batch_norm": false, "dropout": 0.0,
  "initializer": "he_uniform", "units": 8}]},
 "generator": {"layers": [{"activation": "tanh", "batch_norm": true, "dropout": 0.1,
  "initializer": "glorot_uniform", "units": 16}]},
 "hyperparameters": {"batch_size": 32, "discriminator_learning_rate": 0.002, "discriminator_steps": 2,
  "generator_learning_rate": 0.001, "latent_dim": 3, "optimizer": "rmsprop"}}"""


def test_a_genome_written_before_the_loss_genes_loads_as_plain_training():
    genome = GANGenome.from_json(OLD_GENOME_JSON)
    assert genome.hyperparameters.loss == "non_saturating"
    assert genome.hyperparameters.generator_ema == 0.0 and genome.hyperparameters.packing == 1
    assert genome.hyperparameters.optimizer == "rmsprop" and genome.hyperparameters.discriminator_steps == 2
    # Its run's saved config spells out the generator dropout that the default space then allowed.
    old_dropout = {"generator": {"dropout": {"min": 0.0, "max": 0.2}}}
    config_from_dict({"search_space": old_dropout}).build_search_space().validate(genome)
    assert GANGenome.from_json(genome.to_json()) == genome


def test_loss_and_generator_ema_round_trip_through_json():
    hyper = {"losses": ["non_saturating", "least_squares", "hinge"], "generator_ema": [0.0, 0.9, 0.999]}
    space = config_from_dict({"search_space": {"hyperparameters": hyper}}).build_search_space()
    rng = np.random.default_rng(7)
    genomes = [space.sample(rng) for _ in range(40)]
    assert {g.hyperparameters.loss for g in genomes} == set(hyper["losses"])
    assert {g.hyperparameters.generator_ema for g in genomes} == set(hyper["generator_ema"])
    for genome in genomes:
        data = json.loads(genome.to_json())
        assert data["hyperparameters"]["loss"] == genome.hyperparameters.loss
        assert GANGenome.from_json(genome.to_json()) == genome
        space.validate(genome)


def test_a_space_without_loss_choices_draws_the_random_numbers_it_always_did(space):
    """The default loss, generator_ema, r1_penalty and packing are choices of one, which draw
    nothing: a run's seed still samples the genomes it sampled before these genes existed."""
    assert HYPERPARAMETER_FIELDS[-4:] == ("loss", "generator_ema", "r1_penalty", "packing")
    ours, theirs = np.random.default_rng(3), np.random.default_rng(3)
    space.hyperparameters.sample(ours)
    for name in HYPERPARAMETER_FIELDS[:-4]:
        space.hyperparameters.field(name).sample(theirs)
    assert ours.random() == theirs.random()


def test_summary_names_a_small_dropout_as_itself_and_none_as_nothing():
    layers = (LayerGene(4, "relu", dropout=0.0), LayerGene(4, "tanh", dropout=0.004), LayerGene(4, "elu", dropout=0.14))
    assert MLPDescriptor(layers).summary() == "4 relu → 4 tanh+drop0.004 → 4 elu+drop0.14"
