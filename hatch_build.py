"""How the `unguarded-workers` distribution is built: bundled from the repository, split for a release.

Built from the repository (`pip install git+URL`, pre-commit, `pip install .`, an editable
install), the wheel carries the runtime's files (`runtime/src/unguarded_workers`) beside the
linter's and depends on no distribution of ours, so it installs with nothing of ours on an index.

A release build (`UNGUARDED_WORKERS_RELEASE=1`, as `scripts/release` sets it) is split: the
linter's modules only, and `Requires-Dist: unguarded-workers-runtime==<this version>`, the
runtime being published beside it from runtime/. The two never install the same file, and
pip keeps their versions equal. The choice is recorded in the metadata, which a source
distribution carries in its PKG-INFO: a wheel built from an sdist is split exactly when that
sdist was (the release sdist holds no runtime files to bundle anyway).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.metadata.plugin.interface import MetadataHookInterface
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

RELEASE_SWITCH = "UNGUARDED_WORKERS_RELEASE"
# The rules' pages, which `unguarded-workers rule CODE` prints: package data in a wheel.
RULE_PAGES = Path("docs", "rules")
RULE_PAGES_IN_WHEEL = "unguarded_workers/rule_pages"
RUNTIME = "unguarded-workers-runtime"
# The runtime distribution's package, in this repository and in an sdist that bundles it.
RUNTIME_PACKAGE = Path("runtime", "src", "unguarded_workers")


class DependenciesHook(MetadataHookInterface):
    """`[project] dependencies` from `[tool.hatch.metadata.hooks.custom] dependencies`, plus the
    runtime pinned at this version for a release build."""

    def update(self, metadata: dict[str, Any]) -> None:
        dependencies = list(self.config.get("dependencies", []))
        if os.environ.get(RELEASE_SWITCH, "") not in ("", "0"):
            dependencies.append(f"{RUNTIME}=={metadata['version']}")
        metadata["dependencies"] = dependencies


class BundleRuntimeHook(BuildHookInterface):  # type: ignore[type-arg]
    """Adds the rules' pages to every wheel, and the runtime's files to a wheel or sdist whose
    metadata does not pin the runtime."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name not in ("wheel", "sdist") or version == "editable":
            return  # an editable install reads the checkout (dev-mode-dirs, docs/rules) instead
        if self.target_name == "wheel":
            self._add_rule_pages(build_data)
        if any(canonicalize_name(Requirement(r).name) == RUNTIME for r in self.metadata.core.dependencies):
            return
        root = Path(self.root)
        files = sorted(
            path
            for path in (root / RUNTIME_PACKAGE).rglob("*")
            if path.is_file() and (path.suffix == ".py" or path.name == "py.typed") and "__pycache__" not in path.parts
        )
        if not files:
            raise FileNotFoundError(f"{RUNTIME_PACKAGE}: the runtime's files, which this build bundles, are missing")
        for path in files:
            relative = path.relative_to(root)
            # In the wheel: unguarded_workers/...; in the sdist: where they are in the repository.
            target = relative.relative_to(RUNTIME_PACKAGE.parent) if self.target_name == "wheel" else relative
            build_data["force_include"][str(path)] = target.as_posix()

    def _add_rule_pages(self, build_data: dict[str, Any]) -> None:
        """docs/rules/*.md as `unguarded_workers/rule_pages/*.md` (a release's wheel too; an
        sdist holds docs/ where it is in the repository)."""
        pages = sorted((Path(self.root) / RULE_PAGES).glob("*.md"))
        if not pages:
            raise FileNotFoundError(f"{RULE_PAGES}: the rules' pages, which the wheel carries, are missing")
        for page in pages:
            build_data["force_include"][str(page)] = f"{RULE_PAGES_IN_WHEEL}/{page.name}"
