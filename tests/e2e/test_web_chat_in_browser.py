"""The web chat in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`,
through Selenium; no browser is downloaded) against the servers `make run` starts.

A buyer files a complaint with a photo by clicking and typing; QC takes it and verifies it with
the buttons (the edited message's new buttons press); the other buyer, open in a second window,
sees the suspend notice arrive live; moving the demo clock brings the overdue alert for the
disposition opinion; the ledger downloads and opens with openpyxl. The two walks the README
gives a newcomer run here too: a complaint verified conforming without a visit, the hold lifted
by the warehouse's button, the opinion recorded and the complaint closed; and a patrol with an
abnormal check and an out-of-range reading, its note and photo, an urgent defect the vendor
acknowledges (an alert) and marks repaired with an album of photos, and the technician's
acceptance closing it. Those walks read the bot's English, so their deployment speaks English;
the demo people otherwise speak the deployment's default language, 繁體中文: the first words to
them are Chinese, and the page's own words follow the chosen person's language. At a phone's
width the people are a drawer, the chat takes the screen and the page never scrolls sideways.
A screenshot of every step is kept under test-output/web-chat/.

Without Chromium and its driver these tests are skipped, with the reason in the summary; with
REQUIRE_BROWSER=1 (CI) a missing browser fails them instead.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium.common.exceptions import StaleElementReferenceException

from tests.support.browsers import chromium_or_skip

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "web-chat"
NUMBER = re.compile(r"QC-\d{4}-\d{5}")
WAIT = 20.0
T = TypeVar("T")
DESKTOP = (1366, 850)
PHONE = (390, 844)
# the walks that read the bot's English run on a deployment whose default language is English
in_english = pytest.mark.parametrize("demo_language", ["en"])


@pytest.fixture(scope="module")
def browser_paths() -> tuple[str, str]:
    return chromium_or_skip()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def demo_language() -> str:
    """The deployment's DEFAULT_LANGUAGE, which the demo people speak."""
    return "zh-Hant"


@pytest.fixture
def demo(tmp_path: Path, browser_paths: tuple[str, str], demo_language: str) -> Iterator[str]:
    """`make run` without a token (`python -m bot`) on a database of its own; its web address."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        EMULATOR_PORT=str(port),
        LOG_LEVEL="WARNING",
        TIMEZONE="Asia/Shanghai",
        DEFAULT_LANGUAGE=demo_language,
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


@dataclass(frozen=True)
class Shown:
    """A bot message as the page showed it: its text, its buttons' labels, its images."""

    text: str
    buttons: list[str]
    images: int


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
        """Every bubble's text; looked at again when the chat re-renders during the look."""
        for _ in range(20):
            try:
                return [m.text for m in self.css(".msg .bubble")]
            except Exception:
                time.sleep(0.1)
        return []

    def load(self, address: str) -> None:
        """Open the web chat and wait for the demo people."""
        self.driver.get(address)
        self.wait(lambda: len(self.css("#people li")) >= 20, "the demo people")

    def open_person(self, starts: str) -> None:
        def click() -> bool:
            for name in self.css("#people li .name"):
                if name.text.startswith(starts):
                    name.click()
                    return True
            return False

        self.wait(click, f"a person called {starts!r}")
        self.wait(lambda: self.css("#chat-title")[0].text.startswith(starts), "the chat to open")

    def bot_message(self, contains: str) -> Shown:
        """The latest message from the bot containing `contains`, once it is there, as it was
        shown then (the chat re-renders as messages arrive, so elements do not outlive a look)."""

        def find() -> Shown | None:
            found = [m for m in self.css(".msg.bot") if contains in m.text]
            if not found:
                return None
            message = found[-1]
            return Shown(
                text=message.text,
                buttons=[
                    b.text for b in message.find_elements("css selector", "button.inline-btn")
                ],
                images=len(message.find_elements("css selector", ".photos img")),
            )

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

    def click_command(self, command: str) -> Callable[[], bool]:
        """A click on the offered command, to be retried by `wait`: the menu re-renders on every
        key typed, so the element found a moment ago may be gone."""

        def click() -> bool:
            for line in self.css("#commands .command"):
                if line.get_attribute("data-command") == command:
                    line.click()
                    return True
            return False

        return click

    def type(self, text: str) -> None:
        from selenium.webdriver.common.keys import Keys

        field = self.css("#text")[0]
        field.send_keys(text)
        field.send_keys(Keys.ENTER)

    def send_photos(self, *paths: Path) -> None:
        """Attach photos (several at once make an album) and wait for the bot's receipt."""
        sent = len(self.css(".msg.me .photos"))
        self.css("#photo-input")[0].send_keys("\n".join(str(p) for p in paths))
        self.wait(lambda: len(self.css(".msg.me .photos")) > sent, "the photos in the chat")
        self.bot_message("Photo received")

    def toast(self) -> str:
        return self.wait(
            lambda: (t := self.css("#toast")[0]).is_displayed() and t.text, "the press's answer"
        )

    def words(self) -> dict[str, str]:
        """The page's own words as shown: labels, buttons, placeholders and tooltips."""
        return self.driver.execute_script(
            """
            const shown = (id) => document.getElementById(id);
            return {
              lang: document.documentElement.lang,
              title: document.title,
              banner: document.querySelector('#banner strong').textContent,
              people: document.querySelector('#people-pane h2').textContent,
              add: document.querySelector('#add-person h3').textContent,
              name: shown('new-name').placeholder,
              add_button: shown('add-person-button').textContent,
              hint: shown('add-hint').textContent,
              drawer: shown('people-open').textContent,
              demo_time: document.querySelector('#clock > span').textContent,
              clock: shown('clock-now').textContent,
              hour: shown('advance-hour').textContent,
              day: shown('advance-day').textContent,
              go: shown('advance-to').textContent,
              photo: document.querySelector('label.attach span').textContent,
              photo_tip: document.querySelector('label.attach').title,
              file: document.querySelectorAll('label.attach span')[1].textContent,
              location: shown('location-button').textContent,
              caption: shown('caption').placeholder,
              message: shown('text').placeholder,
              send: shown('send').textContent,
            };
            """
        )

    def scrolls_sideways(self) -> bool:
        return self.driver.execute_script(
            "const { scrollWidth, clientWidth } = document.scrollingElement;"
            " return scrollWidth > clientWidth;"
        )

    def on_screen(self, selector: str) -> bool:
        """Shown, and wholly inside the window."""
        element = self.css(selector)[0]
        return element.is_displayed() and self.driver.execute_script(
            "const box = arguments[0].getBoundingClientRect();"
            "return box.left >= 0 && box.top >= 0 && box.width > 0"
            " && box.right <= innerWidth && box.bottom <= innerHeight;",
            element,
        )

    def choose_person_in_drawer(self, starts: str) -> None:
        """At a phone's width: open the people drawer, choose a person; it closes."""
        self.css("#people-open")[0].click()
        self.wait(lambda: self.on_screen("#people-pane"), "the drawer to open")
        self.open_person(starts)
        self.wait(lambda: not self.css("#people-pane")[0].is_displayed(), "the drawer to close")

    def failed_loads(self) -> list[str]:
        """What the browser's console says failed to load (a 404 favicon, say)."""
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if "Failed to load resource" in entry["message"]
        ]


@pytest.fixture
def browser(browser_paths: tuple[str, str], tmp_path: Path) -> Iterator[Callable[..., Page]]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = browser_paths
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    drivers = []

    def open_window(name: str, size: tuple[int, int] = DESKTOP) -> Page:
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            f"--window-size={size[0]},{size[1]}",
            "--lang=en-US",
        ):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # failed loads too
        options.add_experimental_option(
            "prefs",
            {"download.default_directory": str(downloads), "download.prompt_for_download": False},
        )
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
        # the page's own size: a headless window is never narrower than 500 px
        width, height = size
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 760},
        )
        driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
        )
        drivers.append(driver)
        return Page(driver, downloads, name)

    yield open_window
    for driver in drivers:
        driver.quit()


def _photo(tmp_path: Path, what: str = "a leaking syringe", colour: str = "#a33") -> Path:
    """A real PNG to attach (a QR code: segno writes PNGs without an imaging library)."""
    import segno

    path = tmp_path / f"{what.replace(' ', '-')}.png"
    segno.make(what, error="h").save(path, kind="png", scale=12, dark=colour)
    return path


@in_english
def test_a_complaint_from_intake_to_overdue_opinion_and_ledger_in_the_browser(
    demo: str, browser: Callable[[str], Page], tmp_path: Path
) -> None:
    page = browser("main")
    page.driver.get(demo)
    # the page's words come from words.json, fetched once the page has loaded
    page.wait(lambda: "Local emulator, not Telegram" in page.css("#banner")[0].text, "the banner")
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
    offered = page.wait(
        lambda: [c.get_attribute("data-command") for c in page.css("#commands .command")],
        "the command menu",
    )
    assert offered == ["complain"]
    page.shot("commands-offered")
    page.wait(page.click_command("complain"), "the offered command to take a click")
    page.bot_message("Which product")
    page.press("P-1001 一次性使用無菌注射器 5ml")
    page.press("L20260301")
    page.bot_message("How many units are affected?")
    page.type("12")
    page.bot_message("What is wrong?")
    page.type("Plungers stick; 12 syringes leak at the tip.")
    page.bot_message("Send photos of the problem")
    page.send_photos(_photo(tmp_path), _photo(tmp_path, "a cracked barrel", "#262"))  # an album
    assert "Photo received (2 photos so far)" in page.bot_message("2 photos so far").text
    page.press("Done")
    page.bot_message("Photos: 2")
    page.press("Submit")
    filed = page.bot_message("received:")
    number = NUMBER.search(filed.text).group()
    page.shot("buyer-filed")

    # QC takes it; the message is edited in place and its new buttons press
    page.open_person("Qiu Quality")
    page.bot_message(f"New quality complaint {number}")
    # the buyer's photos follow the notice as one album: one bubble, both pictures
    album = page.wait(lambda: page.css(".msg.bot .photos[data-album]"), "the buyer's album")
    assert len(album[-1].find_elements("css selector", "img")) == 2
    page.shot("qc-album")
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
    page.bot_message(f"Verify {number} nonconforming?")
    page.press("Confirm nonconforming")
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
    # alone or in a digest with the complaint's other deadlines, it names the complaint
    overdue = page.bot_message("): disposition opinion")
    page.shot("opinion-overdue")
    assert number in overdue.text and "overdue" in overdue.text.lower()

    # the ledger downloads and opens
    page.type("/ledger")

    def click_ledger() -> str | None:
        # notifications keep arriving and re-render the list: a link may go stale under us
        # (the scheduler's first start also makes up last quarter's report: another document)
        try:
            links = [
                link
                for link in page.css(".msg.bot a.document")
                if (link.get_attribute("download") or "").startswith("complaint-ledger-")
            ]
            if not links:
                return None
            name = links[-1].get_attribute("download")
            links[-1].click()
            return name
        except StaleElementReferenceException:
            return None

    file_name = page.wait(click_ledger, "the ledger file")
    assert file_name.endswith(".xlsx")
    downloaded = page.downloads / file_name
    page.wait(lambda: downloaded.is_file() and downloaded.stat().st_size > 0, "the download")
    page.shot("ledger")

    import openpyxl

    workbook = openpyxl.load_workbook(downloaded)
    cells = [str(cell.value) for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert number in cells


def _file_without_photo(page: Page) -> str:
    """As the buyer, file a complaint about torn packaging with no photo; its number."""
    page.open_person("Chen Customer")
    page.type("/complain")
    page.press("P-1001 一次性使用無菌注射器 5ml")
    page.press("L20260301")
    page.bot_message("How many units are affected?")
    page.type("3")
    page.bot_message("What is wrong?")
    page.type("Three boxes arrived with torn outer packaging.")
    page.bot_message("Send photos of the problem")
    page.press("Skip")
    page.bot_message("Photos: 0")
    page.press("Submit")
    return NUMBER.search(page.bot_message("received:").text).group()


def _verify_conforming_without_visit(page: Page, number: str) -> None:
    """As QC, take the complaint and record that no visit is needed: conforming."""
    page.open_person("Qiu Quality")
    page.press("Take", in_message=number)
    page.press("Record verification", in_message=f"You have taken {number}")
    page.press("No visit needed")
    page.bot_message("Send why no on-site verification is needed")
    page.type("Photos of the outer cartons suffice: the inner packs are sealed.")
    page.press("Conforming")
    page.bot_message(f"{number} verified conforming")


@in_english
def test_a_conforming_complaint_from_intake_to_lifted_hold_and_closed_in_the_browser(
    demo: str, browser: Callable[[str], Page]
) -> None:
    page = browser("conforming")
    page.load(demo)
    number = _file_without_photo(page)

    # the warehouse is told of the hold, with no button yet
    page.open_person("Wu Warehouse")
    held = page.bot_message(f"Complaint {number} from")
    assert "Shipment hold" in held.text
    assert not held.buttons

    _verify_conforming_without_visit(page, number)
    page.shot("qc-verified-conforming")

    # the buyer may resume sales
    page.open_person("Chen Customer")
    resume = page.bot_message(f"Complaint {number}: 一次性使用無菌注射器 5ml")
    assert "You may resume selling it." in resume.text

    # the warehouse lifts the hold with its button; the message is edited in place
    page.open_person("Wu Warehouse")
    page.bot_message("Lift the shipment hold by")
    page.press("Hold lifted", in_message=number)
    page.bot_message(f"Lift the shipment hold of {number}?")
    page.press("Lift the hold", in_message=number)
    lifted = page.bot_message(f"lifted ({number})")
    assert not lifted.buttons
    assert "edited" in lifted.text
    page.shot("warehouse-lifted")

    # QC hears of it, records the opinion, and the complaint closes
    page.open_person("Qiu Quality")
    page.bot_message(f"Complaint {number}: the shipment hold on")
    page.type(f"/ticket {number}")
    ticket = page.bot_message(f"{number} — verified conforming")
    assert "lifted" in ticket.text
    page.press("Disposition opinion", in_message=f"You have taken {number}")
    page.bot_message(f"{number}: send the disposition opinion")
    page.type("Repack the three boxes; no product defect found.")
    page.bot_message("Send the corrective action decided")
    page.press("Skip")
    page.bot_message(f"The disposition opinion on {number} was recorded")
    page.type(f"/ticket {number}")
    closed = page.bot_message(f"{number} — closed")
    assert "Disposition opinion (Qiu Quality" in closed.text
    assert "on-site verification: due" in closed.text and "waived" in closed.text
    assert "lifting the shipment hold: due" in closed.text
    page.shot("qc-closed")

    # the buyer receives the opinion
    page.open_person("Chen Customer")
    page.bot_message(f"Our disposition opinion on complaint {number}")


@in_english
def test_only_the_warehouse_is_offered_the_hold_lifted_button(
    demo: str, browser: Callable[[str], Page]
) -> None:
    page = browser("lift-button")
    page.load(demo)
    number = _file_without_photo(page)
    _verify_conforming_without_visit(page, number)

    page.open_person("Bai Business Head")
    told = page.bot_message("Lift the shipment hold by")
    assert number in told.text
    page.shot("business-head-told")
    assert told.buttons == []


DEFECT = re.compile(r"DF-\d{4}-\d{5}")


@in_english
def test_a_patrol_from_abnormal_reading_to_verified_repair_in_the_browser(
    demo: str, browser: Callable[[str], Page], tmp_path: Path
) -> None:
    page = browser("patrol")
    page.load(demo)
    photo = _photo(tmp_path, "a door roller worn", "#335")

    # the technician patrols the elevator: the door is abnormal, the levelling out of range
    page.open_person("Tang Technician")
    page.type("/patrol")
    page.press("EL-01 1號客梯")
    page.bot_message("Patrol of EL-01 1號客梯")
    page.press("Abnormal", in_message="1/4 門機開關順暢、無異響")
    page.bot_message("門機開關順暢、無異響: Abnormal")
    page.bot_message("2/4 平層準確（誤差）: send the reading in mm (normal 0–10)")
    page.type("14")
    page.bot_message("14 mm is outside the normal range 0–10")
    page.press("OK", in_message="3/4 轎廂警鈴及對講正常")
    page.bot_message("4/4 機房溫度")
    page.type("26")
    page.bot_message("Any note on this patrol?")
    page.type("The car stops 14 mm above the floor; the door grinds.")
    page.bot_message("Something is abnormal: send at least one photo")
    page.send_photos(photo)
    page.press("Done")
    page.press("Urgent (24 h)")  # the elevator contract's repair hours
    recorded = page.bot_message("Patrol of EL-01 recorded. Defect")
    number = DEFECT.search(recorded.text).group()
    page.shot("technician-recorded")

    # the vendor acknowledges (an alert), then marks it repaired with a note and two photos
    page.open_person("Sun Vendor")
    reported = page.bot_message(f"Defect {number} on EL-01")
    assert "The car stops 14 mm above the floor" in reported.text
    assert "Urgency: urgent" in reported.text
    page.press("Acknowledge", in_message=f"Defect {number}")
    alert = page.wait(lambda: page.css("#alert")[0].is_displayed(), "the alert")
    assert alert
    assert page.css("#alert-text")[0].text == f"Defect {number} acknowledged."
    page.shot("vendor-acknowledged")
    page.css("#alert-ok")[0].click()
    page.press("Repaired", in_message=f"Defect {number}")
    page.bot_message(f"{number}: what was repaired?")
    page.type("Re-levelled the car and replaced the door roller.")
    page.bot_message("Send photos of the repair")
    page.send_photos(photo, _photo(tmp_path, "re-levelled", "#262"))  # an album
    assert len(page.css(".msg.me .photos[data-album] img")) == 2
    page.press("Done")
    page.bot_message(f"Defect {number} marked repaired")
    page.shot("vendor-repaired")

    # the technician accepts the repair; the defect is closed
    page.open_person("Tang Technician")
    check = page.bot_message(f"Defect {number} on EL-01 1號客梯 was repaired")
    assert "Re-levelled the car" in check.text
    assert check.images
    page.press("Accept repair", in_message=f"Defect {number}")
    page.bot_message(f"Repair of {number} accepted; the defect is closed.")
    page.type(f"/defect {number}")
    shown = page.bot_message(f"{number} — closed")
    assert "Repaired" in shown.text and "Re-levelled the car" in shown.text
    page.shot("technician-closed")


ZH_HANT_WORDS = {
    "lang": "zh-Hant",
    "title": "本機Bot API模擬器·網頁聊天（不是Telegram）",
    "banner": "本機模擬器，不是Telegram。",
    "people": "人員",
    "add": "新增人員",
    "name": "姓名",
    "add_button": "新增",
    "hint": "再以管理員身份發送/invite 角色，然後以此人身份開啟回覆中的邀請鏈接。",
    "drawer": "人員",
    "demo_time": "示範時間",
    "hour": "+1小時",
    "day": "+1天",
    "go": "撥到",
    "photo": "照片",
    "photo_tip": "發送照片（多張會成為一個相冊）",
    "file": "文件",
    "location": "位置",
    "caption": "說明",
    "message": "消息（輸入/可選擇命令）",
    "send": "發送",
}
EN_WORDS = {
    "lang": "en",
    "banner": "Local emulator, not Telegram.",
    "people": "People",
    "add": "Add a person",
    "demo_time": "Demo time",
    "hour": "+1 hour",
    "photo": "Photo",
    "photo_tip": "Send photos (several make an album)",
    "file": "File",
    "location": "Location",
    "caption": "caption",
    "message": "Message (type / for the commands)",
    "send": "Send",
}
ZH_HANS_WORDS = {"lang": "zh-Hans", "people": "人员", "demo_time": "演示时间", "send": "发送"}


def _words_shown(page: Page, expected: dict[str, str]) -> dict[str, str]:
    """The page's words for each key of `expected`, once they are those (they change with the
    state the page refreshes)."""

    def shown() -> dict[str, str] | None:
        words = page.words()
        picked = {key: words[key] for key in expected}
        return picked if picked == expected else None

    try:
        return page.wait(shown, f"the page's words {expected}", timeout=5)
    except AssertionError:
        words = page.words()
        assert {key: words[key] for key in expected} == expected
        raise


def _add_person(page: Page, name: str, language: str) -> None:
    from selenium.webdriver.support.select import Select

    page.css("#new-name")[0].send_keys(name)
    Select(page.css("#new-language")[0]).select_by_value(language)
    page.css("#add-person-button")[0].click()
    page.wait(lambda: page.css("#chat-title")[0].text == name, f"{name}'s chat")


def test_the_demo_speaks_traditional_chinese_and_the_page_the_chosen_persons_language(
    demo: str, browser: Callable[[str], Page], tmp_path: Path
) -> None:
    page = browser("zh-hant")
    page.load(demo)
    # before anyone is chosen, the deployment's language: the demo people's
    _words_shown(page, ZH_HANT_WORDS)
    clock = page.wait(lambda: page.css("#clock-now")[0].text, "the demo time")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d（週[一二三四五六日]）\d\d:\d\d（Asia/Shanghai）", clock)
    assert page.css("#new-language")[0].get_attribute("value") == "zh-hant"
    # at a desktop's width the layout is as it was: the people on the left, no drawer button
    assert page.css("#people-pane")[0].rect["width"] == 280
    assert page.on_screen("#people-pane") and not page.css("#people-open")[0].is_displayed()
    assert page.on_screen("#text") and not page.scrolls_sideways()

    # the first words to a demo person are Chinese: the bot's answer to the demo's /start
    page.open_person("Chen Customer")
    first = page.wait(lambda: [m.text for m in page.css(".msg.bot .bubble")], "the bot's words")[0]
    assert first.startswith("Chen Customer (C001, local buyer)，您好。您的身份：客戶（購貨單位）。")
    assert "您可以使用的命令：" in first

    # a complaint in 繁體中文, by clicking and typing
    page.type("/complain")
    page.bot_message("投訴哪個產品？")
    page.press("P-1001 一次性使用無菌注射器 5ml")
    page.bot_message("哪個批號？")
    page.press("L20260301")
    page.bot_message("涉及數量")
    page.type("12")
    page.bot_message("出現什麼問題？")
    page.type("柱塞卡滯，12支針頭處漏液。")
    page.bot_message("請發送問題照片")
    page.css("#photo-input")[0].send_keys(str(_photo(tmp_path)))
    page.bot_message("已收到照片（共1張）")
    page.press("完成")
    page.bot_message("請確認您的投訴")
    page.press("提交")
    filed = page.bot_message("已收到投訴")
    number = NUMBER.search(filed.text).group()
    page.shot("buyer-filed")  # docs/webchat-buyer.png

    page.open_person("Qiu Quality")
    page.bot_message(f"新的質量投訴{number}")
    page.press("受理", in_message=number)
    page.bot_message(number)
    page.shot("qc-took")  # docs/webchat-qc.png

    # a person who speaks English: the page's words switch; back to a demo person, back again
    _add_person(page, "Nina Newcomer", "en")
    _words_shown(page, EN_WORDS)
    # the newcomer has no messages yet: the page says so in English
    assert page.css("#messages .system")[0].text == "No messages yet. Type /start to begin."
    assert re.fullmatch(
        r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) .* \(Asia/Shanghai\)", page.words()["clock"]
    )
    page.shot("english-person")
    _add_person(page, "Li Xiaoming", "zh-hans")
    _words_shown(page, ZH_HANS_WORDS)
    page.open_person("Chen Customer")
    _words_shown(page, ZH_HANT_WORDS)


def test_at_a_phones_width_the_people_are_a_drawer_and_the_chat_takes_the_screen(
    demo: str, browser: Callable[..., Page]
) -> None:
    page = browser("phone", PHONE)
    page.load(demo)
    assert page.driver.execute_script("return innerWidth") == PHONE[0]
    _words_shown(page, ZH_HANT_WORDS)
    # the chat takes the screen; the people wait behind the header's button
    assert not page.css("#people-pane")[0].is_displayed()
    assert page.on_screen("#people-open") and page.on_screen("#text")
    assert page.css("#chat-pane")[0].rect["width"] == PHONE[0]
    assert not page.scrolls_sideways()

    page.css("#people-open")[0].click()
    page.wait(lambda: page.on_screen("#people-pane"), "the drawer to open")
    page.shot("people-drawer")  # docs/webchat-phone-people.png
    # a tap beside the drawer (at the window's right edge) closes it
    from selenium.webdriver.common.action_chains import ActionChains

    backdrop = page.css("#drawer-backdrop")[0]
    ActionChains(page.driver).move_to_element_with_offset(
        backdrop, PHONE[0] // 2 - 10, 0
    ).click().perform()
    page.wait(lambda: not page.css("#people-pane")[0].is_displayed(), "the drawer to close")

    page.choose_person_in_drawer("Chen Customer")
    assert page.css("#chat-title")[0].text.startswith("Chen Customer")
    page.bot_message("您好。您的身份：客戶（購貨單位）")
    page.type("/complain")
    page.press("P-1001 一次性使用無菌注射器 5ml")
    page.press("L20260301")
    page.type("3")
    page.bot_message("出現什麼問題？")
    page.type("三箱外包裝破損，內包裝完好。")
    page.bot_message("請發送問題照片")
    page.press("略過")
    summary = page.bot_message("請確認您的投訴")
    assert summary.buttons == ["提交", "取消"]
    # long messages, their buttons and the two-line composer all fit the phone's width
    assert not page.scrolls_sideways()
    assert page.on_screen("#text") and page.on_screen("#send") and page.on_screen("#people-open")
    page.shot("buyer-summary")  # docs/webchat-phone.png

    # the browser's own favicon request, and the address anyone may ask, are answered
    import urllib.request

    with urllib.request.urlopen(demo + "favicon.ico") as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"] == "image/svg+xml"
        assert answer.read().startswith(b"<svg")
    assert page.failed_loads() == []
