"""deploy/cppcc-archive-alerts.yml: valid rules that fire on the conditions `health` reports,
by `promtool test rules` on synthetic series (tests/fixtures/alert_rules.test.yml)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

RULES = REPO / "deploy" / "cppcc-archive-alerts.yml"
RULE_TESTS = REPO / "tests" / "fixtures" / "alert_rules.test.yml"


@pytest.fixture
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (apt-get install prometheus; .ci/run does)")
    return found


def promtool_run(promtool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=REPO
    )


def test_the_rules_are_valid(promtool: str) -> None:
    checked = promtool_run(promtool, "check", "rules", RULES)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 9 rules found" in checked.stdout


def test_each_alert_fires_on_its_synthetic_series_and_no_other(promtool: str) -> None:
    tested = promtool_run(promtool, "test", "rules", RULE_TESTS)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_a_threshold_moved_in_the_rules_fails_their_test(promtool: str, tmp_path: Path) -> None:
    # The test can fail: with 20 points written 0.2, exactly 20 (1.0 - 0.8) no longer fires.
    (tmp_path / "deploy").mkdir()
    moved = RULES.read_text(encoding="utf-8").replace(">= 0.199999)", ">= 0.2)", 1)
    (tmp_path / "deploy" / RULES.name).write_text(moved, encoding="utf-8")
    (tmp_path / "tests" / "fixtures").mkdir(parents=True)
    copy = tmp_path / "tests" / "fixtures" / RULE_TESTS.name
    copy.write_text(RULE_TESTS.read_text(encoding="utf-8"), encoding="utf-8")
    tested = promtool_run(promtool, "test", "rules", copy)
    assert tested.returncode != 0
    assert "CppccArchiveFieldDrift" in tested.stdout + tested.stderr
