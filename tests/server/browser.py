"""A real headless Chromium (Debian's ``chromium`` + ``chromium-driver``) driven by Selenium, for the page tests.

``browser()`` skips the test, saying why, when Selenium, Chromium or its driver is missing (``.ci/run`` installs
them where apt-get works). Screenshots go to ``$FIXLOOP_ARTIFACTS`` (or the test's tmp folder) and their paths are
printed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
DRIVER = "chromedriver"


def artifacts_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("FIXLOOP_ARTIFACTS") or tmp_path / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(driver: Any, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 1000, f"empty screenshot {path}"
    print(f"\nscreenshot: {path}")
    return path


@contextmanager
def browser() -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("browser tests need selenium (pip install 'fixloop[test]')")
    binary = next((found for name in CHROMIUM if (found := shutil.which(name))), None)
    driver_path = shutil.which(DRIVER)
    if binary is None or driver_path is None:
        pytest.skip("browser tests need Chromium and its driver: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    flags = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,2000")
    for arg in flags:
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
