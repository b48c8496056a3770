"""Run a command; print the peak RSS of its largest process and the CPU time of all of them.

`python -m benchmarks.rss CMD…` prints `<peak RSS KiB> <CPU seconds>` on its last stderr line.

A process of its own, so RUSAGE_CHILDREN sees only this command's process tree (the crawl
launcher and the `scrapy crawl` it waits for), never an earlier benchmark's.
"""

from __future__ import annotations

import resource
import subprocess
import sys


def main(argv: list[str]) -> int:
    code = subprocess.run(argv, stdout=subprocess.DEVNULL).returncode
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Linux reports ru_maxrss in KiB: the largest of the waited-for descendants, not a sum.
    # The CPU times are sums: user and system time of every process of the command.
    print(usage.ru_maxrss, usage.ru_utime + usage.ru_stime, file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
