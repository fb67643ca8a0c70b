"""The DEATF adapter: a legacy positional GAN evaluation runs unchanged on our genomes."""

import math
import pickle

import keras
import numpy as np
import pytest
import tensorflow as tf

from deatf_gan.compat import LegacyNetwork, from_deatf, held_out_split
from deatf_gan.datasets import load_dataset
from deatf_gan.evaluation import EvalContext, evaluate_safely
from deatf_gan.genome import GANGenome, Hyperparameters, LayerGene, MLPDescriptor

GENOME = GANGenome(
    generator=MLPDescriptor((LayerGene(12, "relu", "he_uniform"), LayerGene(5, "tanh", "glorot_uniform"))),
    discriminator=MLPDescriptor((LayerGene(7, "elu", "glorot_normal", dropout=0.1, batch_norm=True),)),
    hyperparameters=Hyperparameters(
        batch_size=32, latent_dim=3, generator_learning_rate=2e-3, discriminator_learning_rate=2e-3
    ),
)

BUILT: dict = {}  # what the last legacy call built and received, for the assertions


def _logit_loss(logits, labels):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(logits=logits, labels=labels))


def legacy_gan_eval(nets, train_inputs, train_outputs, batch_size, iters, test_inputs, test_outputs, hypers):
    """Written the way DEATF's examples/gan.py is: n0 judges, n1 generates, a fixed Adam."""
    noise_size = hypers["latent_dim"]
    g_inp = keras.Input(shape=(noise_size,))
    g_model = keras.Model(g_inp, nets["n1"].building(g_inp))
    d_inp = keras.Input(shape=train_inputs["i0"].shape[1:])
    d_model = keras.Model(d_inp, nets["n0"].building(d_inp))
    g_opt = keras.optimizers.Adam(learning_rate=hypers["lrate"])
    d_opt = keras.optimizers.Adam(learning_rate=hypers["lrate"])

    @tf.function
    def train_step(x_batch, noise):
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_out = d_model(g_model(noise, training=True), training=True)
            real_out = d_model(x_batch, training=True)
            g_loss = _logit_loss(fake_out, tf.ones_like(fake_out))
            d_loss = _logit_loss(real_out, tf.ones_like(real_out)) + _logit_loss(fake_out, tf.zeros_like(fake_out))
        g_opt.apply_gradients(zip(g_tape.gradient(g_loss, g_model.trainable_variables), g_model.trainable_variables))
        d_opt.apply_gradients(zip(d_tape.gradient(d_loss, d_model.trainable_variables), d_model.trainable_variables))

    index = 0
    for _ in range(iters):
        x_batch = train_inputs["i0"][index : index + batch_size]
        index = (index + batch_size) % (len(train_inputs["i0"]) - batch_size)
        train_step(x_batch, np.random.normal(size=(len(x_batch), noise_size)).astype("float32"))

    BUILT.update(generator=g_model, discriminator=d_model, batch_size=batch_size, iters=iters, hypers=hypers)
    BUILT.update(train=(train_inputs, train_outputs), test=(test_inputs, test_outputs))
    noise = np.random.normal(size=(len(test_outputs["o0"]), noise_size)).astype("float32")
    fake_out = d_model(g_model(noise, training=False), training=False)
    return (_logit_loss(fake_out, tf.ones_like(fake_out)).numpy(),)


@pytest.fixture(scope="module")
def context():
    return EvalContext(load_dataset("gaussian_1d", {"samples": 1000}), steps=40, seed=11, eval_samples=1000)


def _dense_units(model):
    return [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def test_legacy_gan_runs_on_the_genome(context):
    result = evaluate_safely(from_deatf(legacy_gan_eval), GENOME, context)
    assert not result.failed, result.failure
    assert len(result.fitness) == 1 and math.isfinite(result.fitness[0]) and result.fitness[0] > 0
    # The hidden units of the genome, then the fixed output layer, as DEATF's building ended.
    assert _dense_units(BUILT["generator"]) == [12, 5, 1]
    assert _dense_units(BUILT["discriminator"]) == [7, 1]
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in BUILT["discriminator"].layers)
    assert BUILT["batch_size"] == 32 and BUILT["iters"] == 40
    assert BUILT["hypers"]["lrate"] == 2e-3 and BUILT["hypers"]["optimizer"] == "adam"


def test_data_is_split_into_train_and_held_out_test(context):
    evaluate_safely(from_deatf(legacy_gan_eval), GENOME, context)
    (train_inputs, train_outputs), (test_inputs, test_outputs) = BUILT["train"], BUILT["test"]
    assert train_inputs["i0"] is train_outputs["o0"] and test_inputs["i0"] is test_outputs["o0"]
    assert len(train_inputs["i0"]) == 800 and len(test_inputs["i0"]) == 200
    together = np.sort(np.concatenate([train_inputs["i0"], test_inputs["i0"]]), axis=0)
    np.testing.assert_array_equal(together, np.sort(context.dataset.samples, axis=0))


def test_same_seed_same_result(context):
    adapted = pickle.loads(pickle.dumps(from_deatf(legacy_gan_eval)))  # process executors send it
    first = evaluate_safely(adapted, GENOME, context).fitness
    assert evaluate_safely(adapted, GENOME, context).fitness == first
    assert evaluate_safely(adapted, GENOME, context.for_seed(12)).fitness != first


def test_building_is_the_decoded_network(context):
    generator, discriminator = context.build_pair(GENOME)
    for model in (generator, discriminator):
        wrapper = LegacyNetwork(model)
        inputs = keras.Input(model.input_shape[1:])
        first = keras.Model(inputs, wrapper.building(inputs))
        both = keras.Model(inputs, [first.output, wrapper.building(inputs)])  # a second call: new names
        x = np.random.default_rng(0).normal(size=(6, model.input_shape[1])).astype("float32")
        np.testing.assert_allclose(first(x, training=False), model(x, training=False), rtol=1e-6)
        assert len({layer.name for layer in both.layers}) == len(both.layers)


def test_bad_legacy_return_fails_only_the_individual(context):
    result = evaluate_safely(from_deatf(lambda *args: "good"), GENOME, context)
    assert result.failed and "str" in result.failure
    result = evaluate_safely(from_deatf(lambda *args: (np.float32("nan"),)), GENOME, context)
    assert result.failed and "non-finite" in result.failure


def test_split_keeps_a_row_on_each_side():
    train, test = held_out_split(np.arange(2.0).reshape(2, 1))
    assert len(train) == 1 and len(test) == 1


def test_legacy_function_named_in_a_config_runs_a_whole_evolution(tmp_path):
    import copy

    import yaml

    from deatf_gan.cli import main
    from deatf_gan.runs import load_run
    from tests.conftest import TINY_RUN

    raw = copy.deepcopy(TINY_RUN)
    raw["evaluation"] = {"function": "tests.test_compat:legacy_gan_eval", "signature": "deatf"}
    raw["evolution"].update(generations=0, population=2)
    (tmp_path / "legacy.yaml").write_text(yaml.safe_dump(raw))
    assert main(["run", str(tmp_path / "legacy.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    run = load_run(tmp_path / "run")
    assert not run.failures
    assert all(math.isfinite(member.fitness[0]) for member in run.hall_of_fame)
