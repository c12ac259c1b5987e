"""A process that writes agents into an archive in a loop, for the crash and concurrency tests.

Usage: python archive_writer.py RUN_DIR COUNT EXAMPLES TAG [wait]

With `wait` it prints `ready` once the archive is open and starts writing when a line arrives on stdin,
so that two writers really overlap.

Each agent is one transaction: the agent, its results, its summary, its status and a checkpoint. It prints
`inside <id>` half-way through each transaction and `committed <id>` after each commit.
"""

from __future__ import annotations

import sys

from archive_helpers import CODE, make_results, make_summary

from agentkit.archive import Archive


def main() -> None:
    run_dir, count, examples, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    with Archive.open(run_dir) as archive:
        if sys.argv[5:] == ["wait"]:
            print("ready", flush=True)
            sys.stdin.readline()
        for i in range(count):
            with archive.transaction():
                agent = archive.add_agent(f"{tag} {i}", CODE + f"\n# {tag} {i}\n", generation=i % 7)
                results = make_results(examples)
                half = examples // 2
                archive.record_results(agent.id, "search", results[:half])
                print(f"inside {agent.id}", flush=True)
                archive.record_results(agent.id, "search", results[half:])
                archive.record_summary(agent.id, "search", make_summary(0.5, 0.3, 0.7, n=examples))
                archive.set_status(agent.id, "evaluated")
                done = archive.get_state(f"done_{tag}", 0)
                archive.set_state(f"done_{tag}", done + 1)
            print(f"committed {agent.id}", flush=True)


if __name__ == "__main__":
    main()
