"""Compiled functions (``deatf_gan.compiled``) and the compiled code that later processes find on disk."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from deatf_gan import xla_cache
from deatf_gan.compiled import CompiledFunction


def _pure_step(weights, x):
    """A pure compiled function with a loop: values in, values out."""
    _, total = tf.while_loop(
        lambda i, t: i < 3, lambda i, t: (i + 1, t + tf.reduce_sum(tf.tanh(weights * x))), (0, 0.0)
    )
    return total, weights + x


def test_a_function_is_traced_once_per_signature_and_matches_eager_execution():
    function = CompiledFunction(_pure_step)
    weights, x = tf.constant([0.5, -0.25]), tf.constant([1.0, 2.0])
    total, summed = function(weights, x)
    function(weights + 1.0, x)
    assert function.function.experimental_get_tracing_count() == 1
    function(tf.constant([0.5, -0.25, 1.0]), tf.constant([1.0, 2.0, 3.0]))
    assert function.function.experimental_get_tracing_count() == 2
    np.testing.assert_allclose(float(total), 3 * float(np.sum(np.tanh(np.array([0.5, -0.5])))), rtol=1e-6)
    assert summed.numpy().tolist() == [1.5, 1.75]


def test_a_prepared_trace_with_an_open_dimension_serves_every_shape():
    function = CompiledFunction(_pure_step)
    spec = tf.TensorSpec([None], tf.float32)
    function.prepare(spec, spec)
    short, longer = function(tf.ones([2]), tf.ones([2])), function(tf.ones([5]), tf.ones([5]))
    assert function.function.experimental_get_tracing_count() == 1
    assert longer[1].numpy().tolist() == [2.0] * 5 and float(short[0]) == pytest.approx(6 * np.tanh(1.0))


EVALUATE_A_TOY_CHUNK = """
import sys
import numpy as np
from deatf_gan import xla_cache
from deatf_gan.batched import BatchedEvaluation
from deatf_gan.config import load_config
from deatf_gan.datasets import load_dataset
from deatf_gan.evaluation import EvalContext
xla_cache.enable()
config = load_config(sys.argv[1])
space = config.build_search_space()
dataset = load_dataset("gaussian_1d", config.data.params, 0)
seeds = [int(seed) for seed in sys.argv[2].split(",")]
jobs = [(space.sample(np.random.default_rng(seed)), seed) for seed in seeds]
context = EvalContext(dataset=dataset, steps=10, latent_stddev=2.0, eval_samples=1000, fitness="generator_loss")
BatchedEvaluation(space, lanes=1).evaluate_chunk(jobs, context)
"""


@pytest.mark.slow
def test_a_later_process_finds_the_compiled_code_whatever_it_trains_first(tmp_path):
    """The first process compiles; the next meets the same shapes in another order (its first
    genome has another batch bucket, and other initial weights are drawn first) and must
    find every compiled function on disk, not compile again: traced in another order, the
    functions would be named apart, and the names reach the compiled code."""
    env = {name: value for name, value in os.environ.items() if name != "TF_XLA_FLAGS"}  # this process's cache
    env.update({xla_cache.SETTING: str(tmp_path), "TF_NUM_INTRAOP_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"})
    config = Path(__file__).resolve().parent.parent / "configs" / "gaussian_1d.yaml"

    def evaluate_and_list_compiled(seeds: str) -> list[str]:
        command = [sys.executable, "-c", EVALUATE_A_TOY_CHUNK, str(config), seeds]
        subprocess.run(command, env=env, check=True, timeout=600)
        return sorted(path.name for path in tmp_path.glob("xla_compile_cache*"))

    compiled = evaluate_and_list_compiled("8,0")  # batch buckets 64 (trained first) and 32
    assert len(compiled) == 3  # each bucket's training function, and one scoring function for both
    assert evaluate_and_list_compiled("8") == compiled  # bucket 32 alone, other weights drawn first


RUN_IN_A_WORKER = """
import sys
from deatf_gan.cli import main
code = main(["run", sys.argv[1], "--out", sys.argv[2], "--quiet"])
print("tensorflow in the driver:", "tensorflow" in sys.modules)
sys.exit(code)
"""


def test_a_run_with_workers_keeps_tensorflow_out_of_the_driver_and_its_compiled_code_on_disk(tmp_path):
    """The driver evolves and writes the run directory without TensorFlow; the worker turns
    XLA's cache on before TensorFlow reads its flags (set later, it would be ignored and
    every run would compile again), and makes the hall of fame's Keras files."""
    import keras
    import yaml

    from tests.conftest import TINY_RUN

    config = {**TINY_RUN, "executor": {"kind": "processes", "workers": 1}}
    config["evolution"] = {**TINY_RUN["evolution"], "population": 2, "generations": 0}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {name: value for name, value in os.environ.items() if name != "TF_XLA_FLAGS"}
    env.update({xla_cache.SETTING: str(tmp_path / "cache"), "TF_CPP_MIN_LOG_LEVEL": "2"})
    done = subprocess.run(
        [sys.executable, "-c", RUN_IN_A_WORKER, str(path), str(tmp_path / "run")],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "tensorflow in the driver: False" in done.stdout
    assert list((tmp_path / "cache").glob("xla_compile_cache*"))
    generator = keras.models.load_model(tmp_path / "run" / "hall_of_fame" / "rank_1" / "generator.keras")
    assert generator.name == "generator"
