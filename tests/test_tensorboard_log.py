"""The TensorBoard logger: event files that hold the logbook, the best's numbers and its samples."""

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import yaml

from deatf_gan.cli import main
from deatf_gan.config import load_config
from deatf_gan.evaluation import EvalResult
from deatf_gan.evolution import Individual
from deatf_gan.tensorboard_log import LOGBOOK_SCALARS, SAMPLES_TAG, best_scalars
from tests.conftest import TINY_RUN, quick_config, small_genome

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_events(directory: Path) -> dict[str, dict[int, tuple[str, np.ndarray]]]:
    """tag → step → (plugin name, value) of every event file in ``directory``, later files last."""
    import tensorflow as tf

    values = defaultdict(dict)
    for path in sorted(directory.glob("events.out.tfevents.*"), key=lambda p: p.stat().st_mtime_ns):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                values[value.tag][event.step] = (value.metadata.plugin_data.plugin_name, tf.make_ndarray(value.tensor))
    return dict(values)


def logbook(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "logbook.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory) -> Path:
    """A real two-generation run (trained networks, so the best has samples) with ``--tensorboard``."""
    root = tmp_path_factory.mktemp("tensorboard")
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY_RUN))
    out = root / "run"
    arguments = ["--quiet", "--tensorboard", "--set", "evolution.generations=2"]
    assert main(["run", str(config), "--out", str(out), *arguments]) == 0
    return out


def test_each_generation_logs_the_logbook_row(logged_run):
    events = read_events(logged_run / "tensorboard")
    rows = logbook(logged_run)
    assert [row["gen"] for row in rows] == [0, 1, 2]
    for tag, column in LOGBOOK_SCALARS.items():
        assert sorted(events[tag]) == [0, 1, 2], tag
        for row in rows:
            plugin, value = events[tag][row["gen"]]
            assert plugin == "scalars"
            assert float(value) == pytest.approx(row[column], rel=1e-6), (tag, row["gen"])


def test_the_best_individual_s_numbers_are_logged(logged_run):
    events = read_events(logged_run / "tensorboard")
    best = json.loads((logged_run / "hall_of_fame" / "rank_1" / "metrics.json").read_text())
    last = logbook(logged_run)[-1]["gen"]
    assert float(events["best/fitness"][last][1]) == pytest.approx(best["fitness"][0], rel=1e-6)
    for name in ("generator_loss", "discriminator_accuracy_real", "trained_steps", "wasserstein_1d"):
        assert float(events[f"best/{name}"][last][1]) == pytest.approx(best[name], rel=1e-6), name
    assert "best/failure" not in events  # not a number


def test_the_best_individual_s_samples_are_an_image_each_generation(logged_run):
    events = read_events(logged_run / "tensorboard")
    assert sorted(events[SAMPLES_TAG]) == [0, 1, 2]
    for plugin, value in events[SAMPLES_TAG].values():
        width, height, png = value
        assert plugin == "images" and png.startswith(PNG_SIGNATURE)
        assert (int(width), int(height)) == (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big"))
        assert int(width) >= 400 and int(height) >= 300


def test_the_flag_is_saved_in_the_run_s_config(logged_run):
    assert load_config(logged_run / "config.yaml").logging.tensorboard is True


def test_by_default_no_tensorboard_folder(tmp_path):
    run = tmp_path / "run"
    assert main(["run", str(quick_config(tmp_path)), "--out", str(run), "--quiet"]) == 0
    assert load_config(run / "config.yaml").logging.tensorboard is False
    assert not (run / "tensorboard").exists()


def test_a_resumed_run_goes_on_from_its_generation(tmp_path):
    """Through the config key: ``resume`` logs because the run's config says so. The quick
    evaluation keeps no trained weights, so there are scalars and no samples picture."""
    run = tmp_path / "run"
    config = quick_config(tmp_path, generations=1)
    assert main(["run", str(config), "--out", str(run), "--quiet", "--set", "logging.tensorboard=true"]) == 0
    assert sorted(read_events(run / "tensorboard")["fitness/min"]) == [0, 1]
    assert main(["resume", str(run), "--generations", "2", "--quiet"]) == 0
    events = read_events(run / "tensorboard")
    assert sorted(events["fitness/min"]) == [0, 1, 2] and SAMPLES_TAG not in events
    assert [float(events["fitness/min"][row["gen"]][1]) for row in logbook(run)] == pytest.approx(
        [row["min"] for row in logbook(run)], rel=1e-6
    )


def test_resume_with_the_flag_starts_logging(tmp_path):
    run = tmp_path / "run"
    assert main(["run", str(quick_config(tmp_path, generations=1)), "--out", str(run), "--quiet"]) == 0
    assert main(["resume", str(run), "--generations", "2", "--quiet", "--tensorboard"]) == 0
    assert sorted(read_events(run / "tensorboard")["fitness/min"]) == [2]
    assert load_config(run / "config.yaml").logging.tensorboard is True


def test_best_scalars_name_each_objective_and_leave_out_what_is_no_number():
    individual = Individual(small_genome(), id=0, born=0, seed=1, weights=(-1.0, -1.0))
    individual.fitness.values = (2.0, 3.0)
    individual.result = EvalResult(fitness=(2.0, 3.0), generator_loss=math.nan, extra={"mode_coverage": 0.5})
    scalars = best_scalars(individual)
    assert scalars["best/fitness_0"] == 2.0 and scalars["best/fitness_1"] == 3.0
    assert scalars["best/mode_coverage"] == 0.5
    assert "best/generator_loss" not in scalars and "best/failure" not in scalars and "best/fitness" not in scalars
