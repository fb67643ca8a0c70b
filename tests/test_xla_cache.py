import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import function_pb2

from deatf_gan import xla_cache


def test_the_cache_folder_is_per_tensorflow_version_and_cpu_and_can_be_moved_or_turned_off(monkeypatch, tmp_path):
    monkeypatch.delenv(xla_cache.SETTING, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    default = xla_cache.cache_directory()
    assert default.parent == tmp_path / "deatf_gan" and default.name.startswith(f"xla-{tf.__version__}-")
    monkeypatch.setenv(xla_cache.SETTING, str(tmp_path / "elsewhere"))
    assert xla_cache.cache_directory() == tmp_path / "elsewhere"
    monkeypatch.setenv(xla_cache.SETTING, "off")
    assert xla_cache.cache_directory() is None


def test_enable_sets_the_flag_once_and_leaves_a_users_own_cache_alone(monkeypatch, tmp_path):
    monkeypatch.setenv(xla_cache.SETTING, str(tmp_path / "cache"))
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_auto_jit=0")
    assert xla_cache.enable() == tmp_path / "cache" and (tmp_path / "cache").is_dir()
    assert os.environ["TF_XLA_FLAGS"] == f"--tf_xla_auto_jit=0 --tf_xla_persistent_cache_directory={tmp_path / 'cache'}"
    assert xla_cache.enable() is None  # already set: unchanged
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_persistent_cache_directory=/mine")
    assert xla_cache.enable() is None and os.environ["TF_XLA_FLAGS"] == "--tf_xla_persistent_cache_directory=/mine"


def test_native_stderr_is_hidden_only_meanwhile(capfd):
    with xla_cache.native_stderr_hidden():
        os.write(2, b"loader noise\n")
    os.write(2, b"a real message\n")
    assert capfd.readouterr().err == "a real message\n"


def test_prune_keeps_the_newest_files_within_the_limit(tmp_path):
    for age, name in enumerate(["newest", "middle", "oldest"]):
        path = tmp_path / name
        path.write_bytes(b"x" * 100)
        os.utime(path, (1_000_000 - age, 1_000_000 - age))
    assert xla_cache.prune(tmp_path, limit=250) == [tmp_path / "oldest"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["middle", "newest"]
    assert xla_cache.prune(tmp_path, limit=250) == []


def _step(variable, x):
    """A stateful compiled function with a loop: the shape the batched evaluator stores."""
    _, total = tf.while_loop(lambda i, t: i < 3, lambda i, t: (i + 1, t + tf.reduce_sum(variable * x)), (0, 0.0))
    variable.assign_add(x)
    return total, variable * 2.0


def test_a_stored_graph_is_loaded_by_a_new_function_with_the_same_results(monkeypatch, tmp_path):
    monkeypatch.setenv(xla_cache.SETTING, str(tmp_path))
    x = tf.constant([1.0, 2.0])
    traced_variable, loaded_variable = tf.Variable([0.5, 0.25]), tf.Variable([0.5, 0.25])
    traced = xla_cache.CompiledFunction(_step, key="test step")
    first = [t.numpy() for t in traced(traced_variable, x)]
    stored = list(tmp_path.glob("graph-*.pb"))
    assert len(stored) == 1 and stored[0].read_bytes().startswith(xla_cache.StoredGraph.HEADER)
    assert traced.function.experimental_get_tracing_count() == 1

    loaded = xla_cache.CompiledFunction(_step, key="test step")  # as a new process would
    again = [t.numpy() for t in loaded(loaded_variable, x)]
    assert loaded.function.experimental_get_tracing_count() == 0  # not traced: read from disk
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(traced_variable.numpy(), loaded_variable.numpy())  # the assignment ran too
    second = loaded(loaded_variable, x)
    np.testing.assert_array_equal(second[1].numpy(), [5.0, 8.5])  # (0.5, 0.25) + 2 x, doubled


def test_a_damaged_stored_graph_is_traced_again_and_replaced(monkeypatch, tmp_path):
    monkeypatch.setenv(xla_cache.SETTING, str(tmp_path))
    x = tf.constant([1.0, 2.0])
    xla_cache.CompiledFunction(_step, key="damaged step")(tf.Variable([0.0, 0.0]), x)
    (path,) = tmp_path.glob("graph-*.pb")
    path.write_bytes(path.read_bytes()[:100])  # cut short, as by a full disk
    retraced = xla_cache.CompiledFunction(_step, key="damaged step")
    total, doubled = retraced(tf.Variable([1.0, 1.0]), x)
    assert retraced.function.experimental_get_tracing_count() == 1
    assert float(total) == 9.0 and doubled.numpy().tolist() == [4.0, 6.0]
    assert xla_cache.StoredGraph.load(path).outputs == 2  # whole again


def test_graphs_are_stored_per_key_and_argument_shapes(monkeypatch, tmp_path):
    monkeypatch.setenv(xla_cache.SETTING, str(tmp_path))
    function = xla_cache.CompiledFunction(_step, key="shaped step")
    function(tf.Variable([0.0, 0.0]), tf.constant([1.0, 2.0]))
    function(tf.Variable([0.0, 0.0, 0.0]), tf.constant([1.0, 2.0, 3.0]))
    xla_cache.CompiledFunction(_step, key="other step")(tf.Variable([0.0, 0.0]), tf.constant([1.0, 2.0]))
    assert len(list(tmp_path.glob("graph-*.pb"))) == 3
    monkeypatch.setenv(xla_cache.SETTING, "off")  # no cache: traced as before, nothing stored
    plain = xla_cache.CompiledFunction(_step, key="shaped step")
    assert plain(tf.Variable([1.0, 1.0]), tf.constant([1.0, 1.0]))[0].numpy() == 6.0
    assert plain.function.experimental_get_tracing_count() == 1


def _pure_step(weights, x):
    """A pure compiled function with a loop: values in, values out."""
    _, total = tf.while_loop(lambda i, t: i < 3, lambda i, t: (i + 1, t + tf.reduce_sum(tf.tanh(weights * x))), (0, 0.0))
    return total, weights + x


def _stored_ops(path) -> set[str]:
    body = path.read_bytes().partition(b"\n")[2]
    library = function_pb2.FunctionDefLibrary.FromString(body)
    return {node.op for function in library.function for node in function.node_def}


def test_a_pure_function_is_stored_as_its_stablehlo_module_and_a_stateful_one_as_its_graph(monkeypatch, tmp_path):
    monkeypatch.setenv(xla_cache.SETTING, str(tmp_path))
    weights, x = tf.constant([0.5, -0.25]), tf.constant([1.0, 2.0])
    total, summed = xla_cache.CompiledFunction(_pure_step, key="pure step")(weights, x)
    (pure,) = tmp_path.glob("graph-*.pb")
    assert "XlaCallModule" in _stored_ops(pure) and "While" not in _stored_ops(pure)  # the loop is inside the module
    expected = 3 * float(np.sum(np.tanh(np.array([0.5, -0.5]))))
    assert float(total) == pytest.approx(expected, rel=1e-6) and summed.numpy().tolist() == [1.5, 1.75]
    loaded = xla_cache.CompiledFunction(_pure_step, key="pure step")  # as a new process would
    again = loaded(weights, x)
    assert loaded.function.experimental_get_tracing_count() == 0 and float(again[0]) == float(total)

    xla_cache.CompiledFunction(_step, key="stateful step")(tf.Variable([0.0, 0.0]), x)
    (stateful,) = set(tmp_path.glob("graph-*.pb")) - {pure}
    assert "XlaCallModule" not in _stored_ops(stateful)  # variables cannot go into a module: the graph as traced


TRAIN_A_TOY_CHUNK = """
import sys
import numpy as np
from deatf_gan import batched
from deatf_gan.config import load_config
from deatf_gan.datasets import load_dataset
config = load_config(sys.argv[1])
space = config.build_search_space()
dataset = load_dataset("gaussian_1d", config.data.params, 0)
genomes = [space.sample(np.random.default_rng(seed)) for seed in range(4)]
batched.train_chunk(genomes, [0, 1, 2, 3], dataset, 10, space=space)
"""


def test_a_process_that_loads_the_stored_training_graph_finds_its_compiled_code(tmp_path):
    """The first process traces, stores and compiles; the next loads the graph and must find
    the compiled code on disk, not compile it again (a folded constant named differently in
    each process once made it miss)."""
    env = {name: value for name, value in os.environ.items() if name != "TF_XLA_FLAGS"}  # this process's cache
    env.update({xla_cache.SETTING: str(tmp_path), "TF_NUM_INTRAOP_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"})
    config = Path(__file__).resolve().parent.parent / "configs" / "gaussian_1d.yaml"

    def train_and_list_compiled() -> list[str]:
        subprocess.run([sys.executable, "-c", TRAIN_A_TOY_CHUNK, str(config)], env=env, check=True, timeout=600)
        return sorted(path.name for path in tmp_path.glob("xla_compile_cache*"))

    traced = train_and_list_compiled()
    assert len(list(tmp_path.glob("graph-*.pb"))) == 1 and len(traced) == 1
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
