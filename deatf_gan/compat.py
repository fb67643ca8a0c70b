"""Run evaluation functions written for DEATF unchanged: ``from_deatf(legacy)``.

DEATF (github.com/IvanHCenalmor/deatf, ``deatf/evolution.py``: ``Evolving.complex_eval``)
calls a user's function positionally::

    legacy(nets, train_inputs, train_outputs, batch_size, iters, test_inputs, test_outputs, hypers)

and what it passes for a GAN (``examples/gan.py``, ``desc_list=[MLPDescriptor, MLPDescriptor]``,
``n_inputs=[[28, 28], [10]]``, ``n_outputs=[[1], [784]]``, ``y_trains=[x_train]``) is:

- ``nets["n0"]``: the discriminator (data → 1), ``nets["n1"]``: the generator (noise → data).
  ``building(x)`` applies the network to a Keras tensor and returns the output tensor;
  DEATF's ``MLP.building`` ends in a ``Dense(output_dim)``, so the tensor already has the
  network's output size (users added only reshapes or a sigmoid).
- ``train_inputs["i0"]`` and ``train_outputs["o0"]`` are both the real data; ``test_inputs``
  and ``test_outputs`` likewise hold the held-out data.
- ``batch_size`` is the minibatch size, ``iters`` the number of training steps.
- ``hypers`` holds the evolved hyperparameters (``{"lrate": ..., "optimizer": ...}`` in its
  examples); the function returns a tuple of fitness values, ``(value,)``.

Here the networks are this package's decoded genome (hidden layers, fixed output layer and
normalisation layers), so a legacy function trains exactly the individual's architecture.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from deatf_gan.evaluation import EvalContext
from deatf_gan.genome import GANGenome, Hyperparameters

_SPLIT_SEED = 0  # one train/test split for every individual, so their fitnesses compare
TEST_FRACTION = 0.2


class LegacyNetwork:
    """DEATF's ``MLP`` stand-in: ``building(x)`` continues tensor ``x`` with one of our
    decoded networks, layer by layer (same configs, same seeded initial weights).

    Every call creates fresh layers, as DEATF's did, so the input width comes from ``x``; a
    second call gets its own layer names, so both can live in one Keras model.
    """

    def __init__(self, model: keras.Model):
        self.model = model
        self.calls = 0

    def building(self, x):
        self.calls += 1
        for layer in self.model.layers:
            if isinstance(layer, keras.layers.InputLayer):
                continue
            config = layer.get_config()
            if self.calls > 1:
                config["name"] = f"{config['name']}_{self.calls}"
            x = type(layer).from_config(config)(x)
        return x


def legacy_hyperparameters(hyperparameters: Hyperparameters) -> dict[str, Any]:
    """DEATF's ``hypers``: its ``lrate`` and ``optimizer`` keys plus every evolved setting by name.

    DEATF evolved one learning rate; ``lrate`` is the generator's, so a legacy function that
    reads only ``lrate`` ignores ``discriminator_learning_rate``. ``optimizer`` is a name
    (``"adam"``), not an index into the user's own list as in DEATF's examples.
    """
    return {
        "lrate": hyperparameters.generator_learning_rate,
        "optimizer": hyperparameters.optimizer,
        **dataclasses.asdict(hyperparameters),
    }


def held_out_split(samples: np.ndarray, test_fraction: float = TEST_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """Train and test rows from one fixed shuffle (a sorted user file still splits fairly)."""
    order = np.random.default_rng(_SPLIT_SEED).permutation(len(samples))
    test_rows = min(max(1, round(test_fraction * len(samples))), len(samples) - 1)
    return samples[order[test_rows:]], samples[order[:test_rows]]


def _as_number(value: Any) -> Any:
    """NumPy and TensorFlow scalars as Python numbers; anything else is left for the result check."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(())
    if isinstance(value, (np.ndarray, np.generic)) and value.ndim == 0:
        value = value.item()
    return value


@dataclasses.dataclass(frozen=True)
class DeatfEvaluation:
    """``evaluate(genome, context)`` that calls a DEATF-style function with DEATF's arguments.

    A class rather than a closure, so it pickles for process executors whenever the legacy
    function does. The global NumPy, Python and TensorFlow generators are seeded from the
    individual's seed first, because DEATF code draws from them (``np.random.normal`` in its
    GAN example) and the individual's result must not depend on what ran before.
    """

    legacy: Callable
    test_fraction: float = TEST_FRACTION

    def __call__(self, genome: GANGenome, context: EvalContext):
        keras.utils.set_random_seed(context.seed)
        generator, discriminator = context.build_pair(genome)
        nets = {"n0": LegacyNetwork(discriminator), "n1": LegacyNetwork(generator)}
        train, test = held_out_split(context.dataset.samples, self.test_fraction)
        hyperparameters = genome.hyperparameters
        result = self.legacy(
            nets,
            {"i0": train},
            {"o0": train},
            hyperparameters.batch_size,
            context.steps,
            {"i0": test},
            {"o0": test},
            legacy_hyperparameters(hyperparameters),
        )
        if isinstance(result, (tuple, list)):
            return tuple(_as_number(value) for value in result)
        return _as_number(result)


def from_deatf(legacy: Callable) -> DeatfEvaluation:
    """Adapt ``legacy(nets, train_inputs, train_outputs, batch_size, iters, test_inputs,
    test_outputs, hypers)`` to this package's ``evaluate(genome, context)`` contract."""
    return DeatfEvaluation(legacy)
