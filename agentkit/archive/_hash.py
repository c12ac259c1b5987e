"""A hash of agent code that ignores what does not change behaviour: layout, comments and docstrings.

The search uses it to refuse a proposal that is an existing agent with its whitespace shuffled.
"""

from __future__ import annotations

import ast
import hashlib

_DOCSTRING_OWNERS = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def normalise_code(code: str) -> str:
    """Return `code` in a canonical form: parsed, docstrings dropped and unparsed again.

    Comments and layout disappear in the parse. Code that does not parse falls back to its text with every
    run of whitespace collapsed to one space, so broken proposals can still be compared with each other.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):  # ValueError: source with NUL bytes
        return " ".join(code.split())
    for node in ast.walk(tree):
        if isinstance(node, _DOCSTRING_OWNERS) and node.body and _is_docstring(node.body[0]):
            # A body may not be empty, so a docstring-only function keeps a `pass`.
            node.body = node.body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def normalised_code_hash(code: str) -> str:
    """SHA-256 (hex) of `normalise_code(code)`: equal for agents that differ only in layout, comments or
    docstrings, different for any change to what the code does."""
    return hashlib.sha256(normalise_code(code).encode("utf-8")).hexdigest()
