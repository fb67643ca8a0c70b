"""Opt-in stored graphs (``deatf_gan.stored_graphs``): a new process loads a traced function from disk."""

import numpy as np
import tensorflow as tf

from deatf_gan import stored_graphs, xla_cache
from deatf_gan.compiled import CompiledFunction
from deatf_gan.stored_graphs import StoredGraph


def _step(variable, x):
    """A stateful compiled function with a loop: the shape the batched evaluator stores."""
    _, total = tf.while_loop(lambda i, t: i < 3, lambda i, t: (i + 1, t + tf.reduce_sum(variable * x)), (0, 0.0))
    variable.assign_add(x)
    return total, variable * 2.0


def test_a_stored_graph_is_loaded_by_a_new_function_with_the_same_results(monkeypatch, tmp_path):
    monkeypatch.setenv(xla_cache.SETTING, str(tmp_path))
    monkeypatch.setenv(stored_graphs.SETTING, "1")
    x = tf.constant([1.0, 2.0])
    traced_variable, loaded_variable = tf.Variable([0.5, 0.25]), tf.Variable([0.5, 0.25])
    traced = CompiledFunction(_step, key="test step")
    first = [t.numpy() for t in traced(traced_variable, x)]
    stored = list(tmp_path.glob("graph-*.pb"))
    assert len(stored) == 1 and stored[0].read_bytes().startswith(StoredGraph.HEADER)
    assert traced.function.experimental_get_tracing_count() == 1

    loaded = CompiledFunction(_step, key="test step")  # as a new process would
    again = [t.numpy() for t in loaded(loaded_variable, x)]
    assert loaded.function.experimental_get_tracing_count() == 0  # not traced: read from disk
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(traced_variable.numpy(), loaded_variable.numpy())  # the assignment ran too
    second = loaded(loaded_variable, x)
    np.testing.assert_array_equal(second[1].numpy(), [5.0, 8.5])  # (0.5, 0.25) + 2 x, doubled


def test_a_damaged_stored_graph_is_traced_again_and_replaced(monkeypatch, tmp_path):
    monkeypatch.setenv(xla_cache.SETTING, str(tmp_path))
    monkeypatch.setenv(stored_graphs.SETTING, "1")
    x = tf.constant([1.0, 2.0])
    CompiledFunction(_step, key="damaged step")(tf.Variable([0.0, 0.0]), x)
    (path,) = tmp_path.glob("graph-*.pb")
    path.write_bytes(path.read_bytes()[:100])  # cut short, as by a full disk
    retraced = CompiledFunction(_step, key="damaged step")
    total, doubled = retraced(tf.Variable([1.0, 1.0]), x)
    assert retraced.function.experimental_get_tracing_count() == 1
    assert float(total) == 9.0 and doubled.numpy().tolist() == [4.0, 6.0]
    assert StoredGraph.load(path).outputs == 2  # whole again


def test_graphs_are_stored_per_key_and_argument_shapes(monkeypatch, tmp_path):
    monkeypatch.setenv(xla_cache.SETTING, str(tmp_path))
    monkeypatch.setenv(stored_graphs.SETTING, "1")
    function = CompiledFunction(_step, key="shaped step")
    function(tf.Variable([0.0, 0.0]), tf.constant([1.0, 2.0]))
    function(tf.Variable([0.0, 0.0, 0.0]), tf.constant([1.0, 2.0, 3.0]))
    CompiledFunction(_step, key="other step")(tf.Variable([0.0, 0.0]), tf.constant([1.0, 2.0]))
    assert len(list(tmp_path.glob("graph-*.pb"))) == 3
    monkeypatch.setenv(xla_cache.SETTING, "off")  # no cache: traced as before, nothing stored
    plain = CompiledFunction(_step, key="shaped step")
    assert plain(tf.Variable([1.0, 1.0]), tf.constant([1.0, 1.0]))[0].numpy() == 6.0
    assert plain.function.experimental_get_tracing_count() == 1


def test_stored_graphs_are_off_unless_asked_for(monkeypatch, tmp_path):
    monkeypatch.setenv(xla_cache.SETTING, str(tmp_path))
    monkeypatch.delenv(stored_graphs.SETTING, raising=False)
    CompiledFunction(_step, key="unasked step")(tf.Variable([0.0, 0.0]), tf.constant([1.0, 2.0]))
    assert not list(tmp_path.glob("graph-*.pb"))
