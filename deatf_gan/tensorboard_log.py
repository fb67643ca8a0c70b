"""TensorBoard event files of a run: per generation its fitness, failures, time and best individual.

``logging.tensorboard: true`` (or ``deatf-gan run --tensorboard``) writes them into
``RUN_DIR/tensorboard/``, so ``tensorboard --logdir runs/`` shows runs side by side. The step
of every value is the generation's number, so a resumed run goes on where it stopped (the
interrupted generation may be written twice; TensorBoard shows the later value).

Values are written with ``tf.summary.write`` and the metadata TensorBoard's scalar and image
plugins read, so no package beyond TensorFlow is needed (``tf.summary.scalar`` and
``tf.summary.image`` need the ``tensorboard`` package installed). TensorFlow is imported by
this hook only, when the run starts: the driver of a run without it never loads TensorFlow.
"""

from __future__ import annotations

import logging
import math
from numbers import Real
from pathlib import Path

import numpy as np

from deatf_gan.config import Config
from deatf_gan.evaluation import EvalContext, held_out
from deatf_gan.evolution import GenerationState, Hook, Individual
from deatf_gan.runs.layout import TENSORBOARD

logger = logging.getLogger(__name__)

SAMPLES = 500  # generated samples drawn for the best's picture: enough for a distribution's shape
LOGBOOK_SCALARS = {  # tag: logbook column
    "fitness/min": "min",
    "fitness/mean": "mean",
    "fitness/max": "max",
    "fitness/std": "std",
    "fitness/best_ever": "best",
    "generation/evaluated": "evaluated",
    "generation/failures": "failures",
    "generation/seconds": "seconds",
}
SAMPLES_TAG = "best/samples"


def tensorboard_hooks(config: Config, run_directory: str | Path) -> tuple[Hook, ...]:
    """The TensorBoard logger of a run directory if the config asks for one, else none."""
    return (TensorBoardLogger(run_directory),) if config.logging.tensorboard else ()


def generated_samples(job: tuple) -> np.ndarray:
    """A job for the run's ``map``: the trained generator of ``(genome, dataset, seed, weights,
    latent)`` applied to ``latent``. Run where the evaluations run, whose Keras is loaded."""
    import keras

    from deatf_gan.build import trained_pair

    genome, dataset, seed, weights, latent = job
    generator, _ = trained_pair(genome, dataset, seed, weights)
    samples = np.asarray(generator(latent, training=False))
    keras.backend.clear_session(free_memory=False)
    return samples


def best_scalars(individual: Individual) -> dict[str, float]:
    """The best individual's fitness and the numbers its result records (losses, accuracies,
    parameters, quality metrics), tagged ``best/NAME``; what is not a finite number is left out."""
    values = dict(individual.result.metrics()) if individual.result is not None else {}
    values.pop("fitness", None)
    fitness = individual.fitness.values
    names = ["fitness"] if len(fitness) == 1 else [f"fitness_{i}" for i in range(len(fitness))]
    values = {**dict(zip(names, fitness)), **values}
    return {f"best/{name}": float(value) for name, value in values.items() if _finite(value)}


def _finite(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (bytes 16 to 24)."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


class TensorBoardLogger(Hook):
    """Writes after every generation: the logbook row's fitness statistics, failures and
    seconds (``fitness/*``, ``generation/*``), the best individual's numbers (``best/*``) and,
    when its evaluation kept trained weights, its generated samples against real ones as
    ``deatf-gan plot`` draws them (``best/samples``: histograms, scatter plot or image grids).

    The samples are made by the run's ``map`` where the evaluations run, as the run directory's
    model files are, and drawn again only when the best individual changes."""

    def __init__(self, run_directory: str | Path):
        self.directory = Path(run_directory) / TENSORBOARD
        self._writer = None
        self._tf = None
        self._metadata: dict = {}
        self._picture: tuple[int, bytes | None] | None = None  # (id of the best, its PNG)

    def on_start(self, state: GenerationState) -> None:
        self._tf = _tensorflow()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._writer = self._tf.summary.create_file_writer(str(self.directory))
        self._metadata = {
            "scalar": _metadata("scalars", "DATA_CLASS_SCALAR"),
            "image": _metadata("images", "DATA_CLASS_BLOB_SEQUENCE"),
        }

    def on_generation(self, state: GenerationState) -> None:
        row = state.logbook[-1]
        scalars = {tag: row[column] for tag, column in LOGBOOK_SCALARS.items()}
        best = state.hall_of_fame[0] if len(state.hall_of_fame) else None
        picture = None
        if best is not None:
            scalars.update(best_scalars(best))
            picture = self._picture_of(best, state)
        tf, step = self._tf, state.generation
        with self._writer.as_default():
            for tag, value in scalars.items():
                if _finite(value):  # a generation in which every individual failed has NaN statistics
                    value = tf.constant(float(value), tf.float32)
                    tf.summary.write(tag, value, step, metadata=self._metadata["scalar"])
            if picture is not None:
                width, height = _png_size(picture)
                tensor = tf.constant([str(width).encode(), str(height).encode(), picture])
                tf.summary.write(SAMPLES_TAG, tensor, step, metadata=self._metadata["image"])
        self._writer.flush()

    def on_stop(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _picture_of(self, best: Individual, state: GenerationState) -> bytes | None:
        """The best's held-out samples (the first ``SAMPLES`` it was scored on) as a PNG; None
        for a best without trained weights (a custom evaluation may keep none)."""
        if self._picture is not None and self._picture[0] == best.id:
            return self._picture[1]
        png = None
        if best.result is not None and best.result.weights is not None:
            png = self._draw(best, state)
        self._picture = (best.id, png)
        return png

    def _draw(self, best: Individual, state: GenerationState) -> bytes | None:
        from deatf_gan import plots  # matplotlib: only when there is a picture to draw

        training = state.config.training
        context = EvalContext(
            dataset=state.dataset,
            seed=best.seed,
            latent_stddev=training.latent_stddev,
            eval_samples=training.eval_samples,
        )
        latent, real = held_out(context, best.genome)
        latent, real = latent[:SAMPLES], real[:SAMPLES]
        job = (best.genome, state.dataset, best.seed, best.result.weights, latent)
        try:
            [generated] = list(state.map_fn(generated_samples, [job]))
        except Exception as error:  # noqa: BLE001 - a missing picture must not end the run
            generated = error
        if not isinstance(generated, np.ndarray) or generated.shape != real.shape:
            logger.warning("no samples picture of individual %d: its samples came back as %r", best.id, generated)
            return None
        title = f"best individual (id {best.id}, born in generation {best.born}) vs real data"
        return plots.figure_png(plots.samples_figure(real, generated, title, state.dataset.centres))


def _metadata(plugin: str, data_class: str):
    """Summary metadata a TensorBoard plugin reads: its name and the kind of data it holds
    (``DATA_CLASS_SCALAR``; ``DATA_CLASS_BLOB_SEQUENCE`` for images, as ``tf.summary.image``
    writes them: width, height, then the PNG)."""
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = plugin
    metadata.data_class = getattr(summary_pb2, data_class)
    return metadata


def _tensorflow():
    """TensorFlow for the writer. Its GPU memory is set to grow on demand first, so that a
    driver whose evaluations run in workers does not reserve the GPU they train on (once
    TensorFlow has run in this process, it keeps the settings it has)."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass
    return tf
