"""The batched evaluator: many individuals trained in one compiled function.

- ``planner``: padded shapes, buckets, call sizes and costs (no TensorFlow, for the driver);
- ``network``: the superset MLP's forward pass (masks, conditionals, activations, batch norm);
- ``optimizers``: Adam, RMSprop and SGD per individual on flat parameter vectors;
- ``state``: a chunk's genes and training state as named tensors, loaded from genomes and
  exported as Keras weights;
- ``engine``: the compiled training and scoring functions and ``train_chunk``;
- ``evaluator``: ``BatchedEvaluation``, ``eval_gan`` for a whole chunk.

Names are imported lazily, so ``deatf_gan.batched.planner`` loads without TensorFlow.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "BatchedEvaluation": "evaluator",
    "default_lanes": "evaluator",
    "train_chunk": "engine",
    "TrainedChunk": "engine",
    "Superset": "planner",
    "NetworkShape": "planner",
    "call_superset": "planner",
    "call_population": "planner",
    "batch_bucket": "planner",
    "training_cost": "planner",
}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'deatf_gan.batched' has no attribute {name!r}")
    return getattr(importlib.import_module(f"deatf_gan.batched.{module}"), name)
