"""A structural fingerprint of an expression: equal exactly when two trees are the same
code, positions aside (what `ast.dump` compares), computed without recursion so that an
expression of any depth CPython accepts has one."""

from __future__ import annotations

import ast
import hashlib


def fingerprint(node: ast.AST) -> str:
    """A short digest of the node types and their non-node fields, in `ast.walk` order."""
    digest = hashlib.blake2b(digest_size=16)
    for part in ast.walk(node):  # breadth-first with a queue: no recursion
        fields: list[object] = []
        for name, value in ast.iter_fields(part):
            if isinstance(value, list):
                fields.append((name, len(value), tuple(repr(v) for v in value if not isinstance(v, ast.AST))))
            elif not isinstance(value, ast.AST):
                fields.append((name, repr(value)))
        digest.update(repr((type(part).__name__, fields)).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()
