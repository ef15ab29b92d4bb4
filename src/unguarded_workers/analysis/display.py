"""Statements that only show something on a terminal: a spinner's frame, a progress line.

A worker that can fail only where it draws on the terminal (tox's spinner, a progress bar's
refresh thread) loses, when it fails, what it shows: its traceback appears on the same
terminal, and the program's work goes on. Wherever such workers were read by hand, the
reports were "no" (the spinners of tox, rich, dask, streamlink and shodan) or "maybe" (halo's):
a signal against `high`.

Shows only:
    sys.stdout.write(frame); sys.stderr.flush()
    print(f"{done}/{total}")                      # the builtin, to standard output
    self.stream.write(text)    # `self.stream = stream or sys.stdout` in the class
Not:
    self._file_out.write(output)      # a stream the class was handed, with no default
    print(line, file=log)             # a file of the program's
    self.writer.write(frame)          # a socket's writer
"""

from __future__ import annotations

import ast

from .index import Binding, ModuleIndex, Scope, assigned_values
from .known import PRINT, STREAM_WRITE_METHODS, TERMINAL_STREAMS

_NAMES_FOLLOWED = 2  # `stream = sys.stdout if stream is None else stream; self.stream = stream`


def terminal_write(index: ModuleIndex, stmt: ast.stmt, scope: Scope) -> ast.Call | None:
    """The statement's call, when the statement is a write to a terminal and nothing else
    (what it is handed to write is for the caller to judge)."""
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    if not isinstance(call, ast.Call):
        return None
    func = call.func
    if index.qualname(func, scope) == PRINT:
        file = next((k.value for k in call.keywords if k.arg == "file"), None)
        return call if file is None or _a_terminal(index, file, scope) else None
    if isinstance(func, ast.Attribute) and func.attr in STREAM_WRITE_METHODS and _a_terminal(index, func.value, scope):
        return call
    return None


def _a_terminal(index: ModuleIndex, stream: ast.expr, scope: Scope) -> bool:
    """Standard output or error, or an attribute of the instance that defaults to one."""
    if index.qualname(stream, scope) in TERMINAL_STREAMS:
        return True
    values = assigned_values(stream, scope) if isinstance(stream, ast.Attribute) else []  # `self.X`'s
    return bool(values) and all(_defaults_to_a_terminal(index, value, where) for value, where in values)


def _defaults_to_a_terminal(index: ModuleIndex, value: ast.expr, scope: Scope, depth: int = 0) -> bool:
    """`sys.stdout`, `stream or sys.stdout`, `sys.stdout if stream is None else stream`, or a
    variable of the def bound to one of those."""
    if index.qualname(value, scope) in TERMINAL_STREAMS:
        return True
    if isinstance(value, ast.IfExp):
        branches = (value.body, value.orelse)
        return any(_defaults_to_a_terminal(index, branch, scope, depth) for branch in branches)
    if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
        return _defaults_to_a_terminal(index, value.values[-1], scope, depth)
    if isinstance(value, ast.Name) and depth < _NAMES_FOLLOWED:
        owner = scope.lookup(value.id)
        if owner is None or owner.bindings[value.id] not in (Binding.LOCAL, Binding.PARAM):
            return False
        held = owner.values.get(value.id, [])
        return any(_defaults_to_a_terminal(index, v, s, depth + 1) for v, s in held)
    return False
