"""unguarded-workers: find worker spawns whose failure escapes every guard, and guard them.

Production code imports the runtime guard from here; the linter lives in
submodules that this package does not import.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
