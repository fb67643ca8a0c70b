"""The package's import structure (docs/architecture.md): one-way, and TensorFlow only where it trains."""

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "deatf_gan"


def _module_level_imports() -> dict[str, set[str]]:
    """Which top-level part of the package (``evaluation``, ``batched``...) each part imports
    at module level (imports inside functions are allowed to reach further)."""
    modules = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts): p for p in PACKAGE.rglob("*.py")}
    modules = {name.removesuffix(".__init__"): path for name, path in modules.items()}

    def part(name: str) -> str:
        return name.split(".")[1] if "." in name else name

    edges = defaultdict(set)
    for name, path in modules.items():
        for node in ast.parse(path.read_text()).body:
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("deatf_gan"):
                targets = [node.module] * (node.module != "deatf_gan") + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            edges[part(name)] |= {part(t) for t in targets if t in modules and part(t) != part(name)}
    return edges


def test_no_part_of_the_package_imports_one_that_imports_it_back():
    edges = _module_level_imports()

    def reaches(start: str, goal: str, seen: set) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in edges[start])

    cycles = sorted(name for name in list(edges) if reaches(name, name, set()))
    assert cycles == [], f"import cycles through {cycles}"


def test_the_driver_side_imports_no_tensorflow():
    driver = "deatf_gan.evolution, deatf_gan.evaluators, deatf_gan.executors, deatf_gan.runs, deatf_gan.batched.planner"
    code = f"import sys, {driver}, deatf_gan.xla_cache, deatf_gan.streams; assert 'tensorflow' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
