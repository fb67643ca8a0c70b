"""What the batched evaluator compiles for and what a training costs there, without TensorFlow.

The driver imports no TensorFlow, yet balances a generation's chunks over its workers by
each individual's expected training time (``executors``), so both the batch buckets of
``deatf_gan.batched`` and the cost estimate live here.
"""

from __future__ import annotations

from deatf_gan.genome import GANGenome

BATCH_BUCKET_FLOOR = 32  # toy genome, one per call: 0.25, 0.33 and 0.47 ms per step at batch 32, 64 and 128


def batch_bucket(batch_size: int) -> int:
    """The minibatch a one-individual call pads to: the next power of two, at least
    BATCH_BUCKET_FLOOR. Each bucket is one more compiled shape."""
    return max(BATCH_BUCKET_FLOOR, 1 << (batch_size - 1).bit_length())


def training_cost(genome: GANGenome, steps: int) -> float:
    """Relative cost of training ``genome`` for ``steps`` in a one-individual call:
    ``steps · (discriminator steps + 1) · (batch bucket + 64)``. Fitted on the toy space (one
    thread, 1,000 steps, one discriminator step): 0.25, 0.33 and 0.47 ms per step at batch
    32, 64 and 128, and a discriminator step costs about as much as a generator step."""
    hyper = genome.hyperparameters
    return steps * (hyper.discriminator_steps + 1) * (batch_bucket(hyper.batch_size) + 64)
