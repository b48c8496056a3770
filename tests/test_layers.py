"""The layering rule: `pipelines/` is the pure core, only `crawler/` imports Scrapy and Twisted,
only `scheduler/` imports APScheduler, `web/` reads the catalogue through the core and starts
crawls as processes (never Scrapy in its own), and no modules of ours import each other in a
circle."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.import_graph import Import, all_imports, cycles, group, module_graph

# Who may import what, by the first part of the imported name. `pipelines` may import no
# package of ours but itself; within it, a lower layer never imports a higher one.
FORBIDDEN = {
    "pipelines": {"crawler", "scheduler", "replicas", "benchmarks", "tests", "scrapy", "twisted",
                  "apscheduler", "web"},
    "crawler": {"scheduler", "replicas", "benchmarks", "tests", "apscheduler", "web"},
    "scheduler": {"crawler", "benchmarks", "tests", "scrapy", "twisted"},
    "web": {"crawler", "replicas", "benchmarks", "tests", "scrapy", "twisted", "apscheduler"},
}  # fmt: skip
# Inside the core: what each part may not import (normalise and warc are the bottom).
CORE_FORBIDDEN = {
    "pipelines.normalise": ("pipelines.warc", "pipelines.catalogue", "pipelines.archive"),
    "pipelines.warc": ("pipelines.catalogue", "pipelines.archive"),
    "pipelines.catalogue": ("pipelines.archive",),
}


def violations(found: list[Import]) -> list[str]:
    """Each import that breaks the rule, as `module:line imports target`."""
    broken = []
    for one in found:
        package, top = one.module.split(".")[0], one.target.split(".")[0]
        core_rule = CORE_FORBIDDEN.get(group(one.module), ())
        if top in FORBIDDEN.get(package, ()) or one.target.startswith(core_rule):
            broken.append(f"{one.module}:{one.line} imports {one.target}")
    return sorted(set(broken))


def test_every_import_keeps_to_the_layers() -> None:
    assert violations(all_imports()) == []


def test_no_modules_import_each_other_in_a_circle() -> None:
    assert cycles(module_graph()) == []


def test_a_crawl_process_loads_no_scheduler_and_the_service_no_scrapy() -> None:
    # What each process imports follows from the rule; say it as the processes see it.
    found = all_imports()
    assert not [i for i in found if i.module.startswith("crawler") and "apscheduler" in i.target]
    assert not [i for i in found if i.module.startswith("scheduler") and i.target.startswith(
        ("scrapy", "twisted"))]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "source", "broken"),
    [
        ("pipelines/warc/bad.py", "from crawler.items import FetchedPage\n", "crawler.items"),
        ("pipelines/bad.py", "def f():\n    import scrapy\n", "scrapy"),
        ("pipelines/catalogue/bad.py", "from ..archive import verify\n", "pipelines.archive"),
        ("crawler/bad.py", "from apscheduler.triggers.cron import CronTrigger\n", "apscheduler"),
        ("scheduler/bad.py", "from twisted.internet import reactor\n", "twisted"),
        ("scheduler/bad.py", "from crawler import settings\n", "crawler"),
        ("web/bad.py", "def f():\n    import scrapy\n", "scrapy"),
        ("web/bad.py", "from crawler.spiders import rmzxb\n", "crawler"),
        ("web/bad.py", "from apscheduler.triggers.cron import CronTrigger\n", "apscheduler"),
        ("pipelines/bad.py", "from web.app import create_app\n", "web"),
    ],
)
def test_the_rule_catches_an_import_that_breaks_it(
    tmp_path: Path, path: str, source: str, broken: str
) -> None:
    # The checker itself can fail: plant one bad import in a small tree and it is named.
    for package in ("pipelines", "crawler", "scheduler", "web"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "pipelines" / "warc").mkdir()
    (tmp_path / "pipelines" / "catalogue").mkdir()
    (tmp_path / path).write_text(source)
    found = violations(all_imports(tmp_path))
    assert len(found) >= 1 and all(broken in line for line in found), found


def test_a_planted_cycle_is_found(tmp_path: Path) -> None:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "a.py").write_text("from pipelines import b\n")
    (tmp_path / "pipelines" / "b.py").write_text("import pipelines.a\n")
    assert cycles(module_graph(tmp_path, ["pipelines"])) == [["pipelines.a", "pipelines.b"]]


def test_a_cycle_through_a_package_init_is_found(tmp_path: Path) -> None:
    # scheduler/demo.py importing scheduler.cli.output runs scheduler/cli/__init__.py first,
    # which imports scheduler.cli.demo, which imports scheduler.demo: half made, it fails.
    (tmp_path / "scheduler" / "cli").mkdir(parents=True)
    (tmp_path / "scheduler" / "__init__.py").write_text("")
    (tmp_path / "scheduler" / "cli" / "__init__.py").write_text("from scheduler.cli import demo\n")
    (tmp_path / "scheduler" / "cli" / "output.py").write_text("")
    (tmp_path / "scheduler" / "cli" / "demo.py").write_text("from scheduler.demo import run\n")
    (tmp_path / "scheduler" / "demo.py").write_text("from scheduler.cli.output import table\n")
    assert cycles(module_graph(tmp_path, ["scheduler"])) == [
        ["scheduler.cli", "scheduler.cli.demo", "scheduler.demo"]
    ]
