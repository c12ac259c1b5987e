"""The seed agents as files, and the runtime's promise to be a stdlib-only package under any name."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import agentkit.runtime as rt
from agentkit.runtime import find_seed_agent, load_seed_agents

RUNTIME_DIR = Path(rt.__file__).parent


def test_seed_files_have_name_thought_and_one_forward() -> None:
    seeds = load_seed_agents()
    assert len(seeds) == 9
    names = [s.name for s in seeds]
    assert len(set(names)) == len(names)
    for seed in seeds:
        assert seed.name and "\n" not in seed.name
        assert len(seed.thought.split()) >= 25, seed.key
        assert not seed.code.lstrip().startswith('"""'), seed.key
        tree = ast.parse(seed.code)
        forwards = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "forward"]
        assert len(forwards) == 1, seed.key
        assert [a.arg for a in forwards[0].args.args] == ["self", "taskInfo"]


def test_seeds_use_both_api_styles() -> None:
    seeds = load_seed_agents()
    own = {s.key for s in seeds if "ask(" in s.code}
    adas = {s.key for s in seeds if "LLMAgentBase(" in s.code}
    assert len(own) >= 2
    assert len(adas) > len(own)
    assert own.isdisjoint(adas)


def test_find_seed_agent_by_key_or_name(tmp_path: Path) -> None:
    assert find_seed_agent("cot_sc").key == "cot_sc"
    assert find_seed_agent("LLM Debate").key == "debate"
    assert find_seed_agent("program-of-thought").key == "program_of_thought"
    with pytest.raises(KeyError, match="known: "):
        find_seed_agent("nope")
    (tmp_path / "bad.py").write_text("def forward(self, taskInfo):\n    return 1\n")
    with pytest.raises(ValueError, match="name: <Name>"):
        load_seed_agents(tmp_path)


def test_runtime_imports_only_stdlib_and_itself() -> None:
    for path in RUNTIME_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                top = module.split(".", 1)[0]
                if path.name == "_seeds.py" and module == "agentkit._resources":
                    continue  # host-only loader, imported lazily inside a function
                assert top in sys.stdlib_module_names or top == "__future__", f"{path.name}: {module}"


def test_runtime_works_as_a_renamed_package_without_site_packages(tmp_path: Path) -> None:
    # What the sandbox does: ship the source files into a bare interpreter under another package name.
    package = tmp_path / "agentkit_runtime"
    package.mkdir()
    for path in RUNTIME_DIR.glob("*.py"):
        if path.name != "_seeds.py":
            shutil.copy(path, package / path.name)
    script = f"""
import sys
sys.path.insert(0, {str(tmp_path)!r})
import agentkit_runtime as rt

class Backend:
    def chat(self, request):
        return {{"fields": {{"thinking": "t", "answer": "42"}}, "raw": "", "parse_error": None}}

code = {load_seed_agents()[0].code!r}
print(rt.run_agent(code, "6*7?", backend=Backend(), answer_format=""))
print(rt.run_python("answer = 2 + 2"))
bad = [m for m in sys.modules if m.startswith(("agentkit.", "pydantic")) or m == "agentkit"]
print(bad)
"""
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["42", "4", "[]"]
