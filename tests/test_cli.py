import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from deatf_gan.cli import main
from tests.conftest import quick_config

ROOT = Path(__file__).resolve().parent.parent
BAD = sorted((Path(__file__).parent / "bad_configs").glob("*.yaml"))


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_config_exits_2_naming_the_key(path, capsys, tmp_path):
    assert main(["run", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deatf-gan: error: ")
    assert path.read_text().splitlines()[0].removeprefix("# expect: ") in err
    assert not (tmp_path / "run").exists()


def test_bad_config_on_the_real_command_line_has_no_traceback(tmp_path):
    bad = Path(__file__).parent / "bad_configs" / "negative_population.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "deatf_gan", "run", str(bad), "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "evolution.population" in done.stderr and "Traceback" not in done.stderr


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.mark.parametrize(
    "kind, expected",
    [("directory", "is a directory"), ("png", "not a text file"), ("endless", "longer than a config can be")],
)
def test_a_directory_or_a_binary_file_as_the_config_exits_2_naming_it(kind, expected, capsys, tmp_path):
    config = tmp_path / "configs"
    if kind == "directory":
        config.mkdir()
    elif kind == "endless":
        config = Path("/dev/zero")  # read until memory ran out before
    else:
        config = tmp_path / "picture.png"
        config.write_bytes(PNG_SIGNATURE)
    assert main(["run", str(config), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"deatf-gan: error: {config}: {expected}") and len(err.splitlines()) == 1


def test_bad_set_exits_2(capsys, tmp_path):
    config = Path(__file__).resolve().parent.parent / "configs" / "gaussian_1d.yaml"
    assert main(["run", str(config), "--out", str(tmp_path / "r"), "--set", "evolution.population=zero"]) == 2
    assert "evolution.population" in capsys.readouterr().err


def test_fitness_for_other_data_exits_2_before_any_run_directory(capsys, tmp_path):
    config = Path(__file__).resolve().parent.parent / "configs" / "gaussian_1d.yaml"
    out = tmp_path / "r"
    assert main(["run", str(config), "--out", str(out), "--set", "evaluation.fitness=frechet_distance"]) == 2
    assert "'frechet_distance' needs a digits dataset" in capsys.readouterr().err
    assert not out.exists()


def test_run_writes_a_loadable_hall_of_fame(finished_run):
    ranks = sorted((finished_run / "hall_of_fame").iterdir())
    assert [p.name for p in ranks] == ["rank_1", "rank_2"]
    previous = -np.inf
    for rank in ranks:
        assert {p.name for p in rank.iterdir()} == {
            "genome.json",
            "generator.keras",
            "discriminator.keras",
            "metrics.json",
        }
        genome = json.loads((rank / "genome.json").read_text())
        metrics = json.loads((rank / "metrics.json").read_text())
        assert metrics["fitness"][0] >= previous
        previous = metrics["fitness"][0]
        generator = keras.models.load_model(rank / "generator.keras")
        discriminator = keras.models.load_model(rank / "discriminator.keras")
        z = np.random.default_rng(0).normal(size=(5, genome["hyperparameters"]["latent_dim"])).astype(np.float32)
        samples = generator(z)
        assert samples.shape == (5, 1)
        assert discriminator(samples).shape == (5, 1)
        assert len(generator.layers) >= len(genome["generator"]["layers"]) + 2


def test_run_writes_config_and_logbook(finished_run):
    from deatf_gan.config import load_config

    config = load_config(finished_run / "config.yaml")
    assert config.evolution.generations == 2
    rows = [json.loads(line) for line in (finished_run / "logbook.jsonl").read_text().splitlines()]
    assert [row["gen"] for row in rows] == [0, 1, 2]
    assert rows[0]["evaluated"] == 3
    csv_lines = (finished_run / "logbook.csv").read_text().splitlines()
    assert csv_lines[0].startswith("gen,evaluated,failures,min,mean,max")
    assert len(csv_lines) == 4


def test_existing_run_directory_is_not_overwritten(finished_run, capsys):
    config = finished_run / "config.yaml"
    assert main(["run", str(config), "--out", str(finished_run)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (finished_run / "hall_of_fame" / "rank_1" / "generator.keras").exists()


def test_import_without_tensorflow_names_the_extras(tmp_path):
    """An environment with every installed package but TensorFlow: ``python -S`` reads only
    PYTHONPATH, a folder of links to the other packages, and the repository."""
    import numpy

    site_packages = Path(numpy.__file__).resolve().parent.parent
    without = tmp_path / "site-packages"
    without.mkdir()
    for entry in site_packages.iterdir():
        if not entry.name.startswith(("tensorflow", "_tensorflow")):
            (without / entry.name).symlink_to(entry)
    done = subprocess.run(
        [sys.executable, "-S", "-c", "import deatf_gan"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{without}:{Path(__file__).resolve().parent.parent}", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode != 0
    assert "deatf_gan[cpu]" in done.stderr and "deatf_gan[gpu]" in done.stderr


def test_sample_example_reads_a_finished_run(finished_run):
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "examples" / "sample_hall_of_fame.py"
    spec = importlib.util.spec_from_file_location("sample_hall_of_fame", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    moments = module.main(str(finished_run), count=500)
    assert len(moments) == 2 and all(np.isfinite(m).all() for m in moments)


# --- a run directory that cannot be one --------------------------------------------------------


def test_an_out_that_is_a_file_exits_2_and_leaves_it(tmp_path, capsys):
    out = tmp_path / "notes.txt"
    out.write_text("keep me")
    assert main(["run", str(quick_config(tmp_path)), "--out", str(out), "--quiet"]) == 2
    assert capsys.readouterr().err == f"deatf-gan: error: {out}: exists and is not a directory\n"
    assert out.read_text() == "keep me"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("out", ["/proc/deatf-gan-run", "/proc/self"])
def test_an_out_under_proc_exits_2_naming_it(out, tmp_path, capsys):
    assert main(["run", str(quick_config(tmp_path)), "--out", out, "--overwrite", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"deatf-gan: error: {out}: ") and len(err.splitlines()) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_exits_2_naming_it(tmp_path, capsys):
    out = tmp_path / "read_only"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert main(["run", str(quick_config(tmp_path)), "--out", str(out), "--quiet"]) == 2
    finally:
        out.chmod(0o755)
    assert capsys.readouterr().err == f"deatf-gan: error: {out}: the run directory is not writable\n"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize(
    "command", [["sample", "-n", "5", "-o", "/proc/samples.npy"], ["plot", "--out", "/proc/plots"]]
)
def test_an_output_under_proc_exits_2_naming_it(command, finished_run, capsys):
    assert main([command[0], str(finished_run), *command[1:]]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"deatf-gan: error: {command[-1]}") and len(err.splitlines()) == 1


# --- resuming what is left of a run ------------------------------------------------------------


def test_resume_without_checkpoints_refuses_to_start_again_unless_restart(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["run", str(quick_config(tmp_path)), "--out", str(run), "--quiet"]) == 0
    logbook = (run / "logbook.jsonl").read_text()
    shutil.rmtree(run / "checkpoints")
    assert main(["resume", str(run), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "the logbook has 3 generation(s) but checkpoints/ holds no checkpoint" in err and "--restart" in err
    assert (run / "logbook.jsonl").read_text() == logbook
    assert main(["resume", str(run), "--quiet", "--restart"]) == 0
    assert [json.loads(line)["gen"] for line in (run / "logbook.jsonl").read_text().splitlines()] == [0, 1, 2]
    assert any((run / "checkpoints").iterdir())


def test_a_corrupt_newest_checkpoint_is_one_warning_line(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["run", str(quick_config(tmp_path)), "--out", str(run), "--quiet"]) == 0
    newest = max((run / "checkpoints").iterdir(), key=lambda path: (path.stat().st_mtime_ns, path.name))
    newest.write_bytes(b"not a checkpoint")
    assert main(["resume", str(run), "--quiet"]) == 0
    err = capsys.readouterr().err
    warning = [line for line in err.splitlines() if newest.name in line]
    assert len(warning) == 1 and warning[0].startswith("deatf-gan: warning: ")
    assert "UserWarning" not in err and "warnings.warn" not in err


def test_resuming_a_finished_run_says_so_and_how_to_extend_it(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["run", str(quick_config(tmp_path)), "--out", str(run), "--quiet"]) == 0
    logbook = (run / "logbook.jsonl").read_text()
    assert main(["resume", str(run)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "finished, generation 2 of 2 is done" in out and "--generations N" in out
    assert "resuming at" not in out and (run / "logbook.jsonl").read_text() == logbook
    assert main(["resume", str(run), "--generations", "3", "--quiet"]) == 0
    assert len((run / "logbook.jsonl").read_text().splitlines()) == 4


TENSORFLOW_START_UP = ("absl::InitializeLog", "oneDNN", "cpu_feature_guard", "XLA service")


@pytest.mark.slow
def test_commands_that_load_tensorflow_print_none_of_its_start_up_lines(tmp_path):
    """``run``, ``resume``, ``plot`` and ``sample`` train or load models in this process (a
    serial run), where TensorFlow would log its start-up; a level the user sets is kept."""
    import yaml

    from tests.conftest import TINY_RUN

    config, run = tmp_path / "tiny.yaml", tmp_path / "run"
    config.write_text(yaml.safe_dump(TINY_RUN))
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}

    def command(*args, env=environment) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "deatf_gan", *args], capture_output=True, text=True, env=env, cwd=ROOT
        )
        assert done.returncode == 0, done.stderr
        return done.stderr

    for args in (
        ("run", str(config), "--out", str(run), "--quiet"),
        ("resume", str(run), "--generations", "2", "--quiet"),
        ("plot", str(run)),
        ("sample", str(run), "-n", "5", "-o", str(tmp_path / "s.csv")),
    ):
        stderr = command(*args)
        assert not [line for line in stderr.splitlines() if any(s in line for s in TENSORFLOW_START_UP)], args
    chatty = command("sample", str(run), "-n", "5", "-o", str(tmp_path / "s.npy"), env={**environment,
                     "TF_CPP_MIN_LOG_LEVEL": "0"})  # fmt: skip
    assert any(s in chatty for s in TENSORFLOW_START_UP)
