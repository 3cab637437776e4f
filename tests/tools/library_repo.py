"""A small real-looking library in git (a package, its tests, helpers, examples, docs, experiments), no log
backend, with one seeded fault: for localization and triage tests that must hold on library code."""

from __future__ import annotations

from pathlib import Path

from fixloop.config import Settings, TargetSettings
from fixloop.records import TestRun
from fixloop.tools.run_tests import run_tests
from tests.tools.conftest import write_files
from tests.tools.localize_repo import git

# a library target (its tests start what they need): its runs record per-test coverage themselves
LIBRARY = Settings(target=TargetSettings(server=False))

PARSING = """
    '''Parse ledger lines: "2026-01-02 rent -1200.50".'''


    def parse_amount(text):
        whole, _, frac = text.partition(".")
        sign = -1 if whole.startswith("-") else 1
        cents = abs(int(whole)) * 100
        if len(frac) == 1:
            cents += int(frac) * 10
        elif frac:
            cents += int(frac[:2])
        return sign * cents


    _last_line = ""


    def split_fields(line):
        global _last_line
        _last_line = line
        date, name, amount = line.split()
        return date, name, parse_amount(amount)
"""

ACCOUNTS = """
    import logging

    from ledger.parsing import split_fields

    log = logging.getLogger(__name__)


    class Ledger:
        def __init__(self):
            self.entries = []

        def post(self, line):
            try:
                self.entries.append(split_fields(line))
            except ValueError as exc:
                log.exception("rejected line %r: %s", line, exc)
                return False
            return True

        def balance(self, name):
            return sum(amount for _, who, amount in self.entries if who == name)

        def latest(self, name):
            rows = [row for row in self.entries if row[1] == name]
            return rows[len(rows) - 1]
"""

REPORT = """
    from ledger.accounts import Ledger


    def summary(ledger: Ledger, names):
        return {name: ledger.balance(name) for name in names}
"""

TEST_ACCOUNTS = """
    import logging

    from ledger.accounts import Ledger
    from tests.helpers import make_ledger


    def test_balance_sums_amounts():
        ledger = make_ledger(["2026-01-01 rent -1200.50", "2026-01-02 rent 200.25"])
        assert ledger.balance("rent") == -100025


    def test_single_amount():
        ledger = make_ledger(["2026-01-01 pay 10.5"])
        assert ledger.balance("pay") == 1050


    def test_latest_entry():
        ledger = make_ledger(["2026-01-01 pay 1.00", "2026-01-02 pay 2.00"])
        assert ledger.latest("pay")[2] == 200


    def test_bad_line_is_rejected_and_logged(caplog):
        ledger = Ledger()
        with caplog.at_level(logging.ERROR):
            assert ledger.post("garbage") is False
        assert "rejected line" in caplog.text


    def test_empty_ledger_has_zero_balance():
        assert Ledger().balance("rent") == 0
"""

TEST_REPORT = """
    from ledger.report import summary
    from tests.helpers import make_ledger


    def test_summary_per_name():
        ledger = make_ledger(["2026-01-01 rent -5.00", "2026-01-01 pay 7.25"])
        assert summary(ledger, ["rent", "pay"]) == {"rent": -500, "pay": 725}


    def test_summary_of_nobody():
        assert summary(make_ledger([]), []) == {}
"""

HELPERS = """
    from ledger.accounts import Ledger


    def make_ledger(lines):
        ledger = Ledger()
        for line in lines:
            assert ledger.post(line), line
        return ledger
"""

EXAMPLE = """
    from ledger.parsing import parse_amount

    print(parse_amount("12.50"), "cents")
"""

EXPERIMENT = """
    from ledger.parsing import parse_amount


    _tried = []


    def try_amounts():
        global _tried
        _tried = [parse_amount(text) for text in ("1.5", "2.25", "-3.75")]
        return _tried
"""

DOCS_CONF = """
    project = "ledger"
    extensions = []
"""

FILES = {
    "ledger/__init__.py": "",
    "ledger/parsing.py": PARSING,
    "ledger/accounts.py": ACCOUNTS,
    "ledger/report.py": REPORT,
    "tests/__init__.py": "",
    "tests/helpers.py": HELPERS,
    "tests/test_accounts.py": TEST_ACCOUNTS,
    "tests/test_report.py": TEST_REPORT,
    "examples/demo.py": EXAMPLE,
    "experiments/try_parse.py": EXPERIMENT,
    "docs/conf.py": DOCS_CONF,
    "pyproject.toml": '[project]\nname = "ledger"\nversion = "0.1"\n',
}

# Faults: (file, exact old text, new text); each makes some tests fail with only the test (or also the
# package) in the traceback.
WRONG_VALUE = ("ledger/parsing.py", "cents += int(frac) * 10", "cents += int(frac)")  # "10.5" -> 1005 cents
WRONG_SEPARATOR = ("ledger/parsing.py", 'text.partition(".")', 'text.partition(",")')  # logged, then asserted
OFF_BY_ONE = ("ledger/accounts.py", "rows[len(rows) - 1]", "rows[len(rows)]")  # IndexError in the package


def make_library(root: Path, fault: tuple[str, str, str], *, commit_subject: str = "Tidy up") -> Path:
    """The library, committed clean, then ``fault`` applied in a second commit with a neutral subject."""
    write_files(root, FILES)
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "baseline")
    path, old, new = fault
    text = (root / path).read_text(encoding="utf-8")
    assert old in text, f"fault text not in {path}"
    (root / path).write_text(text.replace(old, new, 1), encoding="utf-8")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", commit_subject)
    return root


def run_library(root: Path, settings: Settings | None = None) -> TestRun:
    """The library's tests, run for real."""
    return run_tests(root, ["tests"], settings or LIBRARY)
