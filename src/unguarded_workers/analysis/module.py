"""One module's analysis: its index, and the resolver and guard analysis that read it.

Targets and base classes can lead into other modules of the project; each of those has
a `ModuleAnalysis` of its own (see `project`), so a def is always judged in its module.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..options import Options
from .channel import ChannelAnalysis
from .guards import GuardAnalysis
from .helpers import ModuleHelpers, find_module_helpers
from .index import FunctionNode, ModuleIndex, Scope
from .resolve import Resolver

if TYPE_CHECKING:
    from .project import Project
    from .spawns import Spawn


class ModuleAnalysis:
    def __init__(self, tree: ast.Module, options: Options, path: str | None = None, project: Project | None = None):
        self.path = path  # None for a module that is not a file (stdin, a string)
        self.project = project
        self.options = options
        self.index = ModuleIndex(tree)
        self.resolver = Resolver(self, options)
        self.guards = GuardAnalysis(self, options)
        self.channel = ChannelAnalysis(self.index)  # futures and tasks
        self.exit_status = ChannelAnalysis(self.index, processes=True)
        self._helpers: ModuleHelpers | None = None
        self._primitive: list[tuple[ast.Call, Scope, Spawn | None]] | None = None

    def dispose(self) -> None:
        """Break the analysis's reference cycles (its parts refer to it, and a scope to the values
        assigned in it, each with its scope), for a module no one will ask again: its tree is
        then freed at once, by reference counting, not left for the garbage collector to find,
        and its hundreds of thousands of objects are never walked by a collection."""
        self.index.dispose()
        for part in (self.resolver, self.guards, self.channel, self.exit_status, self._helpers):
            if part is not None:
                vars(part).clear()
        vars(self).clear()

    @property
    def primitive_spawns(self) -> list[tuple[ast.Call, Scope, Spawn | None]]:
        """Every call, with the spawn it is of the standard or a configured spawner (None for
        any other call): classified once, for the helpers and for the check."""
        if self._primitive is None:
            from .spawns import SpawnFinder

            self._primitive = SpawnFinder(self, self.options).classified()
        return self._primitive

    @property
    def helpers(self) -> ModuleHelpers:
        """The module's spawn helpers, found on first use (most modules' checks need them)."""
        if self._helpers is None:
            spawns = [spawn for _, _, spawn in self.primitive_spawns if spawn is not None]
            self._helpers = find_module_helpers(self, spawns)
        return self._helpers


@dataclass(frozen=True)
class Def:
    """A def, with the module that holds it."""

    module: ModuleAnalysis
    node: FunctionNode
