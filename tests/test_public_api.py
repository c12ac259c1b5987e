"""The public API resolves, and importing the package or the CLI stays cheap."""

from __future__ import annotations

import subprocess
import sys

import agentkit


def test_every_public_name_resolves() -> None:
    for name in agentkit.__all__:
        assert getattr(agentkit, name) is not None, name
    assert sorted(dir(agentkit)) == sorted(agentkit.__all__)


def test_cli_import_pulls_in_no_heavy_library() -> None:
    code = (
        "import sys, agentkit, agentkit.cli; "
        "print(','.join(m for m in ('litellm', 'datasets', 'numpy', 'pandas', 'openai') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_help_and_version_run_without_heavy_imports() -> None:
    for args in (["--help"], ["--version"]):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "agentkit", *args], capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        imported = out.stderr
        for heavy in ("litellm", "datasets", "numpy"):
            assert f" {heavy}\n" not in imported and f" {heavy}." not in imported, heavy
    version = subprocess.run([sys.executable, "-m", "agentkit", "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == f"agentkit {agentkit.__version__}"


def test_the_package_says_it_is_typed() -> None:
    """PEP 561: without py.typed an app's type checker skips agentkit and sees Any everywhere."""
    import importlib.resources

    assert importlib.resources.files("agentkit").joinpath("py.typed").is_file()
