import math

import numpy as np

from deatf_gan.judge import judged_generator_loss


def _loss(fake, seed=0):
    real = np.random.default_rng(0).normal(10, 1, (5000, 1)).astype(np.float32)
    fake = fake.astype(np.float32)
    return judged_generator_loss(real, fake, fake[:2000], seed=seed, steps=400)


def test_real_samples_score_near_log_2():
    same = np.random.default_rng(1).normal(10, 1, (5000, 1))
    assert abs(_loss(same) - math.log(2)) < 0.05


def test_collapsed_and_shifted_generators_score_worse():
    rng = np.random.default_rng(2)
    good = _loss(rng.normal(10, 1, (5000, 1)))
    narrow = _loss(rng.normal(10, 0.3, (5000, 1)))
    collapsed = _loss(np.full((5000, 1), 10.0))
    shifted = _loss(rng.normal(12, 1, (5000, 1)))
    assert good < narrow < collapsed
    assert good < shifted
    assert collapsed > 1.5


def test_judge_is_reproducible_per_seed():
    fake = np.random.default_rng(3).normal(10.5, 1, (5000, 1))
    assert _loss(fake, seed=4) == _loss(fake, seed=4)
