"""Run a command and print the peak RSS of its largest process: `python -m benchmarks.rss CMD…`.

A process of its own, so RUSAGE_CHILDREN sees only this command's process tree (the crawl
launcher and the `scrapy crawl` it waits for), never an earlier benchmark's.
"""

from __future__ import annotations

import resource
import subprocess
import sys


def main(argv: list[str]) -> int:
    code = subprocess.run(argv, stdout=subprocess.DEVNULL).returncode
    # Linux reports ru_maxrss in KiB: the largest of the waited-for descendants, not a sum.
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
