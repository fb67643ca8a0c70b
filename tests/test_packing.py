"""PacGAN packing (``deatf_gan.packing``): what the discriminator sees."""

import numpy as np
import tensorflow as tf

from deatf_gan.packing import pack, pack_rows


def test_each_pack_holds_degree_distinct_samples_of_its_batch_and_each_sample_is_in_degree_packs():
    samples = np.arange(10, dtype=np.float32).reshape(5, 2)  # sample i is [2i, 2i + 1]
    packs = pack(samples, 3).numpy()
    assert packs.shape == (5, 6)
    firsts = packs[:, ::2] / 2  # each block's sample index
    np.testing.assert_array_equal(firsts[:, 0], np.arange(5))
    np.testing.assert_array_equal(firsts, (np.arange(5)[:, None] + np.arange(3)[None, :]) % 5)
    assert all(len(set(row)) == 3 for row in firsts)
    assert np.array_equal(np.bincount(firsts.astype(int).ravel()), [3] * 5)


def test_degree_one_is_the_samples_themselves():
    samples = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    assert pack(samples, 1) is samples
    assert pack_rows(samples[None], 1, [7]) is not None and np.array_equal(pack_rows(samples[None], 1, [7])[0], samples)


def test_side_by_side_packs_cycle_within_each_individuals_own_rows():
    """Individual ``k`` owning ``counts[k]`` of the padded rows gets exactly the packs of its
    own batch, as ``pack`` gives them; without counts every row is its own."""
    rng = np.random.default_rng(1)
    samples = rng.normal(size=(3, 8, 2)).astype(np.float32)
    counts = [8, 5, 4]
    packed = pack_rows(tf.constant(samples), 4, tf.constant(counts, tf.float32)).numpy()
    assert packed.shape == (3, 8, 8)
    for k, count in enumerate(counts):
        np.testing.assert_array_equal(packed[k, :count], pack(samples[k, :count], 4).numpy())
    everything = pack_rows(tf.constant(samples), 2).numpy()
    for k in range(3):
        np.testing.assert_array_equal(everything[k], pack(samples[k], 2).numpy())
