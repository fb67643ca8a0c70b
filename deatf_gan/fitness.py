"""Fitness measures: what a trained pair is scored by, registered by name.

A measure takes a :class:`TrainedPair` (the trained networks, held-out latent noise and
real samples) and returns one float, minimised. :data:`FITNESSES` names the built-in ones
(a config chooses with ``evaluation.fitness``); a plain callable works too. Importing this
module does not import TensorFlow: the measures load what they need when called.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from deatf_gan.datasets import Dataset
from deatf_gan.errors import ConfigError
from deatf_gan.genome import GANGenome
from deatf_gan.registry import Registry, resolve
from deatf_gan.streams import SampleStream, SeedStream, numpy_generator

if TYPE_CHECKING:
    import keras


def latent_stream(genome: GANGenome, seed: int, latent_stddev: float, count: int, stream: int) -> np.ndarray:
    """``count`` latent vectors of an individual's stream ``stream``: fresh, reproducible, never
    the training or held-out ones."""
    rng = numpy_generator(seed, SeedStream.SAMPLES + stream)
    return (latent_stddev * rng.standard_normal((count, genome.hyperparameters.latent_dim))).astype(np.float32)


@dataclass(frozen=True)
class TrainedPair:
    """What a fitness measure sees: the trained pair, its data and held-out latent noise.

    The measures read cached properties (``generated``, ``fake_logits``, ``judged_loss``,
    ``quality``); an evaluator that computes them for many pairs at once fills them in
    with :meth:`knowing`, and then builds the Keras ``models`` only if a measure asks.
    """

    genome: GANGenome
    models: Callable[[], tuple[keras.Model, keras.Model]]  # (generator, discriminator), built on first use
    dataset: Dataset
    latent: np.ndarray  # held-out latent samples, never used in training
    real: np.ndarray  # held-out draw of real samples
    seed: int = 0  # the individual's seed, for measures that draw more samples
    latent_stddev: float = 1.0

    @functools.cached_property
    def _networks(self) -> tuple[keras.Model, keras.Model]:
        return self.models()

    @property
    def generator(self) -> keras.Model:
        return self._networks[0]

    @property
    def discriminator(self) -> keras.Model:
        return self._networks[1]

    def knowing(self, **values) -> TrainedPair:
        """This pair with cached properties filled in from values computed elsewhere."""
        unknown = set(values) - {"generated", "fake_logits", "judged_loss", "quality"}
        if unknown:
            raise TypeError(f"not a cached property of TrainedPair: {sorted(unknown)}")
        self.__dict__.update(values)  # where functools.cached_property keeps its values
        return self

    def sample(self, count: int, stream: int) -> np.ndarray:
        """``count`` generated samples from latent stream ``stream`` (inference mode)."""
        latent = latent_stream(self.genome, self.seed, self.latent_stddev, count, stream)
        return np.asarray(self.generator(latent, training=False))

    @functools.cached_property
    def generated(self) -> np.ndarray:
        """The generator's samples for the held-out latent batch (inference mode)."""
        return np.asarray(self.generator(self.latent, training=False))

    def own_logits(self, samples: np.ndarray) -> np.ndarray:
        """The pair's own discriminator's logits for ``samples`` (inference mode), one per pack
        where the genome packs (``deatf_gan.packing``): the one place that feeds it samples."""
        from deatf_gan.packing import pack

        return np.asarray(self.discriminator(pack(samples, self.genome.hyperparameters.packing), training=False))

    @functools.cached_property
    def fake_logits(self) -> np.ndarray:
        """:meth:`own_logits` of ``generated``."""
        return self.own_logits(self.generated)

    @functools.cached_property
    def judged_loss(self) -> float:
        """``-mean log D_J(G(z))`` of ``generated`` against a fresh judge trained on latent stream 0's
        samples vs the real data (``deatf_gan.judge``)."""
        from deatf_gan.judge import judged_generator_loss

        fake_train = self.sample(len(self.dataset.samples), stream=SampleStream.JUDGE_TRAINING)
        return judged_generator_loss(self.dataset.samples, fake_train, self.generated, seed=self.seed)

    @functools.cached_property
    def quality(self) -> dict[str, float]:
        """The dataset kind's quality metrics (``deatf_gan.metrics``) of the held-out samples."""
        from deatf_gan.metrics import quality_metrics

        dataset = self.dataset
        return quality_metrics(dataset.kind, self.real, self.generated, dataset.centres, dataset.mode_stddev)


FITNESSES: Registry[Callable[[TrainedPair], float]] = Registry("fitness")


@FITNESSES.register("generator_loss")
def fitness_generator_loss(pair: TrainedPair) -> float:
    """``L_G = -mean log D(G(z))`` on held-out latent samples against the pair's own trained
    discriminator (both networks in inference mode). Cheap, but a weak discriminator also
    scores well: it measures the pair, not the generator alone. Always the non-saturating
    formula, whatever loss the genome trained with, so individuals stay comparable."""
    from deatf_gan.losses import generator_loss

    return float(generator_loss(pair.fake_logits))


@FITNESSES.register("judged_generator_loss")
def fitness_judged_generator_loss(pair: TrainedPair) -> float:
    """``-mean log D_J(G(z))`` against an independent judge discriminator trained from scratch
    on the frozen generator's samples vs real data (see ``deatf_gan.judge``). Unlike
    ``generator_loss`` it cannot be lowered by a weak or miscalibrated own discriminator."""
    return pair.judged_loss


@FITNESSES.register("precision_recall")
def fitness_precision_recall(pair: TrainedPair) -> float:
    """``(1 - precision) + (1 - recall)`` of the held-out samples against the held-out real
    draw, with k-NN manifolds (k = 3; ``metrics.knn_precision_recall``, Kynkäänniemi et al.
    2019). Works on any data, needs no classifier and no known modes, and sees how close
    samples lie to the data as well as how much of it they cover: 0 is a perfect match, 2
    nothing alike."""
    from deatf_gan.metrics import knn_precision_recall

    precision, recall = knn_precision_recall(pair.real, pair.generated)
    return float(2.0 - precision - recall)


@dataclass(frozen=True)
class QualityFitness:
    """A quality metric of one dataset kind (``deatf_gan.metrics``) as a minimised fitness.

    A metric that grows with quality (modes covered, high-quality share) is turned into a
    shortfall: ``fitness = best - metric``, where ``best`` is the number of modes or 1.
    An instance, not a closure, so it pickles to worker processes.
    """

    name: str
    kind: str
    metric: str
    shortfall_of: Literal["modes", "one"] | None = None

    def __call__(self, pair: TrainedPair) -> float:
        if pair.dataset.kind != self.kind:
            raise ConfigError(self.mismatch(pair.dataset))
        value = pair.quality[self.metric]
        if self.shortfall_of == "modes":
            return float(len(pair.dataset.centres) - value)
        if self.shortfall_of == "one":
            return float(1.0 - value)
        return float(value)

    def mismatch(self, dataset: Dataset) -> str:
        return f"evaluation.fitness: {self.name!r} needs a {self.kind} dataset; {dataset.name!r} is {dataset.kind}"


for _fitness in (
    QualityFitness("wasserstein_1d", "univariate", "wasserstein_1d"),
    QualityFitness("reverse_kl", "mixture", "reverse_kl"),
    QualityFitness("modes_missed", "mixture", "modes_covered", shortfall_of="modes"),
    QualityFitness("low_quality_share", "mixture", "high_quality_share", shortfall_of="one"),
    QualityFitness("frechet_distance", "digits", "frechet_distance"),
    QualityFitness("class_coverage_tvd", "digits", "class_coverage_tvd"),
):
    FITNESSES.register(_fitness.name, _fitness)


# What each built-in measure's number means, for axis labels and table headers: a newcomer
# reading a bare fitness value needs the formula and its unit, not the registry name alone.
MEANINGS = {
    "judged_generator_loss": "-mean log D_J(G(z)) against an independent judge, in nats",
    "generator_loss": "-mean log D(G(z)) against the pair's own discriminator, in nats",
    "precision_recall": "(1 - precision) + (1 - recall), 0 to 2",
    "wasserstein_1d": "Wasserstein-1 distance to the real data, in data units",
    "reverse_kl": "KL(generated mode histogram || uniform), in nats",
    "modes_missed": "modes with no high-quality sample",
    "low_quality_share": "share of samples far from every mode",
    "frechet_distance": "Frechet distance in the digits classifier's features",
    "class_coverage_tvd": "total variation of the predicted class frequencies, 0 to 1",
}

# A judge that cannot tell generated from real samples says D_J = 1/2 to both: -log 1/2 = ln 2.
JUDGE_FOOLED = (math.log(2.0), "ln 2 = 0.693: the judge cannot tell fake from real")


@dataclass(frozen=True)
class FitnessMeaning:
    """What a run's first objective (the one logbooks and plots follow) measures."""

    name: str  # the measure's registered name, or a custom evaluation's module:function
    meaning: str  # what the number is, with its unit
    minimised: bool
    reference: tuple[float, str] | None = None  # a value to read it against, and what it means

    @property
    def explained(self) -> str:
        return f"{self.meaning}; {'lower' if self.minimised else 'higher'} is better"

    def __str__(self) -> str:
        return f"{self.name}: {self.explained}"


def describe_fitness(names: tuple[str, ...], function: str | None, weight: float) -> FitnessMeaning:
    """The meaning of the first objective of ``evaluation.fitness`` (``names``), or of a custom
    ``evaluation.function``'s first value; ``weight`` < 0 minimises it."""
    if function is not None:
        return FitnessMeaning(function, "its first value, in its own units", weight < 0)
    name = names[0]
    reference = JUDGE_FOOLED if name == "judged_generator_loss" else None
    return FitnessMeaning(name, MEANINGS.get(name, "a measure of your own"), weight < 0, reference)


def fitness_functions(fitness) -> tuple[Callable, ...]:
    """A context's fitness (a name, a callable, or a tuple of them) as callables, one per objective."""
    measures = fitness if isinstance(fitness, (tuple, list)) else (fitness,)
    return tuple(resolve(FITNESSES, measure) for measure in measures)


def check_fitness_applies(fitness, dataset: Dataset) -> None:
    """A quality fitness for another dataset kind is a config mistake: say so before any training."""
    for measure in fitness_functions(fitness):
        if isinstance(measure, QualityFitness) and measure.kind != dataset.kind:
            raise ConfigError(measure.mismatch(dataset))
