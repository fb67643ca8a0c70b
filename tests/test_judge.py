import math

import numpy as np
import pytest

from deatf_gan.judge import judged_generator_loss, judged_generator_losses


def _real():
    return np.random.default_rng(0).normal(10, 1, (5000, 1)).astype(np.float32)


def _loss(fake, seed=0):
    fake = fake.astype(np.float32)
    return judged_generator_loss(_real(), fake, fake[:2000], seed=seed, steps=400)


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


def test_batched_judges_score_as_lone_judges():
    """Judge ``k`` of a batch gets the weights, minibatches and scaling of a lone judge."""
    rng = np.random.default_rng(5)
    fakes = [rng.normal(mean, 1, (5000, 1)).astype(np.float32) for mean in (10, 10.5, 12)]
    seeds = [4, 9, 1]
    batched = judged_generator_losses(_real(), fakes, [f[:2000] for f in fakes], seeds, steps=400)
    alone = [_loss(fake, seed) for fake, seed in zip(fakes, seeds)]
    assert batched == pytest.approx(alone, rel=1e-5)
    assert len(set(batched)) == 3


def test_mismatched_batches_are_refused():
    real, fake = _real(), np.zeros((100, 1), np.float32)
    with pytest.raises(ValueError, match="fakes_train"):
        judged_generator_losses(real, [fake, fake[:50]], [fake, fake], [0, 1])
    with pytest.raises(ValueError, match="fakes_eval"):
        judged_generator_losses(real, [fake, fake], [fake, np.zeros((100, 2), np.float32)], [0, 1])
    with pytest.raises(ValueError, match="per seed"):
        judged_generator_losses(real, [fake, fake], [fake, fake], [0])
