"""Helpers for agent code that need no model: voting over answers and running model-written Python."""

from __future__ import annotations

import builtins
import io
import re
import sys
import time
import traceback
from collections import Counter
from collections.abc import Iterable
from types import FrameType
from typing import Any, TypeVar

from ._info import Info

T = TypeVar("T")

# --- majority_vote ----------------------------------------------------------------------------------

_NUMBER = re.compile(r"^[-+]?\$?\d[\d,]*(\.\d+)?%?$")


def _vote_key(answer: Any) -> str:
    text = answer.content if isinstance(answer, Info) else answer
    key = " ".join(str(text).split()).casefold().rstrip(".").strip()
    if _NUMBER.match(key):
        # "1,000", "$1000" and "1000.0" are one vote, not three.
        digits = key.replace(",", "").replace("$", "").rstrip("%")
        try:
            value = float(digits)
        except ValueError:
            return key
        return str(int(value)) if value.is_integer() else repr(value)
    return key


def majority_vote(answers: Iterable[T]) -> T:
    """The most common answer; ties go to the earliest. Answers may be strings or `Info`s.

    Answers are compared after light normalisation (case, spacing, a final full stop, number formatting);
    the winner is returned as given. Empty answers only win when every answer is empty.
    """
    items = list(answers)
    if not items:
        raise ValueError("majority_vote() needs at least one answer")
    keys = [_vote_key(a) for a in items]
    counts = Counter(k for k in keys if k)
    if not counts:
        return items[0]
    best = max(counts.values())
    for item, key in zip(items, keys, strict=True):
        if key and counts[key] == best:
            return item
    raise AssertionError("unreachable")


# --- run_python --------------------------------------------------------------------------------------

#: Modules the code given to `run_python` may import.
RUN_PYTHON_MODULES = frozenset(
    {
        "bisect",
        "calendar",
        "cmath",
        "collections",
        "copy",
        "dataclasses",
        "datetime",
        "decimal",
        "enum",
        "fractions",
        "functools",
        "heapq",
        "itertools",
        "json",
        "math",
        "numbers",
        "operator",
        "random",
        "re",
        "statistics",
        "string",
        "textwrap",
        "typing",
        "unicodedata",
    }
)

_SAFE_BUILTINS = (  # noqa: SIM905  (one word list reads better than 70 quoted strings)
    "abs all any ascii bin bool bytearray bytes callable chr classmethod complex dict divmod enumerate "
    "filter float format frozenset getattr hasattr hash hex int isinstance issubclass iter len list map "
    "max min next object oct ord pow property range repr reversed round set setattr slice sorted "
    "staticmethod str sum super tuple type zip __build_class__ NotImplemented Ellipsis "
    "BaseException Exception ArithmeticError AssertionError AttributeError ImportError IndexError "
    "KeyError LookupError NameError NotImplementedError OverflowError RecursionError RuntimeError "
    "StopIteration TypeError ValueError ZeroDivisionError"
).split()

_MAX_OUTPUT_CHARS = 20_000
_CHECK_EVERY = 2_000  # trace events between clock reads
_FENCE = re.compile(r"```[a-zA-Z0-9_+-]*\n(.*?)```", re.DOTALL)
_FILENAME = "<run_python>"


class _TimeUp(BaseException):
    """Raised into the traced code at the deadline. Not an Exception, so `except Exception` misses it."""


def _restricted_import(
    name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
) -> Any:
    if level != 0 or name.split(".", 1)[0] not in RUN_PYTHON_MODULES:
        raise ImportError(f"module {name!r} is not available in run_python")
    return builtins.__import__(name, globals, locals, fromlist, level)


def _strip_fences(code: str) -> str:
    match = _FENCE.search(code)
    return match.group(1) if match else code


def _error_line(exc: BaseException) -> str:
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == _FILENAME]
    return f" (line {lines[-1]})" if lines else ""


def run_python(code: str, timeout_s: float = 5.0) -> str:
    """Run Python source (for example code the model wrote) and return its result as text.

    The result is the value of a variable named `answer` if the code sets one, else what it printed
    (stripped). Failures do not raise: they return ``"Error: <Type>: <message>"``. Markdown code fences
    around the code are removed. Only the modules in `RUN_PYTHON_MODULES` can be imported and there is
    no `open`. The time limit counts Python-level steps, so it also works in threads; a single long C
    call (such as ``10**10**9``) is only stopped by the sandbox's own limits. This is a convenience, not
    a security boundary: the sandbox is the boundary.
    """
    out = io.StringIO()

    def _print(*args: Any, sep: str | None = " ", end: str | None = "\n", **_: Any) -> None:
        if out.tell() < _MAX_OUTPUT_CHARS:
            out.write((" " if sep is None else sep).join(map(str, args)) + ("\n" if end is None else end))

    safe = {name: getattr(builtins, name) for name in _SAFE_BUILTINS}
    safe["print"] = _print
    safe["__import__"] = _restricted_import
    namespace: dict[str, Any] = {"__builtins__": safe, "__name__": "__main__"}
    try:
        compiled = compile(_strip_fences(str(code)), _FILENAME, "exec")
    except SyntaxError as exc:
        return f"Error: SyntaxError: {exc.msg} (line {exc.lineno})"

    deadline = time.monotonic() + max(0.0, float(timeout_s))
    state = {"events": 0, "expired": False}

    def local_trace(frame: FrameType, event: str, arg: Any) -> Any:
        state["events"] += 1
        if state["expired"] or (state["events"] % _CHECK_EVERY == 0 and time.monotonic() > deadline):
            state["expired"] = True
            raise _TimeUp
        return local_trace

    def global_trace(frame: FrameType, event: str, arg: Any) -> Any:
        # Per-opcode events: a one-line `while True: pass` emits no line events.
        frame.f_trace_opcodes = True
        return local_trace(frame, event, arg)

    previous = sys.gettrace()
    sys.settrace(global_trace)
    try:
        exec(compiled, namespace)
    except _TimeUp:
        return f"Error: TimeoutError: the code ran longer than {timeout_s:g} s"
    except Exception as exc:
        return f"Error: {type(exc).__name__}: {exc}{_error_line(exc)}"
    finally:
        sys.settrace(previous)
    if "answer" in namespace:
        return str(namespace["answer"])[:_MAX_OUTPUT_CHARS]
    return out.getvalue()[:_MAX_OUTPUT_CHARS].strip()
