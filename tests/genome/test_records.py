import json
import re

import pytest

from deatf_gan.errors import GenomeError
from deatf_gan.genome import GANGenome, Hyperparameters, LayerGene, MLPDescriptor


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
