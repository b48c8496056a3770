"""`cppcc-archive serve` as a real process: schedules, locks, signals, crashes and recovery."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from pipelines.processes import pid_is_alive
from replicas.rmzxb.site import SEEDS_SITE
from scheduler.service import ServiceSettings, build_scheduler
from scheduler.timing import cron_trigger, load_seeds, next_slot
from tests.conftest import (
    GatedReplica,
    SlowReplica,
    assert_clean_warc_files,
    run_cli,
    run_cli_in_process,
    start_cli,
)

SERVICE_SEEDS = (
    SEEDS_SITE
    + """
[sites.rmzxb.channels.yw]
name = "要闻"
list = "/yw_n/index.shtml"
schedule = "{yw}"

[sites.rmzxb.channels.xs]
name = "协商"
list = "/xs/index.shtml"
schedule = "{xs}"
enabled = {xs_enabled}
"""
)
DAILY = "0 0 * * *"  # midnight in Shanghai: never reached during a test
EVERY_2_S = "*/2 * * * * *"  # six fields: seconds first


class Service:
    """One `cppcc-archive serve` process on a home, against a replica."""

    started: ClassVar[list[Service]] = []  # killed at the end of each test, whatever happened

    def __init__(self, home: Path, seeds: Path, *extra: str):
        Service.started.append(self)
        self.home = home
        self.seeds = seeds
        self.process = start_cli(
            "--home", str(home), "--seeds", str(seeds), "serve", "--grace", "2", *extra
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 90) -> tuple[int, str]:
        """Send `sig`, wait for the exit, return (exit code, stderr)."""
        self.process.send_signal(sig)
        _, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, err

    def runs(self) -> list[dict[str, Any]]:
        return runs(self.home)


def runs(home: Path) -> list[dict[str, Any]]:
    if not (home / "catalogue.sqlite3").exists():
        return []  # the service has not created its catalogue yet
    # In this process: the tests poll it while the service and its crawls need the CPU.
    listed = run_cli_in_process("--home", str(home), "runs", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    return list(json.loads(listed.stdout))


def finished_runs(service: Service, channel: str, count: int) -> list[dict[str, Any]] | None:
    """The first `count` finished runs of `channel`, once there are that many."""
    found = [r for r in service.runs() if r["channels"] == [channel] and r["status"] == "finished"]
    return found[-count:] if len(found) >= count else None


def wait_for(condition: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"waited {timeout} s for {what or condition}")


def crawl_under_way(home: Path, run_id: int) -> None:
    """Wait until run `run_id`'s crawl has opened its spider: from then on Scrapy reads a
    SIGINT as "finish the pages in flight" (before, one ends it mid-import, uncleanly)."""
    wait_for(lambda: crawl_log_says(home, run_id, "Spider opened"), what="the crawl under way")


def serving(service: Service, after: int) -> None:
    """Wait until `service` has started a run after run `after`: then it is past its start-up
    (recovery, where a signal still ends it at once) and serving, its signal handlers set."""
    wait_for(lambda: any(r["id"] > after for r in service.runs()), what="the service to be serving")


def crawl_log_says(home: Path, run_id: int, text: str) -> bool:
    """Whether the Scrapy log of run `run_id` (of the replica site) holds `text` yet."""
    log = home / "logs" / f"run-{run_id}-rmzxb.log"
    return log.exists() and text in log.read_text(encoding="utf-8", errors="replace")


def logged_at(err: str, text: str) -> datetime:
    """When the service logged its first line holding `text` (an ISO 8601 stamp in +08:00)."""
    line = next(line for line in err.splitlines() if text in line)
    stamp = datetime.fromisoformat(line.split(" ", 1)[0])
    assert stamp.utcoffset() == timedelta(hours=8), line  # Beijing time, as the CLI shows
    return stamp


def write_seeds(path: Path, base_url: str, yw: str, xs: str | None = DAILY) -> Path:
    """Seeds for the replica; `xs=None` disables 协商 so only 要闻 is scheduled."""
    text = SERVICE_SEEDS.format(
        base_url=base_url, yw=yw, xs=xs or DAILY, xs_enabled="false" if xs is None else "true"
    )
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def no_service_left_behind() -> Iterator[None]:
    yield
    for service in Service.started:
        if service.process.poll() is None:
            service.process.kill()
        service.process.communicate()
    Service.started.clear()


@pytest.fixture
def replica_url() -> Iterator[str]:
    with SlowReplica(delay=0.05) as server:
        yield server.base_url


@pytest.fixture
def gated() -> Iterator[GatedReplica]:
    """A replica whose 要闻 list pages wait until the test opens the gate."""
    with GatedReplica("/yw_n/") as server:
        yield server


@pytest.fixture
def gated_page_2() -> Iterator[GatedReplica]:
    """A replica whose 要闻 list holds back its second page: the first and its articles come."""
    with GatedReplica("/yw_n/index_2") as server:
        yield server


# -- the real service -------------------------------------------------------------------------


def test_runs_happen_on_time_one_at_a_time_and_sigterm_stops_cleanly(
    tmp_path: Path, replica_url: str
) -> None:
    home = tmp_path / "home"
    seeds = write_seeds(tmp_path / "seeds.toml", replica_url, yw="*/4 * * * * *")
    service = Service(home, seeds)
    done = wait_for(lambda: finished_runs(service, "rmzxb/yw", 3), timeout=40, what="three runs")
    code, err = service.stop()
    assert code == 0, err
    listed = [r for r in service.runs() if r["channels"] == ["rmzxb/yw"]]
    assert all(r["trigger"] == "schedule" for r in listed)
    assert all(r["status"] != "running" for r in listed)
    # Never two runs of the channel at once.
    spans = sorted((r["started_at"], r["finished_at"]) for r in listed if r["finished_at"])
    for (_, end), (start, _) in pairwise(spans):
        assert end <= start
    # Runs start on the schedule's 4-second marks (the first may be the start-up run).
    starts = sorted(datetime.fromisoformat(r["started_at"]) for r in done)
    late = [start.timestamp() % 4 for start in starts[1:]]
    assert all(seconds < 2 for seconds in late), late
    for run in done:
        assert f"run {run['id']} started: rmzxb/yw (schedule)" in err
        assert f"run {run['id']} finished" in err
    # xs never ran, so it ran once at start; its next slot is at midnight.
    assert [r["trigger"] for r in service.runs() if r["channels"] == ["rmzxb/xs"]] == ["schedule"]
    assert_clean_warc_files(home)


def test_a_service_stopped_across_three_slots_runs_the_channel_once_when_it_comes_back(
    tmp_path: Path, replica_url: str
) -> None:
    home = tmp_path / "home"
    seeds = write_seeds(tmp_path / "seeds.toml", replica_url, yw=EVERY_2_S, xs=None)
    first = Service(home, seeds)
    wait_for(lambda: finished_runs(first, "rmzxb/yw", 1), what="a scheduled run")
    code, err = first.stop()
    assert code == 0, err
    before = {r["id"] for r in runs(home)}
    time.sleep(7)  # down across three slots
    second = Service(home, seeds)

    def since_restart() -> list[dict[str, Any]]:
        return sorted((r for r in runs(home) if r["id"] not in before), key=lambda r: r["id"])

    # The catch-up run, then the one of the slot after it: both, once the second has begun.
    wait_for(lambda: len(since_restart()) >= 2, what="two runs after the restart")
    code, err = second.stop()
    assert code == 0, err
    catch_up, following = since_restart()[:2]
    assert catch_up["status"] == "finished" and catch_up["trigger"] == "schedule"
    # One run at start, begun within moments of the service being up...
    ready = logged_at(err, "serving 1 channel(s)")
    started = datetime.fromisoformat(catch_up["started_at"])
    assert -1.0 < (started - ready).total_seconds() < 1.5, (ready, started)
    # ...and none for the other two missed slots: the next waits for a slot after it ended.
    slot = next_slot(cron_trigger(EVERY_2_S), datetime.fromisoformat(catch_up["finished_at"]))
    assert slot is not None
    assert datetime.fromisoformat(following["started_at"]) >= slot
    assert err.count(" started: rmzxb/yw (schedule)") == len(since_restart())


def test_bad_seeds_or_catalogue_at_start_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[sites\n", encoding="utf-8")
    result = run_cli("--home", str(tmp_path), "--seeds", str(bad), "serve", timeout=30)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "not valid TOML" in result.stderr
    result = run_cli("--db", "postgresql://nobody@127.0.0.1:1/none", "serve", timeout=30)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "127.0.0.1:1" in result.stderr


def test_schedule_lists_last_and_next_runs(tmp_path: Path, replica_url: str) -> None:
    home = tmp_path / "home"
    seeds = write_seeds(tmp_path / "seeds.toml", replica_url, yw="*/30 * * * *")
    assert run_cli("--home", str(home), "--seeds", str(seeds), "crawl", "rmzxb/yw").returncode == 0
    result = run_cli("--home", str(home), "--seeds", str(seeds), "schedule", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = {row["channel"]: row for row in json.loads(result.stdout)}
    assert rows["rmzxb/yw"]["schedule"] == "*/30 * * * *"
    assert rows["rmzxb/yw"]["last_status"] == "finished" and rows["rmzxb/yw"]["last_run"]
    assert rows["rmzxb/xs"]["last_run"] is None
    upcoming = datetime.fromisoformat(rows["rmzxb/yw"]["next_run_at"])
    assert upcoming.utcoffset() == timedelta(hours=8)
    assert upcoming.minute in (0, 30) and upcoming > datetime.now(UTC)


# -- the scheduler's jobs, with a frozen clock -----------------------------------------------


def test_one_job_per_enabled_channel_and_catch_up_at_start(tmp_path: Path) -> None:
    seeds_path = write_seeds(tmp_path / "seeds.toml", "http://127.0.0.1:1", yw="*/30 * * * *")
    text = (
        seeds_path.read_text(encoding="utf-8") + '\n[sites.rmzxb.channels.off]\nname = "x"\n'
        'list = "/off/index.shtml"\nenabled = false\n'
    )
    seeds_path.write_text(text, encoding="utf-8")
    settings = ServiceSettings(home=tmp_path, database_url="sqlite://", seeds_path=seeds_path)
    now = datetime(2026, 11, 25, 11, 10, tzinfo=UTC)
    last = {"rmzxb/yw": now - timedelta(hours=2), "rmzxb/xs": now - timedelta(minutes=1)}
    scheduler = build_scheduler(settings, load_seeds(seeds_path), last, now)
    scheduler.start(paused=True)  # jobs get their defaults, nothing runs
    jobs = {job.id: job for job in scheduler.get_jobs()}
    scheduler.shutdown(wait=False)
    assert set(jobs) == {"crawl:rmzxb/yw", "crawl:rmzxb/xs", "tidy"}
    # yw missed its slots while down: it runs at start; xs ran after its last slot.
    assert jobs["crawl:rmzxb/yw"].next_run_time == now
    assert jobs["crawl:rmzxb/xs"].next_run_time > now
    assert jobs["crawl:rmzxb/yw"].func_ref == "scheduler.service:run_scheduled_crawl"
    assert jobs["crawl:rmzxb/yw"].max_instances == 1 and jobs["crawl:rmzxb/yw"].coalesce
    # The daily tidy, in a thread of its own: a long packing never takes a channel's slot.
    tidy = jobs["tidy"]
    assert (tidy.func_ref, tidy.executor) == ("scheduler.tidy_job:run_tidy", "tidy")
    assert tidy.max_instances == 1 and tidy.coalesce and tidy.next_run_time > now
    untidy = ServiceSettings(tmp_path, "sqlite://", seeds_path, tidy_schedule=None)
    assert build_scheduler(untidy, load_seeds(seeds_path), last, now).get_job("tidy") is None


def test_an_edited_schedule_takes_effect_and_a_removed_channel_loses_its_job(
    tmp_path: Path,
) -> None:
    seeds_path = write_seeds(tmp_path / "seeds.toml", "http://127.0.0.1:1", yw="*/30 * * * *")
    settings = ServiceSettings(home=tmp_path, database_url="sqlite://", seeds_path=seeds_path)
    now = datetime(2026, 11, 25, 11, 10, tzinfo=UTC)
    before = build_scheduler(settings, load_seeds(seeds_path), {}, now)
    assert str(before.get_job("crawl:rmzxb/yw").trigger).startswith("cron[")
    text = seeds_path.read_text(encoding="utf-8")
    edited = text.replace('"*/30 * * * *"', '"5 * * * *"')
    edited = edited[: edited.index("[sites.rmzxb.channels.xs]")]
    seeds_path.write_text(edited, encoding="utf-8")
    after = build_scheduler(settings, load_seeds(seeds_path), {}, now)
    assert [job.id for job in after.get_jobs()] == ["crawl:rmzxb/yw", "tidy"]
    assert "minute='5'" in str(after.get_job("crawl:rmzxb/yw").trigger)


def _crawl_pids(home: Path) -> list[int]:
    found = subprocess.run(["pgrep", "-f", f"CPPCC_HOME={home}"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def test_a_run_over_its_time_limit_is_stopped_and_failed(
    tmp_path: Path, gated_page_2: GatedReplica
) -> None:
    home = tmp_path / "home"
    seeds = write_seeds(tmp_path / "seeds.toml", gated_page_2.base_url, yw=DAILY, xs=None)
    # The list's second page is held back, so the run cannot end before its limit, however
    # fast the machine (a merely slow replica was crawled whole within 3 s on a fast one).
    service = Service(home, seeds, "--time-limit", "3")

    def failed_run() -> dict[str, Any] | None:
        if crawl_log_says(home, 1, "The crawl is stopping"):
            gated_page_2.gate.set()  # the page in flight may come now: the stop is polite
        return next((r for r in service.runs() if r["status"] == "failed"), None)

    failed = wait_for(failed_run, what="the run to hit its limit")
    code, err = service.stop()
    assert code == 0, err
    assert "time limit of 3 s" in failed["error"]
    assert f"run {failed['id']} failed" in err
    # On a loaded machine the limit can come before the first page: then nothing is archived.
    assert_clean_warc_files(home, some=False)


def running_run(service: Service) -> dict[str, Any]:
    return dict(
        wait_for(
            lambda: next((r for r in service.runs() if r["status"] == "running"), None),
            what="a scheduled run",
        )
    )


def test_manual_crawl_of_a_channel_being_crawled_is_refused(
    tmp_path: Path, gated: GatedReplica
) -> None:
    home = tmp_path / "home"
    seeds = write_seeds(tmp_path / "seeds.toml", gated.base_url, yw="*/2 * * * * *", xs=None)
    service = Service(home, seeds)
    running = running_run(service)  # held at its list page by the gate
    manual = run_cli("--home", str(home), "--seeds", str(seeds), "crawl", "rmzxb/yw")
    assert manual.returncode == 1
    lines = manual.stderr.strip().splitlines()
    assert len(lines) == 1 and f"run {running['id']}" in lines[0], manual.stderr
    assert "rmzxb/yw is being crawled" in lines[0]
    # Another channel is free: a manual crawl of it runs beside the service.
    other = run_cli(
        "--home", str(home), "--seeds", str(seeds), "crawl", "rmzxb/xs", "--max-list-pages", "1"
    )
    assert other.returncode == 0, other.stderr
    gated.gate.set()
    code, err = service.stop()
    assert code == 0, err
    statuses = {r["id"]: r["status"] for r in service.runs()}
    assert statuses[running["id"]] in ("finished", "interrupted")
    assert "running" not in statuses.values()
    assert [r["trigger"] for r in service.runs() if r["channels"] == ["rmzxb/xs"]] == ["manual"]
    assert_clean_warc_files(home)


def reported_pages(home: Path, run_id: int) -> int:
    """The pages run `run_id`'s crawl has said it fetched, in its report so far."""
    report = home / "logs" / f"run-{run_id}-rmzxb.report.jsonl"
    lines = report.read_text(encoding="utf-8").splitlines(keepends=True) if report.exists() else []
    events = [json.loads(line) for line in lines if line.endswith("\n")]
    return max((e["counts"]["pages_fetched"] for e in events if "counts" in e), default=0)


def test_kill_9_of_the_service_stops_its_crawls_and_restart_recovers(
    tmp_path: Path, gated_page_2: GatedReplica
) -> None:
    gated = gated_page_2
    home = tmp_path / "home"
    seeds = write_seeds(tmp_path / "seeds.toml", gated.base_url, yw=EVERY_2_S, xs=None)
    service = Service(home, seeds)
    dead = running_run(service)
    crawl_pids = wait_for(lambda: _crawl_pids(home), what="the crawl process")
    pages = wait_for(lambda: reported_pages(home, dead["id"]), what="the crawl's progress")
    service.process.kill()
    service.process.communicate()
    # Held at the gate, the crawl cannot finish on its own: once its watch has seen the
    # launcher gone, let the held request through so that it can close.
    wait_for(
        lambda: crawl_log_says(home, dead["id"], "is gone: stopping the crawl cleanly"),
        what="the crawl to see its launcher gone",
    )
    gated.gate.set()
    wait_for(lambda: not any(pid_is_alive(p) for p in crawl_pids), what="the crawl to stop")
    report = home / "logs" / f"run-{dead['id']}-rmzxb.report.jsonl"
    finished = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert finished[-1]["event"] == "finished"
    assert finished[-1]["finish_reason"] == "launcher_gone"
    assert runs(home)[0]["status"] == "running"  # nobody was left to record its end
    restarted = Service(home, seeds)
    recovered = wait_for(
        lambda: next((r for r in restarted.runs() if r["id"] != dead["id"]), None),
        what="a run after the restart (the stale lock was released)",
    )
    code, err = restarted.stop()
    assert code == 0, err
    first = next(r for r in runs(home) if r["id"] == dead["id"])
    assert first["status"] == "interrupted" and "gone" in first["error"]
    # What the dead run's crawl reported is kept: its counts and how it ended.
    assert first["counts"]["pages_fetched"] >= pages > 0
    assert first["counts"] == {**first["counts"], **finished[-1]["counts"]}
    assert first["finish_reason"] == "launcher_gone"
    assert f"run {dead['id']} was left running" in err
    assert recovered["channels"] == ["rmzxb/yw"]
    assert_clean_warc_files(home)


def complete_records(path: Path) -> int:
    """How many WARC records `path` (a file being written) holds whole, so far."""
    count = 0
    try:
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                record.content_stream().read()
                count += 1
    except (OSError, EOFError, ArchiveLoadFailed, zlib.error):
        pass  # the record being written, or the file just renamed
    return count


def test_power_loss_leaves_open_warc_files_that_the_next_start_salvages(
    tmp_path: Path, gated_page_2: GatedReplica
) -> None:
    gated = gated_page_2
    home = tmp_path / "home"
    seeds = write_seeds(tmp_path / "seeds.toml", gated.base_url, yw=EVERY_2_S, xs=None)
    service = Service(home, seeds)
    held = running_run(service)
    wait_for(lambda: reported_pages(home, held["id"]), what="the crawl's progress")
    # Held at its second list page, the crawl has written what came before, and waits.
    left_open = wait_for(
        lambda: [p for p in (home / "warc").glob("*.open") if complete_records(p)],
        what="a WARC file with a complete record, being written",
    )
    crawl_pids = wait_for(lambda: _crawl_pids(home), what="the crawl process")
    # Power loss: the service and its crawl die at once, nothing closes anything.
    for pid in [service.process.pid, *crawl_pids]:
        os.kill(pid, signal.SIGKILL)
    service.process.communicate()
    wait_for(lambda: not any(pid_is_alive(p) for p in crawl_pids), what="the crawl to die")
    assert all(path.exists() for path in left_open)
    pages = reported_pages(home, held["id"])  # its last progress line: it never finished
    gated.gate.set()
    restarted = Service(home, seeds)
    wait_for(lambda: not any(path.exists() for path in left_open), what="salvage")
    wait_for(
        lambda: next(
            (r for r in runs(home) if r["id"] == held["id"] and r["status"] != "running"), None
        ),
        what="the dead run recovered",
    )
    serving(restarted, after=held["id"])
    code, err = restarted.stop()
    assert code == 0, err
    for path in left_open:
        assert f"{path.name}: closed as" in err, err
    dead = next(r for r in runs(home) if r["id"] == held["id"])
    assert dead["status"] == "interrupted"
    assert dead["counts"]["pages_fetched"] == pages and dead["finish_reason"] is None
    assert "running" not in {r["status"] for r in runs(home)}
    assert_clean_warc_files(home)


def test_a_crawl_still_running_after_the_grace_period_is_stopped_cleanly(
    tmp_path: Path, gated: GatedReplica
) -> None:
    home = tmp_path / "home"
    seeds = write_seeds(tmp_path / "seeds.toml", gated.base_url, yw=EVERY_2_S, xs=None)
    service = Service(home, seeds, "--grace", "1")
    held = running_run(service)
    crawl_under_way(home, held["id"])
    began = time.monotonic()
    service.process.send_signal(signal.SIGTERM)  # one signal only: a clean stop
    # Held at the gate, the crawl cannot end within the grace period: the service must stop
    # it (Scrapy then finishes the request in flight, which the gate lets through).
    wait_for(
        lambda: crawl_log_says(home, held["id"], "Received SIGINT, shutting down gracefully"),
        what="the service to stop its crawl once the grace period is over",
    )
    gated.gate.set()
    _, err = service.process.communicate(timeout=90)
    assert service.process.returncode == 0, err
    assert time.monotonic() - began < 60
    assert "stopping the running crawls cleanly" in err
    assert "second signal" not in err
    run = next(r for r in runs(home) if r["id"] == held["id"])
    assert run["status"] == "interrupted", run
    assert run["finish_reason"] == "shutdown"
    assert_clean_warc_files(home)


def test_a_second_signal_stops_at_once_and_the_next_start_cleans_up(
    tmp_path: Path, gated: GatedReplica
) -> None:
    home = tmp_path / "home"
    seeds = write_seeds(tmp_path / "seeds.toml", gated.base_url, yw="*/2 * * * * *", xs=None)
    service = Service(home, seeds, "--grace", "60")
    held = running_run(service)
    crawl_pids = wait_for(lambda: _crawl_pids(home), what="the crawl process")
    crawl_under_way(home, held["id"])
    service.process.send_signal(signal.SIGTERM)  # asks for a clean stop within 60 s
    time.sleep(2)
    assert service.process.poll() is None  # waiting for its crawl, as asked
    began = time.monotonic()
    code, err = service.stop(signal.SIGTERM, timeout=20)  # the second: at once
    assert code == 0, err
    assert time.monotonic() - began < 10
    assert "second signal: stopping at once" in err
    gated.gate.set()  # the crawl, asked to stop and without its launcher, closes its files
    wait_for(lambda: not any(pid_is_alive(p) for p in crawl_pids), what="the crawl to stop")
    restarted = Service(home, seeds, "--grace", "1")
    wait_for(
        lambda: next(
            (r for r in restarted.runs() if r["id"] == held["id"] and r["status"] != "running"),
            None,
        ),
        what="the old run recovered",
    )
    serving(restarted, after=held["id"])
    code, err = restarted.stop()
    assert code == 0, err
    assert "running" not in {r["status"] for r in runs(home)}
    assert_clean_warc_files(home)


@pytest.mark.parametrize(
    ("option", "present", "absent"),
    [
        ("-q", [], [" INFO "]),  # warnings and errors only
        (None, [" INFO serving 1 channel(s)"], [" DEBUG "]),
        ("--verbose", [" INFO serving 1 channel(s)", "Scheduler started"], []),
    ],
)
def test_quiet_and_verbose_set_the_service_log_level(
    tmp_path: Path, replica_url: str, option: str | None, present: list[str], absent: list[str]
) -> None:
    home = tmp_path / "home"
    seeds = write_seeds(tmp_path / "seeds.toml", replica_url, yw=DAILY, xs=None)
    service = Service(home, seeds, *([option] if option else []))
    wait_for(lambda: (home / "catalogue.sqlite3").exists(), what="the catalogue")
    time.sleep(2)  # up and serving: its start-up lines are written
    code, err = service.stop()
    assert code == 0, err
    for text in present:
        assert text in err, err
    for text in absent:
        assert text not in err, err
