import keras
import numpy as np

from deatf_gan.build import build_discriminator, build_generator, build_pair
from deatf_gan.datasets import Dataset
from deatf_gan.genome import GANGenome, Hyperparameters, LayerGene, MLPDescriptor

GENOME = GANGenome(
    generator=MLPDescriptor(
        (
            LayerGene(12, "tanh", "he_normal", dropout=0.25, batch_norm=True),
            LayerGene(5, "elu", "lecun_uniform"),
        )
    ),
    discriminator=MLPDescriptor((LayerGene(7, "leaky_relu", "random_uniform", dropout=0.1),)),
    hyperparameters=Hyperparameters(latent_dim=3),
)


def _kinds(model):
    return [type(layer).__name__ for layer in model.layers]


def test_generator_has_the_layers_the_genome_says(gaussian):
    generator = build_generator(GENOME, gaussian, seed=0)
    assert generator.input_shape == (None, 3)
    assert generator.output_shape == (None, 1)
    assert _kinds(generator) == [
        "InputLayer",
        "Dense",
        "BatchNormalization",
        "Activation",
        "Dropout",
        "Dense",
        "Activation",
        "Dense",
        "Normalization",
    ]
    dense = [layer for layer in generator.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [12, 5, 1]
    assert isinstance(dense[0].kernel_initializer, keras.initializers.HeNormal)
    assert isinstance(dense[1].kernel_initializer, keras.initializers.LecunUniform)
    activations = [
        layer.get_config()["activation"] for layer in generator.layers if isinstance(layer, keras.layers.Activation)
    ]
    assert activations == ["tanh", "elu"]
    dropout = [layer.rate for layer in generator.layers if isinstance(layer, keras.layers.Dropout)]
    assert dropout == [0.25]


def test_discriminator_ends_in_one_linear_logit(gaussian):
    discriminator = build_discriminator(GENOME, gaussian, seed=0)
    assert discriminator.input_shape == (None, 1)
    assert discriminator.output_shape == (None, 1)
    assert _kinds(discriminator) == ["InputLayer", "Normalization", "Dense", "Activation", "Dropout", "Dense"]
    assert discriminator.layers[-1].get_config()["activation"] == "linear"
    assert discriminator.layers[2].units == 7
    assert discriminator.layers[3].get_config()["activation"] == "leaky_relu"


def test_tanh_dataset_gives_tanh_output_and_no_rescaling():
    data = np.random.default_rng(0).uniform(-1, 1, size=(100, 4)).astype(np.float32)
    dataset = Dataset("box", data, output_activation="tanh", standardize=False)
    generator, discriminator = build_pair(GENOME, dataset, seed=0)
    assert generator.layers[-1].get_config()["activation"] == "tanh"
    assert generator.output_shape == (None, 4)
    assert "Normalization" not in _kinds(generator) + _kinds(discriminator)
    out = generator(np.ones((5, 3), np.float32)).numpy()
    assert np.all(np.abs(out) <= 1)


def test_same_seed_same_weights_other_seed_other_weights(gaussian):
    a = build_generator(GENOME, gaussian, seed=7).get_weights()
    b = build_generator(GENOME, gaussian, seed=7).get_weights()
    c = build_generator(GENOME, gaussian, seed=8).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_standardised_generator_works_in_data_units(gaussian):
    generator = build_generator(GENOME, gaussian, seed=0)
    normalization = generator.layers[-1]
    assert np.allclose(normalization.mean, gaussian.mean)
    assert np.allclose(normalization.variance, gaussian.variance)
