"""In-graph noise (``deatf_gan.noise``) and the named streams (``deatf_gan.streams``)."""

import numpy as np
import tensorflow as tf

from deatf_gan.noise import cos_2pi, dropout_key, hashed_uniform, latent_noise
from deatf_gan.streams import LATENT_KEY, LAYERS_PER_DROPOUT_STREAM, DropoutStream, SeedStream, numpy_generator


def test_every_draw_of_latent_noise_is_fresh_and_repeatable():
    draws = [latent_noise(11, draw, (64, 3), 2.0).numpy() for draw in range(4)]
    assert all(not np.allclose(draws[i], draws[j]) for i in range(4) for j in range(i))
    assert np.array_equal(draws[2], latent_noise(11, 2, (64, 3), 2.0).numpy())
    assert 1.6 < np.concatenate(draws).std() < 2.4  # z ~ N(0, 2²)


def test_noise_of_one_individual_is_the_corner_of_a_larger_draw():
    small = latent_noise(7, 3, (16, 2), 2.0).numpy()
    large = latent_noise(7, 3, (64, 8), 2.0).numpy()
    assert np.array_equal(small, large[:16, :2])
    assert not np.array_equal(small, latent_noise(7, 4, (16, 2), 2.0).numpy())


def test_cos_2pi_is_the_cosine_to_float32_rounding():
    u = tf.constant(np.arange(1, 2**12 + 1, dtype=np.float32) / 2**12)
    np.testing.assert_allclose(cos_2pi(u).numpy(), np.cos(2 * np.pi * u.numpy().astype(np.float64)), atol=3e-7)


def test_every_dropout_stream_and_layer_has_its_own_hash_stream_apart_from_the_latent_one():
    keys = [dropout_key(int(stream), layer) for stream in DropoutStream for layer in range(LAYERS_PER_DROPOUT_STREAM)]
    assert len(set(keys)) == len(keys) and LATENT_KEY not in keys
    rows, cols = tf.range(64)[:, None], tf.range(8)[None, :]
    mask = hashed_uniform(5, 2, dropout_key(0, 0), rows, cols).numpy()
    latent_uniform = hashed_uniform(5, 2, LATENT_KEY, rows, cols).numpy()
    assert abs(np.corrcoef(mask.ravel(), latent_uniform.ravel())[0, 1]) < 0.1


def test_named_numpy_streams_differ_from_each_other_and_from_training():
    draws = {stream: numpy_generator(3, stream).random(4).tolist() for stream in SeedStream}
    draws["training"] = np.random.default_rng(3).random(4).tolist()
    assert len({tuple(d) for d in draws.values()}) == len(draws)
