"""The minibatch schedule both evaluators share: which data rows each training step sees.

Rows come from successive shuffled epochs, drawn a segment of steps at a time, so a run of
any length holds one segment's table, never a table of every step.
"""

from __future__ import annotations

import numpy as np

from deatf_gan.genome import Hyperparameters

# Generator updates per compiled call: the minibatch table's memory and shape never depend on a
# run's steps (one trace), and each call's reading and writing of state is paid once per segment.
SEGMENT_STEPS = 1000


class MinibatchStream:
    """Minibatches of row indices from successive shuffled epochs, drawn as they are needed,
    so memory grows with the batches taken at once, never with the number of steps."""

    def __init__(self, n_samples: int, batch_size: int, rng: np.random.Generator):
        self.n_samples, self.batch_size, self.rng = n_samples, batch_size, rng
        self._epoch = np.empty(0, np.int64)  # what is left of the current epoch's order

    def take(self, count: int) -> np.ndarray:
        """The next ``count`` minibatches, ``[count, batch_size]``."""
        needed = count * self.batch_size
        parts, have = [self._epoch[:needed]], len(self._epoch[:needed])
        self._epoch = self._epoch[needed:]
        while have < needed:
            order = self.rng.permutation(self.n_samples)
            parts.append(order[: needed - have])
            self._epoch, have = order[needed - have :], have + len(parts[-1])
        return np.concatenate(parts).reshape(count, self.batch_size).astype(np.int32)


def training_schedule(n_samples: int, hyperparameters: Hyperparameters, seed: int) -> tuple[MinibatchStream, int]:
    """The minibatch stream and the in-graph noise seed of one individual, both from
    ``default_rng(seed)``; shared with ``deatf_gan.batched``, so both evaluators train on the
    same rows. Each generator update takes ``discriminator_steps`` consecutive batches."""
    rng = np.random.default_rng(seed)
    noise_seed = int(rng.integers(2**31 - 1))
    return MinibatchStream(n_samples, hyperparameters.batch_size, rng), noise_seed
