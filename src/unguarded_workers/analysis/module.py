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
from .index import FunctionNode, ModuleIndex
from .resolve import Resolver

if TYPE_CHECKING:
    from .project import Project


class ModuleAnalysis:
    def __init__(self, tree: ast.Module, options: Options, path: str | None = None, project: Project | None = None):
        self.path = path  # None for a module that is not a file (stdin, a string)
        self.project = project
        self.index = ModuleIndex(tree)
        self.resolver = Resolver(self, options)
        self.guards = GuardAnalysis(self, options)
        self.channel = ChannelAnalysis(self.index)  # futures and tasks
        self.exit_status = ChannelAnalysis(self.index, processes=True)


@dataclass(frozen=True)
class Def:
    """A def, with the module that holds it."""

    module: ModuleAnalysis
    node: FunctionNode
