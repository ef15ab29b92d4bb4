"""The detector: which worker spawns are unguarded, from a parsed module alone."""

from .check import check_module
from .prefilter import might_spawn

__all__ = ["check_module", "might_spawn"]
