"""`run_python` and `majority_vote`."""

from __future__ import annotations

import threading
import time

import pytest

from agentkit.runtime import Info, majority_vote, run_python


def test_run_python_returns_answer_variable_else_printed_output() -> None:
    assert run_python("x = 6\nanswer = x * 7\nprint('ignored')") == "42"
    assert run_python("for i in range(3):\n    print(i)") == "0\n1\n2"
    assert run_python("import math\nprint(math.comb(5, 2), end='')") == "10"


def test_run_python_strips_markdown_fences_and_runs_main_blocks() -> None:
    code = (
        "Here you go:\n```python\ndef main():\n    print(7)\n\nif __name__ == '__main__':\n    main()\n```\n"
    )
    assert run_python(code) == "7"


def test_run_python_reports_errors_instead_of_raising() -> None:
    assert run_python("x = 1\ny = x / 0") == "Error: ZeroDivisionError: division by zero (line 2)"
    assert run_python("def f(:\n pass").startswith("Error: SyntaxError:")
    assert run_python("import os\nanswer = os.getcwd()").startswith("Error: ImportError: module 'os'")
    assert run_python("from subprocess import run").startswith("Error: ImportError")
    assert run_python("open('/etc/passwd').read()") == "Error: NameError: name 'open' is not defined (line 1)"


def test_run_python_times_out_on_endless_loops() -> None:
    started = time.monotonic()
    assert (
        run_python("while True: pass", timeout_s=0.2) == "Error: TimeoutError: the code ran longer than 0.2 s"
    )
    # `except Exception` in the model's code cannot swallow the time limit.
    swallow = (
        "while True:\n    try:\n        while True:\n            pass\n    except Exception:\n        pass\n"
    )
    assert run_python(swallow, timeout_s=0.2).startswith("Error: TimeoutError")
    assert time.monotonic() - started < 5


def test_run_python_time_limit_works_outside_the_main_thread() -> None:
    results: list[str] = []
    thread = threading.Thread(target=lambda: results.append(run_python("n = 0\nwhile True: n += 1", 0.2)))
    thread.start()
    thread.join(timeout=10)
    assert results == ["Error: TimeoutError: the code ran longer than 0.2 s"]


def test_run_python_restores_the_previous_tracer() -> None:
    import sys

    before = sys.gettrace()
    run_python("answer = sum(range(10))")
    assert sys.gettrace() is before


def test_run_python_caps_printed_output() -> None:
    assert len(run_python("for _ in range(10**5):\n    print('x' * 100)")) <= 20_000


def test_majority_vote_normalises_and_breaks_ties_by_order() -> None:
    assert majority_vote(["12", " 1,000 ", "$1000", "1000.0", "12"]) == " 1,000 "
    assert majority_vote(["Yes.", "no", "yes"]) == "Yes."
    assert majority_vote(["b", "a", "a", "b"]) == "b"
    assert majority_vote(["", "", "x"]) == "x"
    assert majority_vote(["", ""]) == ""


def test_majority_vote_over_infos_returns_the_info() -> None:
    infos = [Info("answer", f"A #{i}", text, -1) for i, text in enumerate(["(B)", "(A)", "(a)"])]
    assert majority_vote(infos) is infos[1]


def test_majority_vote_needs_answers() -> None:
    with pytest.raises(ValueError):
        majority_vote([])
