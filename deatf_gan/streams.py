"""The named random streams of an individual's seed, so no two uses ever share one.

Training's minibatch rows and in-graph noise seed come from ``default_rng(seed)`` itself
(``schedule.training_schedule``); what else is drawn outside the graph uses one NumPy
stream per :class:`SeedStream`, and the in-graph hash (``deatf_gan.noise``) keys latent
batches and each network call's dropout masks apart.
"""

from __future__ import annotations

import enum

import numpy as np


class SeedStream(enum.IntEnum):
    """NumPy streams of an individual's seed: ``numpy_generator(seed, stream)``."""

    HELD_OUT = 1  # the held-out latent and real samples every fitness measure scores
    JUDGE = 2  # the judge's initial weights and minibatches
    SAMPLES = 100  # generated samples of sample stream ``s`` use ``SAMPLES + s`` (SampleStream)


class SampleStream(enum.IntEnum):
    """Latent streams for generated samples (``fitness.latent_stream``)."""

    JUDGE_TRAINING = 0  # what the judge learns to tell from real data
    UNSEEN = 7  # samples for reports and benchmarks, which no fitness measure ever saw


class DropoutStream(enum.IntEnum):
    """In-graph dropout masks, one stream per network call of a training step; layer ``j``
    of a stream uses hash stream ``dropout_key(stream, j)``."""

    GENERATOR_IN_DISCRIMINATOR_STEP = 0
    DISCRIMINATOR_ON_FAKE = 1
    DISCRIMINATOR_ON_REAL = 2
    GENERATOR_IN_GENERATOR_STEP = 3
    DISCRIMINATOR_IN_GENERATOR_STEP = 4


LATENT_KEY = 0  # the hash stream of latent batches
LAYERS_PER_DROPOUT_STREAM = 64


def numpy_generator(seed: int, stream: SeedStream | int) -> np.random.Generator:
    """The NumPy generator of one named stream of an individual's seed."""
    return np.random.default_rng([int(seed), int(stream)])
