"""Knowing when the archive falls short, end to end: `cppcc-archive health` and the service's
/metrics on a replica that drifts.

One home, crawled for real on two simulated days (CPPCC_NOW): on the first the replica of
人民政协网 is as its profile knows it; on the second its article template has lost the source
from the line under the title, and the 协商 list links no article. 统战's walk is cut short of
its last list page. Every test reads that home; none writes it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.display import DISPLAY_ZONE
from replicas.rmzxb import redesign
from replicas.rmzxb.redesign import DriftingReplica
from tests.conftest import CLI, REPO, CliResult, run_cli, run_cli_reading

DRIFT_LINE = (
    "rmzxb/yw: field-drift: source: found by the site profile's selectors in 0% of 12 articles "
    "in the last 1 d, against a trailing median of 100%"
)


@dataclass(frozen=True)
class DriftedHome:
    home: Path
    seeds: Path
    base_url: str
    first: date  # the replica as the profile knows it
    second: date  # redesigned: no source; 协商's list empty
    folder: Path

    def cli(self, *args: str, at: datetime, seeds: Path | None = None, **env: str) -> CliResult:
        """The command line with the clock at `at` (CPPCC_NOW)."""
        where = ("--home", str(self.home), "--seeds", str(seeds or self.seeds))
        return run_cli_reading(*where, *args, env={"CPPCC_NOW": at.isoformat(), **env})

    def evening(self, day: date, days_later: int = 0) -> datetime:
        return datetime.combine(day, datetime.min.time(), DISPLAY_ZONE) + timedelta(
            days=days_later, hours=21
        )


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DriftedHome]:
    folder = tmp_path_factory.mktemp("drift")
    today = datetime.now(DISPLAY_ZONE).date()
    first, second = today - timedelta(days=3), today - timedelta(days=2)
    with DriftingReplica(first, redesign_on=second) as replica:
        seeds = folder / "seeds.toml"
        seeds.write_text(redesign.seeds(replica.base_url), encoding="utf-8")
        home = DriftedHome(folder / "home", seeds, replica.base_url, first, second, folder)
        day_one = home.cli("crawl", "rmzxb", "--max-list-pages", "3", at=home.evening(first))
        assert day_one.returncode == 0, day_one.stderr
        replica.today, replica.empty_lists = second, {"xs"}
        day_two = home.cli("crawl", "rmzxb/yw", "rmzxb/xs", at=home.evening(second))
        assert day_two.returncode == 1, day_two.stderr  # 协商's list linked no article
        assert "source ×12" in day_two.stdout  # the crawl itself says only this
        yield home


def test_the_day_after_a_redesign_health_names_the_channel_and_the_field(
    drifted: DriftedHome,
) -> None:
    result = drifted.cli("health", at=drifted.evening(drifted.second))
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        f"health of 3 channels at {drifted.evening(drifted.second).isoformat()}: 3 problems",
        DRIFT_LINE,
        f"rmzxb/xs: empty-list: list page 1 {drifted.base_url}/xs/index.shtml linked no article "
        "of the channel (has it moved, or its layout changed?) (run 2)",
        "rmzxb/tz: backlog: its list pages are not walked to the end yet: walked to page 3 of 4 "
        "(each crawl walks on; see `cppcc-archive schedule`)",
    ]
    quiet = drifted.cli("-q", "health", at=drifted.evening(drifted.second))
    assert quiet.stdout.splitlines() == result.stdout.splitlines()[1:]


def test_health_as_json_gives_each_field_against_its_median(drifted: DriftedHome) -> None:
    result = drifted.cli("health", "--format", "json", at=drifted.evening(drifted.second))
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["healthy"] is False
    assert [(p["channel"], p["check"], p["field"]) for p in report["problems"]] == [
        ("rmzxb/yw", "field-drift", "source"),
        ("rmzxb/xs", "empty-list", None),
        ("rmzxb/tz", "backlog", None),
    ]
    yw = report["channels"][0]
    fields = yw["window"]["fields"]
    assert yw["window"]["articles"] == 12
    assert (fields["source"]["profile"], fields["source"]["profile_median"]) == (0.0, 1.0)
    assert (fields["author"]["profile"], fields["author"]["profile_median"]) == (1.0, 1.0)


def test_the_day_before_every_channel_was_healthy(drifted: DriftedHome) -> None:
    # As of the first evening the second day's runs have not happened yet; 统战's walk, which
    # no day completes, is left out of these seeds.
    seeds = drifted.folder / "two-channels.toml"
    seeds.write_text(redesign.seeds(drifted.base_url, channels="yw xs"), encoding="utf-8")
    result = drifted.cli("health", at=drifted.evening(drifted.first), seeds=seeds)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (
        f"health of 2 channels at {drifted.evening(drifted.first).isoformat()}: healthy\n"
    )


def test_channels_not_crawled_for_three_intervals_are_stale(drifted: DriftedHome) -> None:
    seeds = drifted.folder / "with-a-new-channel.toml"
    text = redesign.seeds(drifted.base_url, channels="yw xs")
    seeds.write_text(
        text + '\n[sites.rmzxb.channels.sh]\nname = "社会"\nlist = "/sh/index.shtml"\n'
    )
    # A minute past 3 days after the first evening, the last time both finished a run.
    later = drifted.evening(drifted.second, days_later=2) + timedelta(minutes=1)
    result = drifted.cli("health", at=later, seeds=seeds)
    assert result.returncode == 1
    stale = [line for line in result.stdout.splitlines() if ": stale: " in line]
    first_evening = drifted.evening(drifted.first).isoformat()
    assert stale == [
        f"rmzxb/yw: stale: no run has finished since {first_evening} (run 1), 3 d ago: more "
        "than 3 × its schedule interval of 1 d",
        f"rmzxb/xs: stale: no run has finished since {first_evening} (run 1), 3 d ago: more "
        "than 3 × its schedule interval of 1 d",
        "rmzxb/sh: stale: no run has finished yet (its schedule: every 1 h)",
    ]
    just_in_time = drifted.cli("health", at=later - timedelta(minutes=1), seeds=seeds)
    assert [line for line in just_in_time.stdout.splitlines() if ": stale: " in line] == stale[2:]


def test_thresholds_are_settings_and_a_bad_one_is_one_line(drifted: DriftedHome) -> None:
    at = drifted.evening(drifted.second)
    strict = drifted.cli("-q", "health", at=at, CPPCC_HEALTH_FAILED_RUNS="1")
    failing = [line for line in strict.stdout.splitlines() if ": failing: " in line]
    assert failing[0].startswith("rmzxb/yw: failing: its last run failed; the newest, run 2: ")
    assert len(failing) == 2
    config = drifted.folder / "config.toml"
    config.write_text("[health]\nmin_articles = 13\n", encoding="utf-8")
    fewer = drifted.cli("-q", "--config", str(config), "health", at=at)
    assert "field-drift" not in fewer.stdout  # 12 articles are too few to say now
    bad = drifted.cli("health", at=at, CPPCC_HEALTH_DRIFT_POINTS="200")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "CPPCC_HEALTH_DRIFT_POINTS is '200'" in bad.stderr


def test_without_a_catalogue_every_channel_is_stale_and_none_is_made(
    drifted: DriftedHome, tmp_path: Path
) -> None:
    result = run_cli("--home", str(tmp_path), "--seeds", str(drifted.seeds), "-q", "health")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"rmzxb/{key}: stale: no run has finished yet (its schedule: every 1 d)"
        for key in ("yw", "xs", "tz")
    ]
    assert list(tmp_path.iterdir()) == []


# -- the service's /metrics ------------------------------------------------------------------------


@dataclass(frozen=True)
class Scrape:
    text: str
    exit_code: int
    log: str

    def value(self, name: str, **labels: str) -> float:
        """The value of the one sample of `name` with exactly these labels."""
        wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
        pattern = "^" + re.escape(f"{name}{{{wanted}}}" if labels else name) + r" (\S+)$"
        [value] = re.findall(pattern, self.text, re.MULTILINE)
        return float(value)


@pytest.fixture(scope="module")
def scraped(drifted: DriftedHome) -> Scrape:
    """/metrics of `serve --metrics-port 0` on the drifted home, the clock at the second
    evening; then the service stopped with SIGTERM."""
    log = drifted.folder / "serve.log"
    env = {**os.environ, "CPPCC_NOW": drifted.evening(drifted.second).isoformat()}
    argv = [str(CLI), "--home", str(drifted.home), "--seeds", str(drifted.seeds)]
    with log.open("w", encoding="utf-8") as err:
        service = subprocess.Popen(
            [*argv, "serve", "--metrics-port", "0"], stdout=subprocess.DEVNULL, stderr=err,
            env=env, cwd=REPO, start_new_session=True,
        )  # fmt: skip
    try:
        url = _logged(log, service, r"metrics: (http://127\.0\.0\.1:\d+/metrics)")
        _logged(log, service, r"(serving) \d+ channel")  # its stop signals are in place
        with urllib.request.urlopen(url, timeout=30) as answer:
            assert answer.headers["Content-Type"].startswith("text/plain")
            text = answer.read().decode("utf-8")
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=60)
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
    return Scrape(text, service.returncode, log.read_text(encoding="utf-8"))


def _logged(log: Path, service: subprocess.Popen[bytes], pattern: str) -> str:
    """The group of `pattern` in the service's log, once it is there."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text("utf-8"))
        if found:
            return found[1]
        assert service.poll() is None, log.read_text("utf-8")
        time.sleep(0.1)
    pytest.fail(f"the service never logged {pattern!r}: {log.read_text('utf-8')}")


def test_the_service_serves_the_drift_as_metrics(drifted: DriftedHome, scraped: Scrape) -> None:
    yw, xs, tz = ({"site": "rmzxb", "channel": key} for key in ("yw", "xs", "tz"))
    coverage = "cppcc_archive_field_coverage_ratio"
    assert scraped.value(coverage, **yw, field="source") == 0.0
    assert scraped.value("cppcc_archive_field_coverage_median_ratio", **yw, field="source") == 1.0
    assert scraped.value(coverage, **yw, field="author") == 1.0
    assert scraped.value("cppcc_archive_window_articles", **yw) == 12
    assert scraped.value("cppcc_archive_health_problems", **yw) == 1
    assert scraped.value("cppcc_archive_list_empty", **xs) == 1
    assert scraped.value("cppcc_archive_backlog_complete", **tz) == 0
    assert scraped.value("cppcc_archive_backlog_page", **tz) == 3
    assert scraped.value("cppcc_archive_runs_total", **xs, status="failed") == 1
    assert scraped.value("cppcc_archive_runs_total", **yw, status="finished") == 1
    assert scraped.value("cppcc_archive_articles_new_total", **yw) == 24
    assert scraped.value("cppcc_archive_articles_withdrawn", **yw) == 0  # none withdrawn
    assert scraped.value("cppcc_archive_withdrawals_total", **yw) == 0
    assert scraped.value("cppcc_archive_run_duration_seconds_count", **yw) == 2
    assert scraped.value("cppcc_archive_warc_bytes_total", site="rmzxb") > 100_000
    last_success = scraped.value("cppcc_archive_last_success_timestamp_seconds", **yw)
    assert last_success == drifted.evening(drifted.first).timestamp()  # its simulated evening
    assert scraped.value("cppcc_archive_catalogue_up") == 1
    assert scraped.exit_code == 0, scraped.log


def test_the_served_metrics_pass_promtool(scraped: Scrape, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (apt-get install prometheus; .ci/run does)")
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=scraped.text, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == ""  # no lint remark either


def test_a_metrics_port_taken_stops_the_service_in_one_line(
    drifted: DriftedHome, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(
            "--home", str(tmp_path), "--seeds", str(drifted.seeds),
            "serve", "--metrics-port", str(port),
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"cppcc-archive: error: --metrics-port {port}: cannot listen on 127.0.0.1:{port} "
        "(Address already in use); give another port, or 0 for any free one"
    ]
