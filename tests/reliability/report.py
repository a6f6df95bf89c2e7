"""The reliability report (`make reliability`): what the fuzzing, hostile-file, crash, concurrency and
fault tests did and found, summed from the lines they appended (tests/reliability/common.py `tally`).

    python -m tests.reliability.report TALLY.jsonl PYTEST_EXIT_STATUS
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROWS = [
    ("inputs_fuzzed", "inputs fuzzed (mutated FIT, GPX, TCX through 5 decoder roads, each in a 10 s / 1 GB sandbox)"),
    ("hostile_refused", "hostile files and archive members refused with their reason"),
    ("kills", "imports killed (SIGKILL to the whole process group) and converged on re-run"),
    ("commit_kills", "commits killed between their renames and finished by the next writer"),
    ("concurrent_runs", "runs at once on one store (a sync and two imports)"),
    ("faults_injected", "faults: store full or read-only mid-import, a real full and read-only mount, "
                        "a file gone, a watch unplugged"),
    ("worker_crashes", "pool workers crashed or killed mid-import, survived"),
    ("rows_lost", "rows lost (must be 0)"),
    ("files_unaccounted", "files unaccounted for (must be 0)"),
]


def table(counts: Counter[str], status: int) -> str:
    lines = ["| measure | count |", "|---|---:|"]
    lines += [f"| {label} | {counts.get(key, 0):,} |" for key, label in ROWS]
    lines.append(f"| findings: tests failed (pytest exit status) | {'none' if status == 0 else status} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    path, status = Path(argv[0]), int(argv[1]) if len(argv) > 1 else 0
    counts: Counter[str] = Counter()
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            counts.update(json.loads(line))
    print(table(counts, status))
    return status or int(counts.get("rows_lost", 0) > 0 or counts.get("files_unaccounted", 0) > 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
