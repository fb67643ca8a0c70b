"""Scoring one individual: ``eval_gan``, the context it receives, the result it returns.

The contract every evaluation function follows is ``evaluate(genome, context) -> EvalResult``
(a custom function may also return a float or a tuple of floats; :func:`check_result`
turns any of these into a checked :class:`EvalResult`). The fitness measures it scores a
trained pair with are ``deatf_gan.fitness``'.

Importing this module does not import TensorFlow: the evolution driver needs the records
and the registry, and only the processes that train import Keras (inside the functions
that use it), so a driver whose evaluations run in workers never spends its seconds on it.
"""

from __future__ import annotations

import functools
import importlib
import math
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from deatf_gan.datasets import Dataset
from deatf_gan.errors import ConfigError, DeatfGanError, IndividualFailed
from deatf_gan.fitness import TrainedPair, fitness_functions
from deatf_gan.genome import GANGenome
from deatf_gan.inheritance import Inheritance, Weights
from deatf_gan.streams import SeedStream, numpy_generator

if TYPE_CHECKING:
    import keras

WORST_FITNESS = math.inf


@dataclass(frozen=True)
class EvalContext:
    """Everything an evaluation needs besides the genome; the driver builds one per run.

    ``seed`` is the individual's own seed and ``inheritance`` what it inherits from its
    parents (both set per individual by the driver with :meth:`for_job`): the seed fixes
    fresh initial weights, minibatch order and every noise draw; with an inheritance the
    individual starts from its parents' trained weights (``deatf_gan.inheritance``).
    """

    dataset: Dataset
    steps: int = 1000
    seed: int = 0
    latent_stddev: float = 1.0
    eval_samples: int = 2000
    fitness: str | Callable | tuple = "judged_generator_loss"  # one measure, or one per objective
    jit_compile: bool = False
    keep_weights: bool = True
    objectives: int = 1  # how many fitness values the evaluation must return
    inheritance: Inheritance | None = None

    def for_seed(self, seed: int) -> EvalContext:
        return replace(self, seed=int(seed))

    def for_job(self, job: Job) -> EvalContext:
        """The context of one individual's job: its seed and its inheritance."""
        return replace(self, seed=int(job.seed), inheritance=job.inheritance)

    def start_weights(self, genome: GANGenome) -> Weights:
        """The weights the individual starts training from (``get_weights()`` order): its
        parents' mapped onto it, or its fresh initial weights."""
        from deatf_gan.build import initial_weights

        fresh = initial_weights(genome, self.dataset, self.seed)
        return fresh if self.inheritance is None else self.inheritance.weights(genome, fresh)

    def trained_steps(self, genome: GANGenome) -> int:
        """Generator updates the individual's generator will have had after its training."""
        inherited = 0 if self.inheritance is None else self.inheritance.trained_steps(genome)
        return inherited + self.steps

    def build_pair(self, genome: GANGenome) -> tuple[keras.Model, keras.Model]:
        """The individual's generator and discriminator before its training: fresh, or
        holding the weights it inherits."""
        from deatf_gan.build import build_pair

        generator, discriminator = build_pair(genome, self.dataset, self.seed)
        if self.inheritance is not None:
            start = self.start_weights(genome)
            generator.set_weights(start[0])
            discriminator.set_weights(start[1])
        return generator, discriminator

    def train_pair(self, genome: GANGenome, generator: keras.Model, discriminator: keras.Model):
        """Train the pair with the genome's hyperparameters for ``steps`` generator updates."""
        from deatf_gan.training import train_pair

        return train_pair(
            generator,
            discriminator,
            genome.hyperparameters,
            self.dataset,
            self.steps,
            self.seed,
            latent_stddev=self.latent_stddev,
            jit_compile=self.jit_compile,
        )


class Job(NamedTuple):
    """What the driver sends to be evaluated: a genome, its individual's seed, and what it
    inherits (None: it starts from fresh weights)."""

    genome: GANGenome
    seed: int
    inheritance: Inheritance | None = None


@dataclass(frozen=True)
class EvalResult:
    """The named result of one evaluation.

    ``fitness`` is minimised (a tuple with several objectives); ``failure`` holds the reason
    when the individual could not be scored, in which case ``fitness`` is the worst value.
    """

    fitness: tuple[float, ...]
    generator_loss: float | None = None
    discriminator_loss: float | None = None
    discriminator_accuracy_real: float | None = None
    discriminator_accuracy_fake: float | None = None
    generator_parameters: int | None = None
    discriminator_parameters: int | None = None
    seconds: float = 0.0
    failure: str | None = None
    traceback: str | None = field(default=None, repr=False)
    extra: dict[str, float] = field(default_factory=dict)
    weights: Weights | None = field(default=None, repr=False, compare=False)
    trained_steps: int | None = None  # generator updates the weights have had, inherited ones included

    @property
    def failed(self) -> bool:
        return self.failure is not None

    def metrics(self) -> dict[str, Any]:
        """The diagnostics as plain JSON-ready data (no weights)."""
        data = {
            "fitness": list(self.fitness),
            "generator_loss": self.generator_loss,
            "discriminator_loss": self.discriminator_loss,
            "discriminator_accuracy_real": self.discriminator_accuracy_real,
            "discriminator_accuracy_fake": self.discriminator_accuracy_fake,
            "generator_parameters": self.generator_parameters,
            "discriminator_parameters": self.discriminator_parameters,
            "seconds": self.seconds,
            "trained_steps": self.trained_steps,
            "failure": self.failure,
        }
        data.update(self.extra)
        return data

    @classmethod
    def failed_with(
        cls, reason: str, objectives: int = 1, seconds: float = 0.0, traceback: str | None = None
    ) -> EvalResult:
        return cls(fitness=(WORST_FITNESS,) * objectives, failure=reason, seconds=seconds, traceback=traceback)


def held_out(context: EvalContext, genome: GANGenome) -> tuple[np.ndarray, np.ndarray]:
    """Latent and real samples for scoring, from a stream separate from training's."""
    rng = numpy_generator(context.seed, SeedStream.HELD_OUT)
    latent = context.latent_stddev * rng.standard_normal((context.eval_samples, genome.hyperparameters.latent_dim))
    rows = rng.choice(
        len(context.dataset.samples), size=min(context.eval_samples, len(context.dataset.samples)), replace=False
    )
    return latent.astype(np.float32), context.dataset.samples[rows]


def held_out_diagnostics(fake_logits, real_logits) -> dict[str, float]:
    """A result's discriminator diagnostics from its logits on held-out fake and real samples:
    ``L_G``, ``L_D`` and the shares of real called real (logit > 0) and of fakes called fake.

    The losses are measures, not what the pair trained on: always the non-saturating ones
    (``deatf_gan.losses.generator_loss``, ``discriminator_loss``), whatever the genome's
    ``loss``, so they compare across individuals."""
    from deatf_gan.losses import discriminator_loss, generator_loss

    fake_logits, real_logits = np.asarray(fake_logits), np.asarray(real_logits)
    return dict(
        generator_loss=float(generator_loss(fake_logits)),
        discriminator_loss=float(discriminator_loss(fake_logits, real_logits)),
        discriminator_accuracy_real=float(np.mean(real_logits > 0)),
        discriminator_accuracy_fake=float(np.mean(fake_logits < 0)),
    )


def eval_gan(genome: GANGenome, context: EvalContext) -> EvalResult:
    """Build (from the weights it inherits, if any), train and score one individual; fitness
    is the chosen measure (minimised).

    Diagnostics on held-out samples, models in inference mode: ``L_D`` and ``L_G`` (see
    ``deatf_gan.training``), the share of real samples the discriminator calls real (logit > 0)
    and of fakes it calls fake (logit < 0), parameter counts, seconds, and in ``extra`` the
    dataset kind's quality metrics. A NaN or inf anywhere fails the individual instead of
    the run.
    """
    start = time.perf_counter()
    fitness_fns = fitness_functions(context.fitness)
    generator, discriminator = context.build_pair(genome)
    context.train_pair(genome, generator, discriminator)
    latent, real = held_out(context, genome)
    pair = TrainedPair(
        genome, lambda: (generator, discriminator), context.dataset, latent, real, context.seed, context.latent_stddev
    )
    weights = (generator.get_weights(), discriminator.get_weights())
    result = scored_result(pair, fitness_fns, pair.own_logits(real), weights, start, context.keep_weights)
    return check_result(replace(result, trained_steps=context.trained_steps(genome)), len(fitness_fns))


def scored_result(pair: TrainedPair, fitness_fns, real_logits, weights, start: float, keep_weights: bool,
                  share: int = 1) -> EvalResult:  # fmt: skip
    """The result of a trained pair, whichever evaluator trained it: the fitness measures,
    the held-out diagnostics, parameter counts (every weight, as ``count_params``), quality
    metrics, and seconds since ``start`` (divided by ``share`` individuals trained together)."""
    fitness = tuple(float(measure(pair)) for measure in fitness_fns)
    return EvalResult(
        fitness=fitness,
        **held_out_diagnostics(pair.fake_logits, real_logits),
        generator_parameters=int(sum(np.size(w) for w in weights[0])),
        discriminator_parameters=int(sum(np.size(w) for w in weights[1])),
        seconds=(time.perf_counter() - start) / share,
        extra=dict(pair.quality),
        weights=weights if keep_weights else None,
    )


def load_function(spec: str, path: str = "evaluation.function") -> Callable:
    """Import ``"package.module:function"``; any problem is a ConfigError naming ``path``.

    Like ``python -m``, the current directory is searched too, so a ``my_eval.py`` beside
    the config works without installing it.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigError(f"{path}: expected 'module:function' (got {spec!r})")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - any import failure is the user's config problem
        raise ConfigError(f"{path}: cannot import module {module_name!r} ({type(error).__name__}: {error})") from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise ConfigError(f"{path}: module {module_name!r} has no function {attribute!r}")
    return function


def resolve_evaluation(
    function: str | Callable | None = None, kwargs: dict | None = None, signature: str = "deatf_gan"
) -> Callable:
    """The evaluation callable a run uses: ``eval_gan`` unless the config or caller names another.

    ``kwargs`` are bound with ``functools.partial`` (which pickles for worker processes);
    ``signature: deatf`` wraps a function written for DEATF's positional signature.
    """
    if function is None:
        evaluate = eval_gan
    elif callable(function):
        evaluate = function
    else:
        evaluate = load_function(function)
    if kwargs:
        evaluate = functools.partial(evaluate, **kwargs)
    if signature == "deatf":
        from deatf_gan.compat import from_deatf

        evaluate = from_deatf(evaluate)
    return evaluate


def check_result(value: Any, objectives: int = 1) -> EvalResult:
    """Turn what an evaluation returned into a checked :class:`EvalResult`.

    Accepts an EvalResult, a float or a tuple of floats. A wrong type, a wrong number of
    values, or a NaN or inf in the fitness or any diagnostic gives a failed result with the
    reason; it never raises.
    """
    if isinstance(value, EvalResult):
        result = value
    elif isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        result = EvalResult(fitness=(float(value),))
    elif isinstance(value, (tuple, list)) and all(
        isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool) for v in value
    ):
        result = EvalResult(fitness=tuple(float(v) for v in value))
    else:
        return EvalResult.failed_with(
            f"evaluation returned {type(value).__name__}; expected a float, a tuple of floats or an EvalResult",
            objectives,
        )
    if result.failed:
        return result
    if len(result.fitness) != objectives:
        return EvalResult.failed_with(
            f"evaluation returned {len(result.fitness)} fitness values; the config expects {objectives}",
            objectives,
            result.seconds,
        )
    bad = [name for name, number in _numbers(result) if not math.isfinite(number)]
    if bad:
        return EvalResult.failed_with(f"non-finite value in {', '.join(bad)}", objectives, result.seconds)
    return result


_DIAGNOSTICS = ("generator_loss", "discriminator_loss", "discriminator_accuracy_real", "discriminator_accuracy_fake")


def _numbers(result: EvalResult):
    """Every number in the result that was given (diagnostics a custom function leaves out are None)."""
    for index, value in enumerate(result.fitness):
        yield f"fitness[{index}]", value
    for name in _DIAGNOSTICS:
        if getattr(result, name) is not None:
            yield name, getattr(result, name)
    yield from result.extra.items()


def evaluate_safely(evaluate: Callable, genome: GANGenome, context: EvalContext, objectives: int = 1) -> EvalResult:
    """Run one evaluation so that only the run's own errors escape.

    ``IndividualFailed`` and any other exception of the evaluation fail this individual
    (reason and traceback recorded); a ``DeatfGanError`` such as a ConfigError aborts the
    run, since it would fail every individual alike. The Keras session is cleared
    afterwards (where Keras is loaded) so that models do not pile up in the process.
    """
    start = time.perf_counter()
    try:
        return check_result(evaluate(genome, context), objectives)
    except IndividualFailed as error:
        return EvalResult.failed_with(str(error), objectives, time.perf_counter() - start)
    except DeatfGanError:
        raise
    except Exception as error:  # noqa: BLE001 - a broken individual must not end the run
        return EvalResult.failed_with(
            f"{type(error).__name__}: {error}", objectives, time.perf_counter() - start, traceback.format_exc()
        )
    finally:
        keras = sys.modules.get("keras")
        if keras is not None:
            keras.backend.clear_session(free_memory=False)  # a full gc.collect() every time is slow
