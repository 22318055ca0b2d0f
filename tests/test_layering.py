"""The layering of DESIGN.md, read from the source (ast): manifolds <- optim
<- nn <- train <- the command line and the benchmarks, data beside nn,
analysis on data only; nothing imports the benchmarks or the command line;
and no package imports a private name (``_x``) or a private module of
another, nor reaches into a private member of a library class from the
scripts above the library."""
import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

from .conftest import REPO

ROOTS = ("hypgraph", "analysis", "benchmarks")
LIBRARY = ("hypgraph.manifolds", "hypgraph.optim", "hypgraph.data", "hypgraph.nn", "hypgraph.train")

#: package -> the packages it may import (besides itself). A package missing
#: here fails the test: place it in the layering first.
MAY_IMPORT: Dict[str, Set[str]] = {
    "hypgraph": set(LIBRARY),  # the top-level __init__: the library, never the command line
    # `python -m hypgraph` (what torchrun launches) is the command line and nothing else
    "hypgraph.__main__": {"hypgraph.cli"},
    "hypgraph.manifolds": set(),
    "hypgraph.optim": {"hypgraph.manifolds"},
    # data sits beside nn: models use its interaction and KG structures
    "hypgraph.data": {"hypgraph.manifolds"},
    "hypgraph.nn": {"hypgraph.manifolds", "hypgraph.optim", "hypgraph.data"},
    "hypgraph.train": {"hypgraph.manifolds", "hypgraph.optim", "hypgraph.data", "hypgraph.nn"},
    "hypgraph.cli": {"hypgraph", *LIBRARY, "analysis"},
    "analysis": {"hypgraph", "hypgraph.data"},
    "benchmarks": {"hypgraph", *LIBRARY, "analysis"},
}

#: (importer, imported module prefix) pairs DESIGN.md rules out within
#: otherwise allowed packages: models may use data's structures, never its readers.
NEVER: Tuple[Tuple[str, str], ...] = (("hypgraph.nn", "hypgraph.data.readers"),)

#: Known violations, each with the issue that will remove it: "path:line target".
#: (None today: hypgraph/demo.py, which imported every subpackage, moved to
#: hypgraph/cli/demo.py.)
ALLOWED_EXCEPTIONS: Set[str] = set()


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "hypgraph" and len(parts) > 1 else parts[0]


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def sources(repo: Path = REPO) -> Iterator[Tuple[str, str, Path]]:
    """``(module, package of relative imports, path)`` of every source file."""
    for root in ROOTS:
        for path in sorted((repo / root).rglob("*.py")):
            rel = path.relative_to(repo).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
                package = parts
            else:
                package = parts[:-1]
            yield ".".join(parts), ".".join(package), path


def imports(module: str, package: str, tree: ast.AST) -> Iterator[Tuple[int, str, List[str]]]:
    """``(line, imported module, imported names)`` of every import of a
    first-party module (``import a.b`` imports no names)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ROOTS:
                    yield node.lineno, alias.name, []
            continue
        else:
            continue
        if target.split(".")[0] in ROOTS:
            yield node.lineno, target, names


def parsed(repo: Path = REPO):
    for module, package, path in sources(repo):
        yield module, package, path.relative_to(repo).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def private_import_violations(repo: Path = REPO) -> List[str]:
    bad = []
    for module, package, path, tree in parsed(repo):
        for line, target, names in imports(module, package, tree):
            if package_of(target) == package_of(module):
                continue
            private_module = any(is_private(part) for part in target.split("."))
            private_names = [name for name in names if is_private(name)]
            if private_module or private_names:
                bad.append(f"{path}:{line} {target} {private_names or names}")
    return bad


def private_members_of_library_classes(repo: Path = REPO) -> Set[str]:
    """Names of the private methods and attributes the library's classes define."""
    names = set()
    for module, _, _, tree in parsed(repo):
        if not module.startswith("hypgraph"):
            continue
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            for item in cls.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and is_private(item.name):
                    names.add(item.name)
    return names


def private_member_violations(repo: Path = REPO) -> List[str]:
    # the scripts above the library (analysis, benchmarks) go through public API:
    # no obj._method of a hypgraph class (self/cls/super() in their own classes aside)
    members = private_members_of_library_classes(repo)
    bad = []
    for module, _, path, tree in parsed(repo):
        if module.startswith("hypgraph"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in members:
                owner = node.value
                if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                    continue
                if isinstance(owner, ast.Call) and getattr(owner.func, "id", None) == "super":
                    continue
                bad.append(f"{path}:{node.lineno} .{node.attr}")
    return bad


def upward_violations(repo: Path = REPO) -> List[str]:
    bad = []
    for module, package, path, tree in parsed(repo):
        importer = package_of(module)
        if importer not in MAY_IMPORT:
            bad.append(f"{path}: package {importer} has no place in the layering (tests/test_layering.py)")
            continue
        for line, target, _ in imports(module, package, tree):
            imported = package_of(target)
            where = f"{path}:{line} {target}"
            if imported == importer or where in ALLOWED_EXCEPTIONS:
                continue
            if imported not in MAY_IMPORT[importer]:
                bad.append(f"{where} ({importer} may not import {imported})")
            for who, prefix in NEVER:
                if importer == who and (target == prefix or target.startswith(prefix + ".")):
                    bad.append(f"{where} ({who} may not import {prefix})")
    return bad


def test_no_private_imports_across_packages():
    assert private_import_violations() == []


def test_no_private_members_of_library_classes_above_the_library():
    assert private_member_violations() == []


def test_no_import_points_up_the_layering():
    assert upward_violations() == []


def test_allowed_exceptions_still_exist():
    # an exception whose import is gone must be dropped from the list
    found = set()
    for module, package, path, tree in parsed():
        found |= {f"{path}:{line} {target}" for line, target, _ in imports(module, package, tree)}
    assert ALLOWED_EXCEPTIONS <= found


# --- the checks catch what they should, on a scratch tree ------------------------

def write(root: Path, files: Dict[str, str]) -> Path:
    for name in ROOTS:
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "__init__.py").touch()
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.parent.name not in ROOTS:
            (path.parent / "__init__.py").touch()
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("files,expected", [
    ({"hypgraph/train/x.py": "from ..optim._rows import manifold_of\n"},
     ["hypgraph/train/x.py:1 hypgraph.optim._rows ['manifold_of']"]),
    ({"hypgraph/train/x.py": "from hypgraph.optim.rsgd import _check\n"},
     ["hypgraph/train/x.py:1 hypgraph.optim.rsgd ['_check']"]),
    ({"benchmarks/x.py": "import hypgraph.optim._rows\n"}, ["benchmarks/x.py:1 hypgraph.optim._rows []"]),
    ({"hypgraph/optim/x.py": "from . import _rows\nfrom ._rows import gather\n"}, []),  # its own package
])
def test_private_import_check_on_examples(tmp_path, files, expected):
    assert private_import_violations(write(tmp_path, files)) == expected


def test_private_member_check_on_examples(tmp_path):
    repo = write(tmp_path, {
        "hypgraph/train/t.py": "class Trainer:\n    def _epoch(self):\n        pass\n",
        "benchmarks/timing.py": "def f(trainer):\n    trainer._epoch = None\n    return trainer._other\n",
        "analysis/a.py": "class A(B):\n    def g(self):\n        return self._epoch, super()._epoch\n",
    })
    assert private_member_violations(repo) == ["benchmarks/timing.py:2 ._epoch"]


@pytest.mark.parametrize("files,expected", [
    ({"hypgraph/manifolds/x.py": "from ..nn import conv\n"},
     ["hypgraph/manifolds/x.py:1 hypgraph.nn (hypgraph.manifolds may not import hypgraph.nn)"]),
    ({"hypgraph/data/x.py": "import benchmarks.timing\n"},
     ["hypgraph/data/x.py:1 benchmarks.timing (hypgraph.data may not import benchmarks)"]),
    ({"hypgraph/train/x.py": "from analysis import describe\n"},
     ["hypgraph/train/x.py:1 analysis (hypgraph.train may not import analysis)"]),
    ({"analysis/x.py": "from hypgraph.nn import models\n"},
     ["analysis/x.py:1 hypgraph.nn (analysis may not import hypgraph.nn)"]),
    ({"benchmarks/x.py": "from hypgraph.cli import demo\n"},
     ["benchmarks/x.py:1 hypgraph.cli (benchmarks may not import hypgraph.cli)"]),
    ({"hypgraph/nn/x.py": "from ..data.readers import read\n"},
     ["hypgraph/nn/x.py:1 hypgraph.data.readers (hypgraph.nn may not import hypgraph.data.readers)"]),
    ({"hypgraph/gpu/x.py": "import torch\n"},
     ["hypgraph/gpu/__init__.py: package hypgraph.gpu has no place in the layering (tests/test_layering.py)",
      "hypgraph/gpu/x.py: package hypgraph.gpu has no place in the layering (tests/test_layering.py)"]),
    ({"hypgraph/train/x.py": "from ..nn import losses\nfrom ..data.history import Interactions\n",
      "benchmarks/x.py": "from hypgraph.train import Trainer\nimport analysis\n"}, []),
])
def test_upward_check_on_examples(tmp_path, files, expected):
    assert upward_violations(write(tmp_path, files)) == expected
