"""Pictures of a run directory: fitness over generations, best generator against real data.

Figures are drawn on matplotlib's Agg canvas directly, without pyplot, so importing this
module changes no global backend and needs no display.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from deatf_gan.datasets import Dataset, load_dataset
from deatf_gan.errors import ConfigError
from deatf_gan.evaluation import EvalContext, held_out
from deatf_gan.fitness import FitnessMeaning, describe_fitness
from deatf_gan.genealogy import coverage_figure, genealogy_figure
from deatf_gan.metrics import METRIC_NAMES, quality_metrics
from deatf_gan.runs import Member, Run, load_run

SAMPLES = 2000  # points per side in a histogram or scatter plot
IMAGES = 36  # images per side in an image grid (6 × 6)
GENEALOGY_MEMBERS = 3  # hall-of-fame ranks whose ancestry is drawn: more tangle into one picture


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(figure_png(figure))
    return path


def _require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    return path


def _number(cell: str) -> float:
    """An empty logbook cell is a NaN (the run directory writes non-finite values as empty)."""
    return float(cell) if cell.strip() else math.nan


def read_logbook(path: str | Path) -> dict[str, np.ndarray]:
    """``logbook.csv`` as one float array per column."""
    with open(_require_file(Path(path), "logbook"), newline="") as stream:
        rows = list(csv.DictReader(stream))
    if not rows:
        raise ConfigError(f"{path}: the logbook has no generations yet")
    return {column: np.array([_number(row[column]) for row in rows]) for column in rows[0]}


def plot_fitness(logbook: dict[str, np.ndarray], path: str | Path, measure: FitnessMeaning | None = None) -> Path:
    """``fitness_figure`` as a PNG at ``path``."""
    return _save(fitness_figure(logbook, measure), Path(path))


def fitness_figure(logbook: dict[str, np.ndarray], measure: FitnessMeaning | None = None) -> Figure:
    """Min, mean and max fitness of the population per generation, and the best ever.

    ``measure`` names the number on the axis and says what it is in the title, so the
    reader needs no registry to read it, with its reference line (ln 2 for the judged loss)."""
    figure = Figure(figsize=(7, 4.5))
    axes = figure.add_subplot()
    generations = logbook["gen"]
    axes.fill_between(generations, logbook["min"], logbook["max"], alpha=0.15, color="tab:blue")
    for column, style in (("min", "-"), ("mean", "--"), ("max", ":")):
        axes.plot(generations, logbook[column], style, marker="o", color="tab:blue", label=column)
    if "best" in logbook:
        axes.plot(generations, logbook["best"], "-", color="tab:red", label="best ever")
    if measure is not None and measure.reference is not None:
        value, meaning = measure.reference
        axes.axhline(value, color="gray", linestyle="-.", linewidth=1, label=meaning)
    title = "Population fitness" if measure is None else f"Population fitness\n{measure.explained}"
    axes.set(xlabel="generation", ylabel="fitness" if measure is None else measure.name)
    axes.set_title(title, fontsize=10)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    return figure


def image_side(dim: int) -> int | None:
    """The side of a square image with ``dim`` pixels (at least 4 × 4), else None."""
    side = math.isqrt(dim)
    return side if dim >= 16 and side * side == dim else None


def plot_samples(
    real: np.ndarray, generated: np.ndarray, path: str | Path, title: str = "", centres: np.ndarray | None = None
) -> Path:
    """``samples_figure`` as a PNG at ``path``."""
    return _save(samples_figure(real, generated, title, centres), Path(path))


def figure_png(figure: Figure) -> bytes:
    """The figure as PNG bytes, drawn as ``_save`` draws it (for a log that stores images)."""
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def samples_figure(
    real: np.ndarray, generated: np.ndarray, title: str = "", centres: np.ndarray | None = None
) -> Figure:
    """Generated samples against real ones: overlaid histograms for 1-D data, a scatter plot
    for 2-D data (with a mixture's mode ``centres`` marked), image grids side by side for
    square images (64 values: 8 × 8), and a scatter of the first two features otherwise."""
    real, generated = np.asarray(real, dtype=float), np.asarray(generated, dtype=float)
    if real.ndim != 2 or generated.ndim != 2 or real.shape[1] != generated.shape[1]:
        raise ValueError(f"real {real.shape} and generated {generated.shape} must be 2-D with equal columns")
    dim = real.shape[1]
    side = image_side(dim)
    if side:
        figure = _image_grids(real[:IMAGES], generated[:IMAGES], side)
    elif dim == 1:
        figure = _histograms(real[:SAMPLES, 0], generated[:SAMPLES, 0])
    else:
        figure = _scatter(real[:SAMPLES], generated[:SAMPLES], dim, centres)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


def _histograms(real: np.ndarray, generated: np.ndarray) -> Figure:
    figure = Figure(figsize=(7, 4.5))
    axes = figure.add_subplot()
    both = np.concatenate([real, generated])
    bins = np.linspace(*np.percentile(both, [0.5, 99.5]), 50)
    for values, name, color in ((real, "real", "tab:blue"), (generated, "generated", "tab:orange")):
        label = f"{name} (mean {values.mean():.2f}, std {values.std():.2f})"
        axes.hist(values, bins=bins, density=True, alpha=0.5, color=color, label=label)
    axes.set(xlabel="x", ylabel="density")
    axes.legend()
    return figure


def _scatter(real: np.ndarray, generated: np.ndarray, dim: int, centres: np.ndarray | None = None) -> Figure:
    figure = Figure(figsize=(6, 6))
    axes = figure.add_subplot()
    for values, name, color in ((real, "real", "tab:blue"), (generated, "generated", "tab:orange")):
        axes.scatter(values[:, 0], values[:, 1], s=4, alpha=0.4, color=color, label=name)
    if centres is not None:
        axes.scatter(centres[:, 0], centres[:, 1], s=60, marker="x", color="black", label="mode centres")
        axes.set_aspect("equal")
    note = "" if dim == 2 else f" (first 2 of {dim} features)"
    axes.set(xlabel="feature 1" + note, ylabel="feature 2")
    axes.legend(markerscale=3)
    return figure


def _image_grids(real: np.ndarray, generated: np.ndarray, side: int) -> Figure:
    """Both grids share the real data's grey scale, so a generator's bias in brightness shows."""
    figure = Figure(figsize=(10, 5.4))
    low, high = real.min(), real.max()
    for position, (images, name) in enumerate(((real, "real"), (generated, "generated")), start=1):
        axes = figure.add_subplot(1, 2, position)
        axes.imshow(_mosaic(images, side), cmap="gray", vmin=low, vmax=high, interpolation="nearest")
        axes.set_title(name)
        axes.axis("off")
    return figure


def _mosaic(images: np.ndarray, side: int) -> np.ma.MaskedArray:
    """Square images tiled in a near-square grid, one masked pixel between neighbours."""
    columns = math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    mosaic = np.full((rows * (side + 1) - 1, columns * (side + 1) - 1), np.nan)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = row * (side + 1), column * (side + 1)
        mosaic[top : top + side, left : left + side] = image.reshape(side, side)
    return np.ma.masked_invalid(mosaic)


def save_image_grid(samples: np.ndarray, path: str | Path) -> Path:
    """All ``samples`` (square images, one per row) as one grid PNG (``deatf-gan sample -o x.png``)."""
    samples = np.asarray(samples, dtype=float)
    side = image_side(samples.shape[1])
    if side is None:
        raise ValueError(f"{samples.shape[1]} values per sample are not a square image")
    columns = math.ceil(math.sqrt(len(samples)))
    figure = Figure(figsize=(max(2.0, columns * 0.6), max(2.0, columns * 0.6)))
    axes = figure.add_subplot()
    axes.imshow(_mosaic(samples, side), cmap="gray", interpolation="nearest")
    axes.axis("off")
    figure.tight_layout()
    return _save(figure, Path(path))


def scored_samples(run: Run, member: Member) -> tuple[np.ndarray, np.ndarray, Dataset]:
    """The held-out real and generated samples ``member`` was scored on: the same draw of its
    own seed (``evaluation.held_out``), through its saved generator; plus the dataset. So a
    plot shows what its ``metrics.json`` measured."""
    config = run.config
    dataset = load_dataset(config.data.name, config.data.params, config.seed)
    context = EvalContext(
        dataset=dataset,
        seed=member.metrics["seed"],
        latent_stddev=config.training.latent_stddev,
        eval_samples=config.training.eval_samples,
    )
    latent, real = held_out(context, member.genome)
    return real, np.asarray(member.generator(latent, training=False)), dataset


def scored_quality(member: Member, dataset: Dataset, real: np.ndarray, generated: np.ndarray) -> dict[str, float]:
    """The member's quality metrics as its ``metrics.json`` holds them; computed from its
    scored samples only for an evaluation that recorded none (a custom function)."""
    names = METRIC_NAMES[dataset.kind]
    if all(name in member.metrics for name in names):
        return {name: member.metrics[name] for name in names}
    return quality_metrics(dataset.kind, real, generated, dataset.centres, dataset.mode_stddev)


def plot_run(run_directory: str | Path, out_directory: str | Path | None = None) -> list[Path]:
    """Write ``fitness.png``, ``genealogy.png`` (the hall of fame's ancestry), ``coverage.png``
    (architectures tried per generation) and ``samples.png`` for a finished or running run
    (default into ``RUN_DIR/plots``) and return their paths. A missing run directory, logbook
    or hall of fame raises ConfigError naming the path. A best member without a trained
    generator (its evaluation returned no weights, as DEATF-signature code does) gets no
    ``samples.png``, and a run directory without ``individuals.jsonl`` (written by an older
    version) no genealogy or coverage; a warning says so, and the rest is drawn all the same."""
    run_directory = Path(run_directory)
    if not run_directory.is_dir():
        raise ConfigError(f"{run_directory}: run directory not found")
    out_directory = Path(out_directory) if out_directory is not None else run_directory / "plots"
    logbook = read_logbook(run_directory / "logbook.csv")
    run = load_run(run_directory)
    run.require_hall_of_fame()
    evaluation = run.config.evaluation
    measure = describe_fitness(evaluation.fitness_names, evaluation.function, evaluation.objective_weights[0])
    paths = [plot_fitness(logbook, out_directory / "fitness.png", measure)]
    if run.individuals is None:
        warnings.warn(f"no genealogy.png or coverage.png: {run_directory} has no individuals.jsonl", stacklevel=2)
    else:
        members = [member.metrics["id"] for member in run.hall_of_fame[:GENEALOGY_MEMBERS]]
        paths.append(_save(genealogy_figure(run.individuals, members, measure), out_directory / "genealogy.png"))
        paths.append(_save(coverage_figure(run.individuals, measure), out_directory / "coverage.png"))
    best = run.hall_of_fame[0]
    if not best.has_models:
        warnings.warn(
            f"no samples.png: rank 1 of {run_directory} has no trained generator (its evaluation returned no weights)",
            stacklevel=2,
        )
        return paths
    real, generated, dataset = scored_samples(run, best)
    quality = scored_quality(best, dataset, real, generated)
    values = [f"{name} {value:.3g}" for name, value in quality.items()]
    where = "as in metrics.json" if quality.keys() <= best.metrics.keys() else "not in metrics.json: measured here"
    title = f"{dataset.name}: best generator vs real data,\nthe held-out samples it was scored on ({where})"
    title += "".join("\n" + ", ".join(values[i : i + 2]) for i in range(0, len(values), 2))
    return [*paths, plot_samples(real, generated, out_directory / "samples.png", title=title, centres=dataset.centres)]
