"""The typed config schema: defaults, unknown keys rejected, errors that name the key path.

A config is a tree of frozen dataclasses (``schema``), read from and written to YAML
(``parsing``), and checked beyond its types (``validation``), where modules downstream add
the checks of the names they own (:data:`CHECKS`; :data:`IMPORT_CHECKS` for those that import
the user's code, which reading a run directory skips). ``json_schema`` writes the tree as a
JSON Schema for editors.
"""

from deatf_gan.config.json_schema import config_json_schema
from deatf_gan.config.parsing import apply_overrides, config_from_dict, config_to_dict, load_config, save_config
from deatf_gan.config.schema import (
    Config,
    DataConfig,
    EvaluationConfig,
    EvolutionConfig,
    ExecutorConfig,
    FloatRangeConfig,
    GeneratorSpaceConfig,
    HyperparameterSpaceConfig,
    IntRangeConfig,
    LoggingConfig,
    NetworkSpaceConfig,
    SearchSpaceConfig,
    SelectionConfig,
    TrainingConfig,
    TrainOnConfig,
    build_search_space,
)
from deatf_gan.config.validation import CHECKS, IMPORT_CHECKS, require, validate_config, validate_names

__all__ = [
    "CHECKS",
    "IMPORT_CHECKS",
    "Config",
    "DataConfig",
    "EvaluationConfig",
    "EvolutionConfig",
    "ExecutorConfig",
    "FloatRangeConfig",
    "GeneratorSpaceConfig",
    "HyperparameterSpaceConfig",
    "IntRangeConfig",
    "LoggingConfig",
    "NetworkSpaceConfig",
    "SearchSpaceConfig",
    "SelectionConfig",
    "TrainOnConfig",
    "TrainingConfig",
    "apply_overrides",
    "build_search_space",
    "config_from_dict",
    "config_json_schema",
    "config_to_dict",
    "load_config",
    "require",
    "save_config",
    "validate_config",
    "validate_names",
]
