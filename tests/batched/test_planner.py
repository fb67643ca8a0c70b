"""The batched evaluator's planner (``deatf_gan.batched.planner``): shapes, buckets, calls, costs."""

import subprocess
import sys

import numpy as np

from deatf_gan.batched.planner import (
    BATCH_BUCKET_FLOOR,
    Superset,
    batch_bucket,
    call_population,
    call_superset,
    plan_calls,
    population_bucket,
    training_cost,
)
from deatf_gan.config import config_from_dict, load_config
from deatf_gan.datasets import gaussian_1d
from deatf_gan.genome import GANGenome, Hyperparameters, LayerGene, MLPDescriptor


def _genome(batch_size: int = 32, discriminator_steps: int = 1, units: int = 8) -> GANGenome:
    layer = MLPDescriptor((LayerGene(units),))
    return GANGenome(layer, layer, Hyperparameters(batch_size=batch_size, discriminator_steps=discriminator_steps))


def test_batch_buckets_are_powers_of_two_from_the_floor():
    assert [batch_bucket(b) for b in (1, 8, 32, 33, 64, 100, 128, 129)] == [32, 32, 32, 64, 64, 128, 128, 256]
    assert all(batch_bucket(b) >= max(b, BATCH_BUCKET_FLOOR) for b in range(1, 600))
    assert [population_bucket(n) for n in (1, 4, 5, 9)] == [4, 4, 8, 16]


def test_training_cost_grows_with_steps_discriminator_steps_and_batch():
    base = training_cost(_genome(), 100)
    assert training_cost(_genome(), 200) == 2 * base
    assert training_cost(_genome(discriminator_steps=2), 100) > base
    assert training_cost(_genome(batch_size=128), 100) > base
    assert training_cost(_genome(batch_size=20), 100) == base  # the same bucket costs the same


def test_a_superset_covers_the_space_and_any_genome_beyond_it():
    space = load_config("configs/gaussian_1d.yaml").build_search_space()
    wide = _genome(batch_size=500, units=space.generator.units.high + 5)
    superset = Superset.covering([wide], gaussian_1d(samples=50), space, 1, False)
    assert superset.generator.units == space.generator.units.high + 5
    assert superset.batch == 500 and superset.generator.layers >= space.generator.max_layers
    assert set(superset.generator.activations) == set(space.generator.activation.options)


def test_calls_of_one_pad_to_their_bucket_and_plans_put_costliest_first():
    dataset = gaussian_1d(samples=50)
    genomes = [_genome(16), _genome(100, 2), _genome(100), _genome(40)]
    chunk = Superset.covering(genomes, dataset, None, 1, False)
    assert call_population(chunk) >= 1
    single = [call_superset(chunk, g) for g in genomes]
    assert [s.batch for s in single] == [32, 100, 100, 64]
    assert plan_calls(genomes, single, 1) == [[1], [2], [3], [0]]
    pairs = Superset.covering(genomes, dataset, None, 2, False)
    calls = plan_calls(genomes, [call_superset(pairs, g) for g in genomes], 2)
    assert sorted(i for call in calls for i in call) == [0, 1, 2, 3] and all(len(call) <= 2 for call in calls)


def test_the_planner_imports_no_tensorflow():
    code = "import sys, deatf_gan.batched.planner; assert 'tensorflow' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    assert np.isfinite(training_cost(_genome(), 1))


def test_a_superset_computes_only_the_losses_and_averaging_its_space_and_genomes_may_use():
    dataset = gaussian_1d(samples=100)
    plain, hinge = _genome(), _genome()
    hinge = GANGenome(hinge.generator, hinge.discriminator, Hyperparameters(loss="hinge", generator_ema=0.99))
    covering = Superset.covering([plain], dataset, None, 1, False)
    assert covering.losses == ("non_saturating",) and not covering.generator_ema
    covering = Superset.covering([hinge, plain], dataset, None, 1, False)
    assert covering.losses == ("non_saturating", "hinge") and covering.generator_ema
    space = config_from_dict(
        {"search_space": {"hyperparameters": {"losses": ["least_squares"], "generator_ema": [0.0, 0.9]}}}
    ).build_search_space()
    covering = Superset.covering([plain], dataset, space, 1, False)
    assert covering.losses == ("non_saturating", "least_squares") and covering.generator_ema
