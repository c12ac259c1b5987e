"""What a fresh worker receives: a tiny bootstrap program on its command line, then (over its stdin)
the sources of the worker and of the agent runtime, loaded from memory.

Nothing of the project is read from disk inside the sandbox, so the repository, the venv and the
installed agentkit never need to be visible there.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from agentkit.records import FAILURE_KINDS

from ._protocol import HEADER

WORKER_PACKAGE = "agentkit_sandbox_worker"
RUNTIME_PACKAGE = "agentkit_runtime"
_HERE = Path(__file__).resolve().parent
# The worker's modules, by the name it imports them as: the STDLIB ONLY modules of this package, and the
# one stdlib-only module of agentkit.records that they share with the host (`clip`).
_WORKER_MODULES = {
    name: _HERE / f"{name}.py"
    for name in ("_worker", "_confine", "_spawner", "_relay", "_child", "_protocol", "_classify")
} | {"_text": _HERE.parent / "records" / "_text.py"}
DEFAULT_RUNTIME_DIR = _HERE.parent / "runtime"

# Runs as `python -S -I -B -c BOOT`. Reads one length-prefixed JSON payload from stdin, moves the
# control pipes off fds 0/1 (so stray prints cannot corrupt them), serves the shipped modules from
# memory and starts the worker.
BOOT = f"""\
import os, sys, json, linecache
from importlib.machinery import ModuleSpec
def _read(n):
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(0, n - len(buf))
        if not chunk:
            os._exit(3)
        buf += chunk
    return bytes(buf)
_p = json.loads(_read(int.from_bytes(_read({HEADER.size}), "big")))
_in, _out = os.dup(0), os.dup(1)
_null = os.open(os.devnull, os.O_RDONLY)
os.dup2(_null, 0)
os.dup2(2, 1)
os.close(_null)
class _Memory:
    def __init__(self, files):
        self.files = files
    def find_spec(self, name, path=None, target=None):
        entry = self.files.get(name)
        return None if entry is None else ModuleSpec(name, self, origin=entry[0], is_package=entry[2])
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        filename, source, _ = self.files[module.__name__]
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        module.__file__ = filename
        exec(compile(source, filename, "exec"), module.__dict__)
sys.meta_path.insert(0, _Memory(_p["modules"]))
from {WORKER_PACKAGE}._worker import main
main(_p["config"], _in, _out)
"""


def _package_modules(root: Path, package: str) -> dict[str, list[Any]]:
    """{dotted name: [pseudo filename, source, is_package]} for every .py under `root`."""
    modules: dict[str, list[Any]] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if "__pycache__" in rel.parts or any(p.startswith(".") for p in rel.parts):
            continue
        parts = [package, *rel.with_suffix("").parts]
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        name = ".".join(parts)
        modules[name] = [f"/{package}/{rel.as_posix()}", path.read_text(encoding="utf-8"), is_pkg]
    # a directory of modules without an __init__.py still has to be importable as a package
    for name in list(modules):
        prefix = name.rsplit(".", 1)[0] if "." in name else None
        while prefix and prefix not in modules:
            modules[prefix] = [f"/{prefix.replace('.', '/')}/__init__.py", "", True]
            prefix = prefix.rsplit(".", 1)[0] if "." in prefix else None
    return modules


@functools.cache
def shipped_modules(runtime_dir: Path) -> dict[str, list[Any]]:
    """The worker's own modules plus the agent runtime, keyed by the names the worker imports them as."""
    modules: dict[str, list[Any]] = {WORKER_PACKAGE: [f"/{WORKER_PACKAGE}/__init__.py", "", True]}
    for mod, path in _WORKER_MODULES.items():
        modules[f"{WORKER_PACKAGE}.{mod}"] = [
            f"/{WORKER_PACKAGE}/{mod}.py",
            path.read_text(encoding="utf-8"),
            False,
        ]
    runtime = _package_modules(runtime_dir, RUNTIME_PACKAGE)
    if RUNTIME_PACKAGE not in runtime:
        runtime[RUNTIME_PACKAGE] = [f"/{RUNTIME_PACKAGE}/__init__.py", "", True]
    modules.update(runtime)
    return modules


def build_payload(runtime_dir: Path, config: dict[str, Any]) -> bytes:
    """The bytes written to a new worker's stdin."""
    # The worker cannot import agentkit.records: it gets the failure kinds a child may report from here.
    config = {**config, "runtime_package": RUNTIME_PACKAGE, "failure_kinds": sorted(FAILURE_KINDS)}
    data = json.dumps({"modules": shipped_modules(runtime_dir), "config": config}).encode("utf-8")
    return HEADER.pack(len(data)) + data
