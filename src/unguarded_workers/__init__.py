"""unguarded-workers: find worker spawns whose failure escapes every guard, and guard them.

Production code imports the runtime guard from here; the linter lives in
submodules (``analysis``, ``flake8_plugin``) that importing this package does not load.
"""

from .runtime import ErrorHandler, set_error_handler, wrap

__version__ = "0.1.0"

__all__ = ["ErrorHandler", "__version__", "set_error_handler", "wrap"]
