"""prompts/runtime_api.md is shown to the meta agent word for word: every name and signature it documents
must match the code, and every name the runtime gives agent code must be documented."""

from __future__ import annotations

import ast
import inspect
import re
from typing import Any

import pytest

import agentkit.runtime as rt
from agentkit._resources import read_prompt
from agentkit.runtime import RUNTIME_NAMES, Session, runtime_namespace

DOC = read_prompt("runtime_api.md")


def _reference_entries() -> list[str]:
    section = DOC.split("## Reference", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^- `([^`]+)`", section, flags=re.MULTILINE)


ENTRIES = _reference_entries()


def _documented(entry: str) -> tuple[str, ast.arguments | None, str | None]:
    """(name, parsed parameters or None for a bare name, return annotation text or None)."""
    if "(" not in entry:
        return entry, None, None
    tree = ast.parse(f"def {entry}: pass")
    fn = tree.body[0]
    assert isinstance(fn, ast.FunctionDef)
    returns = ast.unparse(fn.returns) if fn.returns else None
    return fn.name, fn.args, returns


def _target(name: str) -> Any:
    if name == "agent":  # the documented call of an LLMAgentBase instance
        return rt.LLMAgentBase.__call__
    return getattr(rt, name)


def _params_of(args: ast.arguments) -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = []
    positional = args.posonlyargs + args.args
    defaults: list[Any] = [inspect.Parameter.empty] * (len(positional) - len(args.defaults))
    defaults += [ast.literal_eval(d) for d in args.defaults]
    for arg, default in zip(positional, defaults, strict=True):
        out.append((arg.arg, "POSITIONAL_OR_KEYWORD", default))
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        value = inspect.Parameter.empty if kw_default is None else ast.literal_eval(kw_default)
        out.append((arg.arg, "KEYWORD_ONLY", value))
    return out


def _params_in_code(obj: Any) -> list[tuple[str, str, Any]]:
    params = list(inspect.signature(obj).parameters.values())
    if params and params[0].name == "self":
        params = params[1:]
    return [(p.name, p.kind.name, p.default) for p in params]


def test_reference_lists_exactly_the_runtime_names() -> None:
    documented = {_documented(e)[0] for e in ENTRIES} - {"agent"}
    assert documented == set(RUNTIME_NAMES)


@pytest.mark.parametrize("entry", ENTRIES)
def test_documented_signature_matches_code(entry: str) -> None:
    name, args, returns = _documented(entry)
    target = _target(name)
    if args is None:
        return
    assert _params_of(args) == _params_in_code(target), entry
    if returns is not None:
        annotation = inspect.signature(target).return_annotation
        assert annotation == returns, entry


def test_names_given_to_agent_code_have_the_documented_signatures(backend: Any) -> None:
    ns = runtime_namespace(Session(backend))
    assert set(RUNTIME_NAMES) <= set(ns)
    for name in RUNTIME_NAMES:
        if callable(ns[name]) and not isinstance(ns[name], type):
            assert inspect.signature(ns[name]) == inspect.signature(getattr(rt, name)), name
    assert inspect.signature(ns["LLMAgentBase"]) == inspect.signature(rt.LLMAgentBase)
    assert issubclass(ns["LLMAgentBase"], rt.LLMAgentBase)
    # The bound ask must accept exactly what the documented ask accepts.
    from agentkit.runtime._session import _bound

    bound_params = list(inspect.signature(_bound).parameters.values())[1:]
    assert bound_params == list(inspect.signature(rt.ask).parameters.values())


def test_documented_import_lists_match_the_code() -> None:
    def listed(after: str) -> set[str]:
        text = " ".join(DOC.split(after, 1)[1].split(".", 1)[0].split())
        return {m.strip() for m in text.split(",")}

    assert listed("it may import only:") == set(rt.RUN_PYTHON_MODULES)
    assert listed("Agent code may import only:") == set(rt.AGENT_MODULES)


def test_examples_in_the_reference_pass_the_checks_and_run(backend: Any) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC, flags=re.DOTALL)
    assert len(blocks) == 2
    for code in blocks:
        assert rt.check_agent_code(code) == []
        assert rt.run_agent(code, "What is 6 times 7?", backend=backend, answer_format="") == "42"
