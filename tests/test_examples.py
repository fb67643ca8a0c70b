import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_python_api_example_runs_and_uses_its_own_fitness():
    spec = importlib.util.spec_from_file_location("python_api_example", EXAMPLES / "python_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        result = module.main(generations=1, steps=50)
        assert result.config.evaluation.fitness == "moment_error"
        assert 0 <= result.hall_of_fame[0].fitness.values[0] < 20
    finally:
        from deatf_gan.evaluation import FITNESSES

        FITNESSES.unregister("moment_error")
