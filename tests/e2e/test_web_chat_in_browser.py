"""The web chat in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`,
through Selenium; no browser is downloaded) against the servers `make run` starts.

A buyer files a complaint with a photo by clicking and typing; QC takes it and verifies it with
the buttons (the edited message's new buttons press); the other buyer, open in a second window,
sees the suspend notice arrive live; moving the demo clock brings the overdue alert for the
disposition opinion; the ledger downloads and opens with openpyxl. A screenshot of every step
is kept under test-output/web-chat/.

Without Chromium and its driver these tests are skipped, with the reason in the summary; with
REQUIRE_BROWSER=1 (CI) a missing browser fails them instead.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium.common.exceptions import StaleElementReferenceException

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "web-chat"
NUMBER = re.compile(r"QC-\d{4}-\d{5}")
WAIT = 20.0
T = TypeVar("T")


def _browser_paths() -> tuple[str, str] | str:
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


@pytest.fixture(scope="module")
def browser_paths() -> tuple[str, str]:
    found = _browser_paths()
    if isinstance(found, str):
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {found}")
        pytest.skip(found)
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def demo(tmp_path: Path, browser_paths: tuple[str, str]) -> Iterator[str]:
    """`make run` without a token (`python -m bot`) on a database of its own; its web address."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        EMULATOR_PORT=str(port),
        LOG_LEVEL="WARNING",
        TIMEZONE="Asia/Shanghai",
        DEFAULT_LANGUAGE="zh-Hant",
    )
    log = (tmp_path / "bot.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, stdout=log, stderr=log
    )
    try:
        address = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while "Web chat: " + address not in (tmp_path / "bot.log").read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp_path / "bot.log").read_text())
            time.sleep(0.2)
        yield address
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


class Page:
    """One browser window on the web chat, with the few gestures a person makes."""

    def __init__(self, driver: Any, downloads: Path, name: str) -> None:
        self.driver = driver
        self.downloads = downloads
        self.name = name
        self.step = 0

    def wait(self, condition: Callable[[], T | None], what: str, timeout: float = WAIT) -> T:
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

        end = time.monotonic() + timeout
        while True:
            try:
                result = condition()
                if result:
                    return result
            except (StaleElementReferenceException, WebDriverException):
                pass  # the chat re-rendered under us: look again
            if time.monotonic() > end:
                self.shot("timeout")
                texts = self.texts()[-4:]
                raise AssertionError(f"waited for {what}; the chat shows {texts}")
            time.sleep(0.1)

    def shot(self, label: str) -> Path:
        self.step += 1
        OUTPUT.mkdir(parents=True, exist_ok=True)
        path = OUTPUT / f"{self.name}-{self.step:02d}-{label}.png"
        self.driver.save_screenshot(str(path))
        return path

    def css(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def texts(self) -> list[str]:
        try:
            return [m.text for m in self.css(".msg .bubble")]
        except Exception:
            return []

    def open_person(self, starts: str) -> None:
        def click() -> bool:
            for name in self.css("#people li .name"):
                if name.text.startswith(starts):
                    name.click()
                    return True
            return False

        self.wait(click, f"a person called {starts!r}")
        self.wait(lambda: self.css("#chat-title")[0].text.startswith(starts), "the chat to open")

    def bot_message(self, contains: str) -> Any:
        """The latest message from the bot containing `contains`, once it is there."""

        def find() -> Any:
            found = [m for m in self.css(".msg.bot") if contains in m.text]
            return found[-1] if found else None

        return self.wait(find, f"a bot message containing {contains!r}")

    def press(self, label: str, in_message: str | None = None) -> None:
        """Press the button `label` under the latest bot message (containing `in_message`)."""

        def click() -> bool:
            messages = self.css(".msg.bot")
            for message in reversed(messages):
                if in_message is not None and in_message not in message.text:
                    continue
                for button in message.find_elements("css selector", "button.inline-btn"):
                    if button.text == label and button.is_enabled():
                        button.click()
                        return True
            return False

        self.wait(click, f"a button {label!r}")

    def type(self, text: str) -> None:
        from selenium.webdriver.common.keys import Keys

        field = self.css("#text")[0]
        field.send_keys(text)
        field.send_keys(Keys.ENTER)

    def toast(self) -> str:
        return self.wait(
            lambda: (t := self.css("#toast")[0]).is_displayed() and t.text, "the press's answer"
        )


@pytest.fixture
def browser(browser_paths: tuple[str, str], tmp_path: Path) -> Iterator[Callable[[str], Page]]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = browser_paths
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    drivers = []

    def open_window(name: str) -> Page:
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1280,860",
            "--lang=en-US",
        ):
            options.add_argument(argument)
        options.add_experimental_option(
            "prefs",
            {"download.default_directory": str(downloads), "download.prompt_for_download": False},
        )
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
        driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
        )
        drivers.append(driver)
        return Page(driver, downloads, name)

    yield open_window
    for driver in drivers:
        driver.quit()


def _photo(tmp_path: Path) -> Path:
    """A real PNG to attach (a QR code: segno writes PNGs without an imaging library)."""
    import segno

    path = tmp_path / "leaking-syringe.png"
    segno.make("a leaking syringe", error="h").save(path, kind="png", scale=12, dark="#a33")
    return path


def test_a_complaint_from_intake_to_overdue_opinion_and_ledger_in_the_browser(
    demo: str, browser: Callable[[str], Page], tmp_path: Path
) -> None:
    page = browser("main")
    page.driver.get(demo)
    assert "Local emulator, not Telegram" in page.css("#banner")[0].text
    page.wait(lambda: len(page.css("#people li")) >= 20, "the demo people")
    clock_text = page.wait(lambda: page.css("#clock-now")[0].text, "the demo time")
    filed_at = dt.datetime.strptime(clock_text.split(" (")[0][4:], "%Y-%m-%d %H:%M")

    # the other buyer, in a window of their own that is never reloaded
    other = browser("other-buyer")
    other.driver.get(demo)
    other.open_person("Wang Customer")
    other.bot_message("You are registered as")

    # the buyer files a complaint with a photo, by clicking and typing
    page.open_person("Chen Customer")
    page.bot_message("You are registered as")
    page.css("#text")[0].send_keys("/comp")
    offered = page.wait(lambda: page.css("#commands .command"), "the command menu")
    assert [c.get_attribute("data-command") for c in offered] == ["complain"]
    page.shot("commands-offered")
    offered[0].click()
    page.bot_message("Which product")
    page.press("P-1001 一次性使用無菌注射器 5ml")
    page.press("L20260301")
    page.bot_message("How many units are affected?")
    page.type("12")
    page.bot_message("What is wrong?")
    page.type("Plungers stick; 12 syringes leak at the tip.")
    page.bot_message("Send photos of the problem")
    page.css("#photo-input")[0].send_keys(str(_photo(tmp_path)))
    page.bot_message("Photo received (1 photo so far)")
    page.wait(lambda: page.css(".msg.me .photos img"), "the photo in the chat")
    page.press("Done")
    page.bot_message("Photos: 1")
    page.press("Submit")
    filed = page.bot_message("received:")
    number = NUMBER.search(filed.text).group()
    page.shot("buyer-filed")

    # QC takes it; the message is edited in place and its new buttons press
    page.open_person("Qiu Quality")
    page.bot_message(f"New quality complaint {number}")
    page.press("Take", in_message=number)
    page.bot_message(f"You have taken {number}")
    assert not [m for m in page.css(".msg.bot") if f"New quality complaint {number}" in m.text]
    page.press("Record verification", in_message=f"You have taken {number}")
    page.press("On-site verification")
    page.bot_message("Send the verification notes")
    page.type("Visited the buyer: 12 of 200 leak; seal ring undersized.")
    page.bot_message("Send photos from the verification")
    page.press("Skip")
    page.press("Nonconforming")
    page.bot_message("verified nonconforming")
    page.shot("qc-verified")

    # the other buyer's window shows the notice without a reload
    notice = other.bot_message("Quality notice: please suspend sales")
    assert "一次性使用無菌注射器 5ml" in notice.text
    other.shot("suspend-notice-live")

    # the demo clock: a day, then to the third day after filing: the opinion is overdue
    page.css("#advance-day")[0].click()
    page.wait(lambda: page.css("#clock-busy")[0].is_displayed() is False, "the advance")
    target = filed_at + dt.timedelta(days=3, minutes=2)
    page.driver.execute_script(
        "document.getElementById('advance-date').value = arguments[0];",
        target.strftime("%Y-%m-%dT%H:%M"),
    )
    page.css("#advance-to")[0].click()
    page.wait(
        lambda: page.css("#clock-now")[0].text.startswith(target.strftime("%a %Y-%m-%d %H:%M")),
        "the clock to show the new time",
    )
    overdue = page.bot_message(f"OVERDUE: disposition opinion for {number}")
    assert "Reminder: disposition opinion for " + number in "\n".join(page.texts())
    page.shot("opinion-overdue")
    assert overdue.is_displayed()

    # the ledger downloads and opens
    page.type("/ledger")

    def click_ledger() -> str | None:
        # notifications keep arriving and re-render the list: a link may go stale under us
        try:
            links = page.css(".msg.bot a.document")
            if not links:
                return None
            name = links[-1].get_attribute("download")
            links[-1].click()
            return name
        except StaleElementReferenceException:
            return None

    file_name = page.wait(click_ledger, "the ledger file")
    assert file_name.startswith("complaint-ledger-") and file_name.endswith(".xlsx")
    downloaded = page.downloads / file_name
    page.wait(lambda: downloaded.is_file() and downloaded.stat().st_size > 0, "the download")
    page.shot("ledger")

    import openpyxl

    workbook = openpyxl.load_workbook(downloaded)
    cells = [str(cell.value) for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert number in cells
