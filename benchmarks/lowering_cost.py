"""What lowering a traced graph to XLA costs per operation, by operation type.

    python benchmarks/lowering_cost.py [--ops 40] [--graph]

Every process that calls an XLA-compiled function lowers its traced TensorFlow graph to
XLA's HLO once per input shape, even when the compiled code then comes from the disk cache
(the cache is keyed by that HLO). This times the lowering alone
(``experimental_get_compiler_ir``, no compilation) of a while loop holding ``--ops`` copies
of one elementwise operation, for operations the batched evaluator uses. TensorFlow lowers
some operation types through an MLIR pipeline built anew for every node (``tanh``, ``exp``,
``rsqrt``, ``sqrt``, ...): those cost several times the others. Each copy is the
operation and a multiplication. ``--graph`` also counts the nodes of the toy search
space's traced training function (``benchmarks/eval_throughput.py``'s ``toy`` case), and
those of the types lowered through MLIR.
"""

from __future__ import annotations

import argparse
import collections
import time

import numpy as np
import tensorflow as tf

OPERATIONS = {
    "square": tf.square,
    "sin": tf.sin,
    "pow(x, -0.5)": lambda x: tf.pow(x, -0.5),
    "multiply": lambda x: x * 1.5,
    "tanh": tf.tanh,
    "exp": tf.exp,
    "rsqrt": tf.math.rsqrt,
    "sqrt": tf.sqrt,
}
# operation types tf2xla lowers through MLIR, node by node: why some graphs lower slower than their size says
MLIR_LOWERED = {"Abs", "Exp", "Expm1", "Log1p", "Reciprocal", "Relu", "Rsqrt", "Sigmoid", "Sqrt", "Tanh", "Softmax"}


def lowering_seconds(operation, count: int) -> float:
    """Seconds to lower a fresh shape of a loop body applying ``operation`` ``count`` times."""

    def body(i, x):
        for _ in range(count):
            x = operation(x) * 0.5
        return i + 1, x

    function = tf.function(
        lambda x: tf.while_loop(lambda i, _: i < 10, body, (tf.constant(0), x))[1], jit_compile=True, autograph=False
    )
    function.experimental_get_compiler_ir(tf.ones([7, 3]))(stage="hlo")  # first lowering: one-time set-up
    x = tf.ones([7, 4])
    began = time.perf_counter()
    function.experimental_get_compiler_ir(x)(stage="hlo")
    return time.perf_counter() - began


def training_graph_nodes() -> collections.Counter:
    """Node types of the toy case's traced training function, loop bodies included."""
    from eval_throughput import case  # sibling module: this file runs as a script

    from deatf_gan.batched import BatchedEvaluation, engine

    space, dataset, _ = case("toy")
    rng = np.random.default_rng(0)
    superset = BatchedEvaluation(space).superset_for([space.sample(rng) for _ in range(32)], dataset)
    function = engine.compiled_functions(superset).train.function
    signature = engine.training_signature(superset, len(dataset.samples), dataset.dim)
    graph = function.get_concrete_function(*signature).graph.as_graph_def()
    nodes = collections.Counter(node.op for node in graph.node)
    for body in graph.library.function:
        nodes.update(node.op for node in body.node_def)
    return nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=40, help="copies of the operation in the loop body")
    parser.add_argument("--graph", action="store_true", help="count the toy case's training graph's nodes too")
    args = parser.parse_args()
    count = args.ops
    print(f"{'operation':<14} {'ms to lower':>11} {'ms per copy':>11}")
    for name, operation in OPERATIONS.items():
        seconds = lowering_seconds(operation, count)
        print(f"{name:<14} {seconds * 1000:11.0f} {seconds * 1000 / count:11.2f}")
    if args.graph:
        nodes = training_graph_nodes()
        mlir = {op: n for op, n in sorted(nodes.items()) if op in MLIR_LOWERED}
        print(f"toy training function: {sum(nodes.values())} nodes, {sum(mlir.values())} lowered through MLIR {mlir}")


if __name__ == "__main__":
    main()
