"""The system's Chromium and chromedriver, which the browser tests drive."""

from __future__ import annotations

import shutil


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
