"""Which endpoints go over aiohttp: HTTPS, and any endpoint when the environment names proxies, read by
the same rules as ``urllib.request.getproxies()`` without importing it."""

from __future__ import annotations

import os
import urllib.request

import pytest

from agentkit.llm._http import _proxies, needs_aiohttp

CASES = [
    {},
    {"HTTPS_PROXY": "http://proxy:3128"},
    {"http_proxy": "http://proxy:3128"},
    {"NO_PROXY": "localhost"},
    {"HTTPS_PROXY": ""},
    {"HTTPS_PROXY": "http://proxy:3128", "https_proxy": ""},  # the lowercase empty one removes it
    {"HTTP_PROXY": "http://proxy:3128", "REQUEST_METHOD": "GET"},  # CGI: a client could set it
    {"http_proxy": "http://proxy:3128", "REQUEST_METHOD": "GET"},
    {"ALL_PROXY": "socks5://proxy:1080"},
    {"PROXY": "not a proxy variable", "MY_PROXY_HOST": "neither"},
]


@pytest.mark.parametrize("env", CASES, ids=[",".join(sorted(c)) or "none" for c in CASES])
def test_proxies_are_read_as_urllib_reads_them(monkeypatch, env: dict[str, str]) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name == "REQUEST_METHOD":
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    expected = bool(urllib.request.getproxies_environment())
    assert _proxies() is expected
    # a plain http:// endpoint goes over the light client only when no proxy is named
    assert needs_aiohttp("http://127.0.0.1:8080/v1") is expected
    assert needs_aiohttp("https://api.example.com/v1") is True
