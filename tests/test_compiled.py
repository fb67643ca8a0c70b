"""Compiled functions (``deatf_gan.compiled``) and the compiled code that later processes find on disk."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from deatf_gan import stored_graphs, xla_cache
from deatf_gan.compiled import CompiledFunction


def _pure_step(weights, x):
    """A pure compiled function with a loop: values in, values out."""
    _, total = tf.while_loop(lambda i, t: i < 3, lambda i, t: (i + 1, t + tf.reduce_sum(tf.tanh(weights * x))), (0, 0.0))
    return total, weights + x


def test_a_function_is_traced_once_per_signature_and_matches_eager_execution():
    function = CompiledFunction(_pure_step, key="pure step")
    weights, x = tf.constant([0.5, -0.25]), tf.constant([1.0, 2.0])
    total, summed = function(weights, x)
    function(weights + 1.0, x)
    assert function.function.experimental_get_tracing_count() == 1
    function(tf.constant([0.5, -0.25, 1.0]), tf.constant([1.0, 2.0, 3.0]))
    assert function.function.experimental_get_tracing_count() == 2
    np.testing.assert_allclose(float(total), 3 * float(np.sum(np.tanh(np.array([0.5, -0.5])))), rtol=1e-6)
    assert summed.numpy().tolist() == [1.5, 1.75]


TRAIN_A_TOY_CHUNK = """
import sys
import numpy as np
import pytest
from deatf_gan import batched, xla_cache
from deatf_gan.config import load_config
from deatf_gan.datasets import load_dataset
xla_cache.enable()
config = load_config(sys.argv[1])
space = config.build_search_space()
dataset = load_dataset("gaussian_1d", config.data.params, 0)
genomes = [space.sample(np.random.default_rng(seed)) for seed in range(4)]
batched.train_chunk(genomes, [0, 1, 2, 3], dataset, 10, space=space)
"""


@pytest.mark.parametrize("stored", ["0", "1"])
def test_a_later_process_finds_the_compiled_training_code(tmp_path, stored):
    """The first process compiles; the next, with or without stored graphs, must find the
    compiled code on disk, not compile it again (a folded constant named differently in each
    process once made it miss)."""
    env = {name: value for name, value in os.environ.items() if name != "TF_XLA_FLAGS"}  # this process's cache
    env.update({xla_cache.SETTING: str(tmp_path), "TF_NUM_INTRAOP_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
                stored_graphs.SETTING: stored})
    config = Path(__file__).resolve().parent.parent / "configs" / "gaussian_1d.yaml"

    def train_and_list_compiled() -> list[str]:
        subprocess.run([sys.executable, "-c", TRAIN_A_TOY_CHUNK, str(config)], env=env, check=True, timeout=600)
        return sorted(path.name for path in tmp_path.glob("xla_compile_cache*"))

    traced = train_and_list_compiled()
    assert len(list(tmp_path.glob("graph-*.pb"))) == int(stored) and len(traced) == 1
    assert train_and_list_compiled() == traced


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
    done = subprocess.run([sys.executable, "-c", RUN_IN_A_WORKER, str(path), str(tmp_path / "run")],
                          check=False, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "tensorflow in the driver: False" in done.stdout
    assert list((tmp_path / "cache").glob("xla_compile_cache*"))
    generator = keras.models.load_model(tmp_path / "run" / "hall_of_fame" / "rank_1" / "generator.keras")
    assert generator.name == "generator"
