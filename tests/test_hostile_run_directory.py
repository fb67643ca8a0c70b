"""A run directory is data, never code: files planted in every place one is read from run nothing.

Each planted file, if it were executed, would create a canary file. Each test first shows
that its payload does run where it is unguarded (so the test can fail), then that no
command or API that reads a run directory runs it.
"""

import pickle
import shutil
import sys

import keras
import numpy as np
import pytest
import yaml

from deatf_gan.cli import main
from deatf_gan.config import load_config
from deatf_gan.evaluation import EvalResult
from deatf_gan.runs import CACHE, CHECKPOINTS, HALL_OF_FAME, DiskCache, checkpoint_paths, load_checkpoint, load_run
from deatf_gan.runs.archive import Arrays, write_archive
from tests.conftest import small_genome


class Planted:
    """Unpickling this runs ``exec`` on code that creates the canary file."""

    def __init__(self, canary):
        self.canary = str(canary)

    def __reduce__(self):
        return (exec, (f"open({self.canary!r}, 'w').close()",))


def _payloads(canary) -> dict[str, bytes]:
    """A bare pickle, and an ``.npz`` whose array holds the pickled object."""
    pickled = pickle.dumps(Planted(canary))
    pickle.loads(pickled)
    assert canary.exists(), "the payload must run when unpickled, or the test proves nothing"
    canary.unlink()
    buffer = __import__("io").BytesIO()
    np.savez(buffer, record=np.array([Planted(canary)], dtype=object))
    return {"pickle": pickled, "npz": buffer.getvalue()}


@pytest.fixture
def run(finished_run, tmp_path):
    """A private copy of the shared finished run, to plant files in."""
    return shutil.copytree(finished_run, tmp_path / "run")


@pytest.mark.filterwarnings("ignore:.*unreadable")
def test_planted_checkpoints_and_cache_files_are_never_unpickled_and_resume_goes_on(run, tmp_path, capsys):
    canary = tmp_path / "canary"
    payloads = _payloads(canary)
    newest = checkpoint_paths(run)[-1]
    (run / CHECKPOINTS / "generation_99998.npz").write_bytes(payloads["npz"])
    (run / CHECKPOINTS / "generation_99999.npz").write_bytes(payloads["pickle"])
    (run / CHECKPOINTS / "generation_99999.pkl").write_bytes(payloads["pickle"])
    (run / CACHE).mkdir(exist_ok=True)
    (run / CACHE / "0123456789abcdef-1.npz").write_bytes(payloads["npz"])
    (run / CACHE / "0123456789abcdef-2.pkl").write_bytes(payloads["pickle"])

    (run / CHECKPOINTS / "generation_99997.npz").write_bytes(b"")
    # a well-formed archive of the right kind whose record is not a generation's state
    malformed = {"generation": 5, "population": [1]}
    write_archive(run / CHECKPOINTS / "generation_99996.npz", "checkpoint", malformed, Arrays())
    assert load_checkpoint(run).generation == int(newest.stem.split("_")[1])  # the planted ones are skipped
    assert main(["resume", str(run), "--generations", "3", "--quiet"]) == 0
    assert not canary.exists()
    assert [row["gen"] for row in load_run(run).logbook] == [0, 1, 2, 3]


def test_a_planted_cache_entry_is_evaluated_again_not_unpickled(tmp_path):
    canary = tmp_path / "canary"
    cache, genome = DiskCache(tmp_path / "cache"), small_genome()
    cache.put(genome, 7, EvalResult(fitness=(1.5,)))
    (entry,) = (tmp_path / "cache").iterdir()
    for payload in _payloads(canary).values():
        entry.write_bytes(payload)
        assert cache.get(genome, 7) is None
    assert not canary.exists()


def test_a_config_naming_a_module_in_the_run_directory_is_not_imported_by_reading_tools(
    run, tmp_path, monkeypatch, capsys
):
    canary = tmp_path / "canary"
    code = f"open({str(canary)!r}, 'w').close()\ndef f(genome, context):\n    return 0.0\n"
    (run / "planted_evaluation.py").write_text(code)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["evaluation"]["function"] = "planted_evaluation:f"
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.chdir(run)  # where the import would find it, as `deatf-gan inspect .` would
    monkeypatch.setattr(sys, "path", list(sys.path))

    assert main(["inspect", "."]) == 0
    assert main(["inspect", ".", "--rank", "1", "--json"]) == 0
    assert main(["sample", ".", "-n", "5", "-o", str(tmp_path / "samples.npy")]) == 0
    assert main(["plot", ".", "--out", str(tmp_path / "plots")]) == 0
    assert load_run(".").hall_of_fame[0].sample(3).shape == (3, 1)
    assert not canary.exists() and "planted_evaluation" not in sys.modules

    load_config(run / "config.yaml")  # a config the user runs imports its function: that is the control
    assert canary.exists()
    sys.modules.pop("planted_evaluation", None)


def test_a_config_with_a_python_yaml_tag_is_refused_with_exit_2(run, tmp_path, capsys):
    canary = tmp_path / "canary"
    tag = f"!!python/object/apply:builtins.exec [\"open({str(canary)!r}, 'w').close()\"]\n"
    (run / "config.yaml").write_text("seed: " + tag)
    yaml.unsafe_load((run / "config.yaml").read_text())  # the control: an unsafe loader runs it
    assert canary.exists()
    canary.unlink()
    for command in (["inspect", str(run)], ["plot", str(run)], ["resume", str(run)]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "config.yaml: not valid YAML" in err and "Traceback" not in err
    assert not canary.exists()


def test_a_model_file_that_carries_code_is_refused_with_one_line(run, tmp_path, capsys):
    inputs = keras.Input((2,))
    planted = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2.0)(inputs))
    planted.save(run / HALL_OF_FAME / "rank_1" / "generator.keras")
    assert main(["sample", str(run), "-n", "5", "-o", str(tmp_path / "samples.npy")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "generator.keras: cannot load this model" in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["logbook.jsonl", "failures.jsonl", "individuals.jsonl"])
def test_a_damaged_json_lines_file_is_named_with_its_line(run, name, capsys):
    with open(run / name, "a") as stream:
        stream.write('{"generation": 1, "id": \n')
    damaged = len([line for line in (run / name).read_text().splitlines() if line.strip()])
    assert main(["inspect", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{name}: line {damaged} is not JSON" in err and "Traceback" not in err
