"""The runtime half: guards that run in production. Standard library only, and nothing of the linter."""

from .guard import ErrorHandler, set_error_handler, wrap

__all__ = ["ErrorHandler", "set_error_handler", "wrap"]
