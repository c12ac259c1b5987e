"""The worker's reading of its spawner's reports: never blocking, the child's pidfd with the answer to a
spawn request, exits in any order, and a spawner that is gone told apart from one with nothing to say.

The worker reads these reports in its poll loop while it relays for every other child, so a read that
blocked (as Python 3.11's `socket.recv_fds` does, ignoring its flags) would stall them all."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from agentkit.sandbox._spawner import SPAWN_REPORT, SPAWNED, Spawner


@pytest.fixture
def spawner_and_peer() -> Iterator[tuple[Spawner, socket.socket]]:
    """A Spawner handle connected to a socket standing in for the spawner process."""
    handle = Spawner(box=None, runtime=None, host_fds=(-1, -1))  # type: ignore[arg-type]
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    handle.sock = mine
    yield handle, theirs
    handle.lose()
    theirs.close()


def reports_within(handle: Spawner, seconds: float = 5.0) -> Any:
    """`handle.reports()` run in a thread, so that a read that blocks fails the test instead of hanging it."""
    got: list[Any] = []
    reader = threading.Thread(target=lambda: got.append(handle.reports()), daemon=True)
    reader.start()
    reader.join(seconds)
    assert not reader.is_alive(), "reports() blocked with no report waiting"
    return got[0]


def test_nothing_waiting_is_an_empty_list_at_once(spawner_and_peer) -> None:
    handle, _peer = spawner_and_peer
    assert reports_within(handle) == []
    assert handle.alive


def test_spawn_answers_carry_the_pidfd_and_exits_come_in_any_order(spawner_and_peer) -> None:
    handle, peer = spawner_and_peer
    stand_in_r, stand_in_w = os.pipe()  # any fd serves as the pidfd passed over the socket
    try:
        socket.send_fds(peer, [SPAWN_REPORT.pack(101, SPAWNED, 0.0)], [stand_in_r])
        peer.send(SPAWN_REPORT.pack(99, 9, 0.25))  # another child's exit (killed by SIGKILL)
        peer.send(SPAWN_REPORT.pack(102, SPAWNED, 0.0))  # no pidfd on this kernel
        got = reports_within(handle)
        assert [(pid, status, cpu) for pid, status, cpu, _fd in got] == [
            (101, SPAWNED, 0.0),
            (99, 9, 0.25),
            (102, SPAWNED, 0.0),
        ]
        pidfd = got[0][3]
        assert pidfd is not None and pidfd != stand_in_r  # a new fd for the same pipe end
        os.write(stand_in_w, b"x")
        assert os.read(pidfd, 1) == b"x"
        os.close(pidfd)
        assert got[1][3] is None and got[2][3] is None
        assert reports_within(handle) == []  # all were read
    finally:
        os.close(stand_in_r)
        os.close(stand_in_w)


def test_a_spawner_that_is_gone_is_none_after_what_it_said(spawner_and_peer) -> None:
    handle, peer = spawner_and_peer
    peer.send(SPAWN_REPORT.pack(7, 0, 0.01))
    peer.close()
    assert [r[:3] for r in reports_within(handle)] == [(7, 0, 0.01)]
    assert not handle.alive
    assert reports_within(handle) is None


def test_a_garbled_report_loses_the_spawner(spawner_and_peer) -> None:
    handle, peer = spawner_and_peer
    peer.send(b"not a report")
    assert reports_within(handle) is None
    assert not handle.alive
    assert handle.request((0, 1, 2)) is False  # nothing more is asked of it
