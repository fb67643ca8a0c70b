"""Plots of a run directory: real PNG files of sensible size, and clear errors for bad paths."""

import shutil

import numpy as np
import pytest
from matplotlib.image import imread

from deatf_gan.errors import ConfigError
from deatf_gan.plots import image_side, plot_run, plot_samples, read_logbook

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path, min_width=300, min_height=250):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 1000, path
    height, width = imread(path).shape[:2]
    assert min_width <= width <= 2000 and min_height <= height <= 2000, (path, width, height)
    return imread(path)


def test_plot_run_writes_fitness_and_samples(finished_run, tmp_path):
    run = shutil.copytree(finished_run, tmp_path / "run")  # the shared run stays as the run left it
    paths = plot_run(run)
    assert [p.name for p in paths] == ["fitness.png", "genealogy.png", "coverage.png", "samples.png"]
    assert all(p.parent == run / "plots" for p in paths)
    for path in paths:
        pixels = assert_png(path)
        assert pixels[..., :3].std() > 0.05  # something is drawn, not a blank canvas


def test_plot_run_to_another_directory(finished_run, tmp_path):
    paths = plot_run(finished_run, tmp_path / "pictures")
    written = sorted(p.name for p in (tmp_path / "pictures").iterdir())
    assert written == ["coverage.png", "fitness.png", "genealogy.png", "samples.png"]
    assert all(p.exists() for p in paths)


def test_logbook_empty_cells_are_nan(tmp_path):
    (tmp_path / "logbook.csv").write_text("gen,min,mean,max,best\n0,1.5,,3,1.5\n1,1.2,2,2.5,1.2\n")
    logbook = read_logbook(tmp_path / "logbook.csv")
    assert np.isnan(logbook["mean"][0]) and logbook["mean"][1] == 2 and list(logbook["gen"]) == [0, 1]


def test_missing_run_or_hall_of_fame_names_the_path(finished_run, tmp_path):
    with pytest.raises(ConfigError, match=str(tmp_path / "nowhere")):
        plot_run(tmp_path / "nowhere")
    early = tmp_path / "early"
    shutil.copytree(finished_run, early, ignore=shutil.ignore_patterns("hall_of_fame", "plots"))
    with pytest.raises(ConfigError, match=f"{early / 'hall_of_fame'}: missing, though 9 individuals were scored"):
        plot_run(early)
    (early / "logbook.csv").unlink()
    with pytest.raises(ConfigError, match="logbook.csv"):
        plot_run(early)


def test_samples_two_dimensional(tmp_path):
    rng = np.random.default_rng(0)
    real = rng.normal(size=(500, 2))
    generated = rng.normal(loc=2.0, size=(500, 2))
    assert_png(plot_samples(real, generated, tmp_path / "scatter.png", title="two gaussians"))


def test_samples_images_side_by_side(tmp_path):
    rng = np.random.default_rng(0)
    real = np.tile(np.eye(8).reshape(1, 64), (40, 1)) + 0.1 * rng.random((40, 64))  # diagonal strokes
    generated = rng.random((40, 64))
    pixels = assert_png(plot_samples(real, generated, tmp_path / "digits.png", title="digits"), min_width=600)
    assert pixels.shape[1] > pixels.shape[0]  # two grids side by side: wider than tall


def test_samples_reject_mismatched_arrays(tmp_path):
    with pytest.raises(ValueError, match="equal columns"):
        plot_samples(np.zeros((5, 2)), np.zeros((5, 3)), tmp_path / "bad.png")


def test_image_side():
    assert [image_side(d) for d in (1, 2, 9, 15, 16, 64, 65, 784)] == [None, None, None, None, 4, 8, None, 28]


def test_save_image_grid_writes_a_png(tmp_path):
    from deatf_gan.plots import save_image_grid

    images = np.random.default_rng(0).uniform(-1, 1, size=(10, 64))
    path = save_image_grid(images, tmp_path / "grid.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="not a square image"):
        save_image_grid(images[:, :10], tmp_path / "bad.png")


def test_a_run_without_trained_models_gets_its_fitness_plot_and_a_warning(tmp_path):
    """A run whose evaluations return no weights (DEATF-signature code, a plain float) has no
    generator to sample: the fitness is still plotted, and the missing samples are named."""
    from deatf_gan.cli import main
    from tests.conftest import quick_config

    run = tmp_path / "run"
    assert main(["run", str(quick_config(tmp_path)), "--out", str(run), "--quiet"]) == 0
    with pytest.warns(UserWarning, match="no samples.png: rank 1 .* has no trained generator"):
        paths = plot_run(run)
    assert [p.name for p in paths] == ["fitness.png", "genealogy.png", "coverage.png"]
    for path in paths:
        assert_png(path)


def test_a_run_directory_without_the_ledger_gets_the_other_plots_and_a_warning(finished_run, tmp_path):
    run = shutil.copytree(finished_run, tmp_path / "run", ignore=shutil.ignore_patterns("individuals.jsonl", "plots"))
    with pytest.warns(UserWarning, match="no genealogy.png or coverage.png: .* has no individuals.jsonl"):
        paths = plot_run(run)
    assert [p.name for p in paths] == ["fitness.png", "samples.png"]


def test_the_plot_shows_the_samples_and_quality_that_metrics_json_holds(finished_run):
    """The samples drawn are the held-out draw the best member was scored on, so the quality
    measured on them again is its metrics.json's (up to the saved model's float rounding)."""
    from deatf_gan.metrics import quality_metrics
    from deatf_gan.plots import scored_quality, scored_samples
    from deatf_gan.runs import load_run

    run = load_run(finished_run)
    best = run.hall_of_fame[0]
    real, generated, dataset = scored_samples(run, best)
    assert len(generated) == run.config.training.eval_samples
    again = quality_metrics(dataset.kind, real, generated, dataset.centres, dataset.mode_stddev)
    for name, value in again.items():
        assert value == pytest.approx(best.metrics[name], rel=1e-3, abs=1e-6), name
    assert scored_quality(best, dataset, real, generated) == {name: best.metrics[name] for name in again}


def test_the_fitness_axis_names_the_measure_and_the_judged_loss_has_its_ln2_line():
    from deatf_gan.fitness import JUDGE_FOOLED, describe_fitness
    from deatf_gan.plots import fitness_figure

    logbook = {name: np.array([0.9, 0.8]) for name in ("min", "mean", "max", "best")}
    logbook["gen"] = np.array([0, 1])
    judged = fitness_figure(logbook, describe_fitness(("judged_generator_loss",), None, -1.0)).axes[0]
    w1 = fitness_figure(logbook, describe_fitness(("wasserstein_1d",), None, -1.0)).axes[0]
    assert judged.get_ylabel() == "judged_generator_loss" and "in nats; lower is better" in judged.get_title()
    labels = [text.get_text() for text in judged.get_legend().get_texts()]
    assert JUDGE_FOOLED[1] in labels and "cannot tell fake from real" in JUDGE_FOOLED[1]
    assert any(np.allclose(line.get_ydata(), np.log(2)) for line in judged.get_lines())
    assert w1.get_ylabel() == "wasserstein_1d" and "data units" in w1.get_title()
    assert not any(np.allclose(line.get_ydata(), np.log(2)) for line in w1.get_lines())
