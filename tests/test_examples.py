import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.slow
def test_python_api_example_runs_and_uses_its_own_fitness():
    spec = importlib.util.spec_from_file_location("python_api_example", EXAMPLES / "python_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        result = module.main(generations=1, steps=50)
        assert result.config.evaluation.fitness == "moment_error"
        assert 0 <= result.hall_of_fame[0].fitness.values[0] < 20
    finally:
        from deatf_gan.fitness import FITNESSES

        FITNESSES.unregister("moment_error")


def test_custom_evaluation_example_config_runs(tmp_path, monkeypatch):
    import json

    from deatf_gan.cli import main
    from deatf_gan.runs import load_run

    monkeypatch.chdir(EXAMPLES.parent)
    out = tmp_path / "run"
    overrides = [
        "evolution.generations=1",
        "evolution.population=3",
        "evolution.offspring=3",
        "training.steps=50",
        "executor.kind=serial",
        # wider generators than the default space's, so that some exceed the example's 3,000-parameter limit
        "search_space.generator.units={min: 4, max: 128}",
    ]
    argv = ["run", "examples/custom_evaluation.yaml", "--out", str(out), "--quiet"]
    for override in overrides:
        argv += ["--set", override]
    assert main(argv) == 0
    run = load_run(out)
    best = run.hall_of_fame[0]
    assert best.sample(10).shape == (10, 1)  # weights were handed back, so models were exported
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert failures and all("parameters (limit 3000)" in failure["reason"] for failure in failures)
