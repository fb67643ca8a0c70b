import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


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


def _unguarded_calls(source: str) -> list[str]:
    """Calls made at module level outside ``if __name__ == "__main__":`` (decorators and
    definitions aside): what spawned worker processes would run again on import."""
    import ast

    calls = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            continue
        if isinstance(node, (ast.Expr, ast.Assign)) and isinstance(node.value, ast.Call):
            calls.append(ast.unparse(node.value))
    return calls


def test_the_readme_api_snippets_and_the_example_scripts_run_under_a_main_guard():
    import re

    readme = (ROOT / "README.md").read_text()
    snippets = [block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "evolve(" in block]
    assert snippets
    scripts = [path.read_text() for path in sorted(EXAMPLES.glob("*.py"))]
    for source in [*snippets, *scripts]:
        assert _unguarded_calls(source) == [], source[:200]
    assert _unguarded_calls("import deatf_gan\nresult = deatf_gan.evolve(config)\n") == ["deatf_gan.evolve(config)"]


def _readme_snippets(marker: str) -> list[str]:
    import re

    readme = (ROOT / "README.md").read_text()
    found = [block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if marker in block]
    assert len(found) == 1, f"{len(found)} README snippets contain {marker!r}"
    return found


@pytest.mark.slow
def test_the_readme_python_api_snippet_runs_as_a_script_from_the_repository_root(tmp_path):
    """Saved as a script and run from a clone's root, as a reader would, it evolves and prints."""
    import subprocess
    import sys

    script = tmp_path / "snippet.py"
    script.write_text(_readme_snippets("deatf_gan.evolve(config)")[0])
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "'trained_steps'" in done.stdout, done.stdout  # the best's metrics, printed


def test_the_readme_snippets_that_read_a_run_directory_run_as_written(finished_run, tmp_path, monkeypatch):
    """The Keras-only loading snippet and the ``load_run`` snippet, on a real run directory
    copied to the paths they name."""
    import shutil

    monkeypatch.chdir(tmp_path)
    shutil.copytree(finished_run, tmp_path / "runs" / "gaussian_1d-20261122-160000")
    shutil.copytree(finished_run, tmp_path / "runs" / "toy")
    keras_only = _readme_snippets("keras.models.load_model")[0]
    namespace: dict = {}
    exec(compile(keras_only, "README keras snippet", "exec"), namespace)
    assert namespace["samples"].shape[0] == 10_000
    namespace = {"deatf_gan": __import__("deatf_gan")}
    exec(compile(_readme_snippets("deatf_gan.load_run(")[0], "README load_run snippet", "exec"), namespace)
    assert namespace["samples"].shape[0] == 10_000 and namespace["run"].individuals


def test_the_readme_operator_snippet_registers_a_mutation():
    from deatf_gan.operators import MUTATIONS

    namespace: dict = {}
    exec(compile(_readme_snippets("register_mutation")[0], "README operator snippet", "exec"), namespace)
    try:
        assert "double_units" in MUTATIONS.names()
    finally:
        MUTATIONS.unregister("double_units")
