"""The system's Chromium and chromedriver, which the browser tests drive."""

from __future__ import annotations

import os
import shutil

import pytest


def chromium_paths() -> tuple[str, str] | str:
    """(chromium, chromedriver), or why they cannot be used."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (make test installs it)"
    browser = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
    )
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        return (
            "no system Chromium and chromedriver "
            "(apt-get install chromium chromium-driver to run the browser tests)"
        )
    return browser, driver


def chromium_or_skip() -> tuple[str, str]:
    """(chromium, chromedriver); without them the test is skipped, or fails where
    REQUIRE_BROWSER=1 (CI) says a browser must be there."""
    found = chromium_paths()
    if isinstance(found, str):
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {found}")
        pytest.skip(found)
    return found
