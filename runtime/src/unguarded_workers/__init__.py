"""unguarded-workers: find worker spawns whose failure escapes every guard, and guard them.

Production code imports the runtime from here (`wrap`, `supervise`, `install`); it is the
standard library only. The linter (``analysis``, ``cli``, ``flake8_plugin``, ``fix``) lives in
submodules that importing this package does not load, and in a distribution of its own:
``unguarded-workers-runtime`` ships this file and ``runtime/``, ``unguarded-workers`` adds the
linter beside them and depends on it.
"""

from pkgutil import extend_path

from .runtime import ErrorHandler, set_error_handler, wrap

# The linter's modules may sit in another directory of sys.path than this file (the two
# distributions installed in editable mode, each from its own source folder).
__path__ = extend_path(__path__, __name__)

__version__ = "0.1.0"

__all__ = ["ErrorHandler", "__version__", "set_error_handler", "wrap"]
