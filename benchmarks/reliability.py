"""`python -m benchmarks.reliability`: kill -9 a crawl at random moments; count what is lost.

Each trial crawls a generated 人民政协网 channel (`--articles`, 600 by default: 30 list pages)
into a new archive home, kills the whole crawl (the command, its `scrapy crawl` and its
catalogue writer, all at once, with SIGKILL) at a random moment of it, then runs the next
ordinary `cppcc-archive crawl` and `verify`. Half the trials kill a first crawl; the other
half kill a later one, after the site published 200 more articles, so a kill lands in an
incremental walk as well. A trial passes when every article of the channel is catalogued
(in its channel), `verify` is clean, the catalogue holds no row twice, and no article page
the dead crawl had archived whole is fetched again.

The kill machinery is the test suite's (tests/faults.py), so the figures in README come from
the same code as the handful of trials every test run makes.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from replicas.rmzxb.channel import SEEDS, article_spec, channel_routes
from replicas.server import ReplicaServer
from tests.conftest import run_cli
from tests.faults import KillTrial, kill_9_trial

PUBLISHED_BETWEEN = 200  # articles published before an incremental trial's crawl: 10 list pages


@dataclass(frozen=True)
class Outcome:
    """One trial: when the crawl was killed, and what the next crawl made of it."""

    kind: str  # "first crawl" | "later crawl"
    killed_after: float  # seconds after the crawl started
    trial: KillTrial

    @property
    def passed(self) -> bool:
        trial = self.trial
        return not (
            trial.lost
            or trial.duplicates
            or trial.refetched
            or trial.next_crawl.returncode
            or trial.verify.returncode
        )


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reliability", description=__doc__)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--articles", type=int, default=600)
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    chance = random.Random(seed)
    os.environ.update(_ENV)  # every crawl of the trials reads it, the killed ones too
    with tempfile.TemporaryDirectory(prefix="cppcc-reliability-") as folder:
        scratch = Path(folder)
        durations = _clean_crawl_seconds(scratch, args.articles)
        print(
            f"clean crawls of the {args.articles}-article channel take {durations[False]:.1f} s "
            f"(the first), {durations[True]:.1f} s (a later one)",
            flush=True,
        )
        outcomes = []
        for number in range(args.trials):
            later = number % 2 == 1
            # Most of a crawl's time is its walk; its first and last seconds start and close it.
            moment = chance.uniform(0.4, 0.95) * durations[later]
            outcome = _trial(scratch / f"trial-{number}", args.articles, moment, later)
            outcomes.append(outcome)
            print(_line(number, outcome), flush=True)
    print(_summary(outcomes, args.articles, seed))
    return 0 if all(outcome.passed for outcome in outcomes) else 1


def _clean_crawl_seconds(scratch: Path, articles: int) -> dict[bool, float]:
    """How long unhurt crawls of the channel take, start-up included: the first, and a later
    one after PUBLISHED_BETWEEN more articles (by `later`)."""
    with ReplicaServer(lambda _: channel_routes(articles)) as server:
        home, seeds = _home(scratch / "clean", server)
        durations = {}
        for later in (False, True):
            if later:
                server.routes = channel_routes(articles + PUBLISHED_BETWEEN)
            began = time.monotonic()
            result = run_cli("--home", str(home), "--seeds", str(seeds), "crawl", "rmzxb/yw",
                             timeout=600)  # fmt: skip
            assert result.returncode == 0, result.stderr
            durations[later] = time.monotonic() - began
        return durations


# One crawl walks the whole channel: the next ordinary crawl must put everything back.
_ENV = {"CPPCC_BACKLOG_LIST_PAGES": "1000"}


def _trial(folder: Path, articles: int, moment: float, later: bool) -> Outcome:
    total = articles + PUBLISHED_BETWEEN if later else articles
    first = articles if later else total
    with ReplicaServer(lambda _: channel_routes(first)) as server:
        home, seeds = _home(folder, server)
        common = ("--home", str(home), "--seeds", str(seeds))
        if later:
            done = run_cli(*common, "crawl", "rmzxb/yw", timeout=600)
            assert done.returncode == 0, done.stderr
            server.routes = channel_routes(total)
        expected = {(article_spec(index).path, "yw") for index in range(total)}
        trial = kill_9_trial(home, seeds, "rmzxb/yw", moment, expected, lambda: server.requests)
    return Outcome("later crawl" if later else "first crawl", moment, trial)


def _home(folder: Path, server: ReplicaServer) -> tuple[Path, Path]:
    folder.mkdir(parents=True)
    seeds = folder / "seeds.toml"
    seeds.write_text(SEEDS.format(base_url=server.base_url), encoding="utf-8")
    return folder / "home", seeds


def _line(number: int, outcome: Outcome) -> str:
    trial = outcome.trial
    verdict = "ok" if outcome.passed else "FAILED"
    return (
        f"trial {number + 1:2d} ({outcome.kind}, killed after {outcome.killed_after:5.2f} s, "
        f"{trial.reported_pages} pages reported): {len(trial.lost)} lost, "
        f"{sum(trial.duplicates.values())} duplicate rows, {len(trial.refetched)} refetched, "
        f"next crawl exit {trial.next_crawl.returncode}, verify exit {trial.verify.returncode}"
        f": {verdict}"
    )


def _summary(outcomes: list[Outcome], articles: int, seed: int) -> str:
    pages = [outcome.trial.reported_pages for outcome in outcomes]
    lost = sum(len(outcome.trial.lost) for outcome in outcomes)
    rows = [
        f"trials: {len(outcomes)} ({articles}-article channel, random seed {seed})",
        f"killed mid-crawl (pages reported 1 or more): {sum(1 for p in pages if p)}; "
        f"pages reported at the kill: median {statistics.median(pages):.0f}, max {max(pages)}",
        f"articles lost: {lost}",
        f"duplicate rows: {sum(sum(o.trial.duplicates.values()) for o in outcomes)}",
        f"article pages fetched again: {sum(len(o.trial.refetched) for o in outcomes)}",
        f"verify not clean: {sum(1 for o in outcomes if o.trial.verify.returncode)}",
        f"trials passed: {sum(1 for o in outcomes if o.passed)} of {len(outcomes)}",
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
