"""Static checks of agent code, run before spending any model call on it."""

from __future__ import annotations

import ast
import builtins

from ._agent import RUNTIME_NAMES
from ._tools import RUN_PYTHON_MODULES

#: Modules agent code may import (the sandbox has the standard library only).
AGENT_MODULES = RUN_PYTHON_MODULES | frozenset({"concurrent", "threading", "time"})

_ALLOWED_TOP_LEVEL = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)


def _bound_names(tree: ast.AST) -> set[str]:
    # Deliberately scope-blind: a name bound anywhere counts as known everywhere. That misses some
    # errors but never flags working code, and it catches the usual slip (an undefined or misspelt name).
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".", 1)[0])
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names


def _check_forward(tree: ast.Module) -> list[str]:
    defs = [
        n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == "forward"
    ]
    if not defs:
        return ["the code defines no top-level function forward(self, taskInfo)"]
    if len(defs) > 1:
        return [f"forward is defined {len(defs)} times (lines {', '.join(str(d.lineno) for d in defs)})"]
    fn = defs[0]
    problems: list[str] = []
    if isinstance(fn, ast.AsyncFunctionDef):
        problems.append("forward must be a plain `def`, not `async def`")
    args = fn.args
    positional = args.posonlyargs + args.args
    required = len(positional) - len(args.defaults)
    required_kw = [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
    if (len(positional) < 2 and args.vararg is None) or required > 2 or required_kw:
        problems.append("forward must take exactly two arguments: forward(self, taskInfo)")
    if not any(isinstance(n, ast.Return) and n.value is not None for n in _own_nodes(fn)):
        problems.append("forward never returns a value; return the answer (an Info or a string)")
    return problems


def _own_nodes(fn: ast.AST) -> list[ast.AST]:
    """The nodes of a function's body, not descending into nested functions or classes."""
    out: list[ast.AST] = []
    stack = list(ast.iter_child_nodes(fn))
    while stack:
        node = stack.pop()
        out.append(node)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))
    return out


def _check_imports(tree: ast.Module) -> list[str]:
    problems: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            if node.level:
                problems.append(f"line {node.lineno}: relative imports are not available to agent code")
                continue
            modules = [node.module or ""]
            if any(alias.name == "*" for alias in node.names):
                problems.append(
                    f"line {node.lineno}: `from {node.module} import *` hides which names are used"
                )
        for module in modules:
            if module.split(".", 1)[0] not in AGENT_MODULES:
                problems.append(
                    f"line {node.lineno}: agent code may not import {module!r} "
                    f"(allowed: {', '.join(sorted(AGENT_MODULES))})"
                )
    return problems


def check_agent_code(code: str) -> list[str]:
    """Problems that would stop agent code from running as an agent, as readable lines ([] if none).

    Checks that the code parses; defines exactly one top-level `forward(self, taskInfo)` that returns a
    value; has no other top-level statements than imports, definitions and assignments; imports only
    modules from `AGENT_MODULES`; and uses no name that is neither a runtime name, a builtin, nor bound
    somewhere in the code.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return [f"SyntaxError: {exc.msg} (line {exc.lineno})"]
    problems = _check_forward(tree)
    for i, node in enumerate(tree.body):
        is_docstring = i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if not is_docstring and not isinstance(node, _ALLOWED_TOP_LEVEL):
            problems.append(
                f"line {node.lineno}: top-level statement runs when the code is loaded; "
                "only imports, definitions and constants belong outside forward"
            )
    problems += _check_imports(tree)
    known = _bound_names(tree) | set(dir(builtins)) | set(RUNTIME_NAMES) | {"__name__"}
    unknown: dict[str, int] = {}
    for name_node in ast.walk(tree):
        if (
            isinstance(name_node, ast.Name)
            and isinstance(name_node.ctx, ast.Load)
            and name_node.id not in known
        ):
            unknown.setdefault(name_node.id, name_node.lineno)
    for name, line in sorted(unknown.items(), key=lambda kv: kv[1]):
        problems.append(
            f"line {line}: name {name!r} is not defined (runtime names: {', '.join(RUNTIME_NAMES)})"
        )
    return problems
