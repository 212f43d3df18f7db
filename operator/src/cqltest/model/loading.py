"""Read TestRun manifests from files and find the built-in suite catalogue.

This is the thin I/O shell around :mod:`cqltest.model.validation`: reading a file, parsing
YAML, reading the installed suites' ``suite.yaml`` (the catalogue), checking local ``path``
suites exist. Everything it finds goes through the same Problem list as the schema checks.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml
from cqlsuites.catalogue import SUITES_DIR, read_catalogue

from cqltest.errors import ManifestError, Problem
from cqltest.model.catalogue import Catalogue
from cqltest.model.testrun import TestRun
from cqltest.model.validation import validate_testrun


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that rejects duplicate keys, which PyYAML would silently overwrite."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


@functools.cache
def builtin_catalogue() -> Catalogue:
    """The installed suites' ``suite.yaml`` declarations (a broken one is named, not fatal).

    Read once per process: the operator validates every TestRun on every reconcile, and the
    installed package does not change under a running process.
    """
    broken: dict[str, str] = {}
    suites = read_catalogue(SUITES_DIR, broken=broken)
    return Catalogue(suites=suites, broken=broken)


def builtin_suites() -> frozenset[str]:
    """Names of the built-in suites: those of the ``cqlsuites.suites`` package with a suite.yaml."""
    return builtin_catalogue().names()


def parse_testrun(data: object, *, known_suites: Collection[str] | None = None) -> TestRun:
    """Validate a parsed manifest against the installed catalogue (names, params, needs).

    An explicit ``known_suites`` checks only that built-in suites exist among those names.
    """
    if known_suites is not None:
        return validate_testrun(data, known_suites)
    catalogue = builtin_catalogue()
    return validate_testrun(data, catalogue.names(), catalogue)


def load_testrun(path: str | Path, *, known_suites: Collection[str] | None = None) -> TestRun:
    """Read and validate a TestRun manifest file; raises ManifestError listing every problem.

    Local ``path`` suites are resolved against the manifest's directory and must exist.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        problem = Problem(str(file), None, f"cannot read the file: {exc.strerror}")
        raise ManifestError([problem]) from exc
    try:
        documents = [d for d in yaml.load_all(text, Loader=_StrictLoader) if d is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = Problem(str(file), None, f"not valid YAML{where}: {exc.problem}")
        raise ManifestError([problem]) from exc
    except yaml.YAMLError as exc:
        raise ManifestError([Problem(str(file), None, f"not valid YAML: {exc}")]) from exc
    if len(documents) != 1:
        raise ManifestError(
            [
                Problem(
                    str(file),
                    len(documents),
                    f"expected exactly one YAML document, found {len(documents)}",
                )
            ]
        )
    document = documents[0]
    missing = _missing_directories(document, file)
    try:
        run = parse_testrun(document, known_suites=known_suites)
    except ManifestError as exc:
        raise ManifestError([*exc.problems, *missing]) from None
    if missing:
        raise ManifestError(missing)
    return run


def _missing_directories(document: object, file: Path) -> list[Problem]:
    """Local ``path`` suites whose directory does not exist next to the manifest."""
    spec = document.get("spec") if isinstance(document, dict) else None
    suites = spec.get("suites") if isinstance(spec, dict) else None
    problems = []
    for index, suite in enumerate(suites if isinstance(suites, list) else []):
        where = suite.get("path") if isinstance(suite, dict) else None
        if isinstance(where, str) and where and not (file.parent / where).is_dir():
            message = f"directory {where!r} not found next to {file}"
            problems.append(Problem(f"spec.suites[{index}].path", where, message))
    return problems


def suite_directory(manifest: str | Path, suite_path: str) -> Path:
    """Where a local ``path`` suite lives, given the manifest file it was declared in."""
    return (Path(manifest).parent / suite_path).resolve()
