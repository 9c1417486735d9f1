"""The Mini App's page in a real browser (headless Chromium through Selenium, as the web chat's
browser tests run it) against the fixture server's canned answers (tests/support/miniapp_fixture.py),
under a path prefix as behind the reverse proxy, at a phone's width.

The lists render with their count and paging, the late filter asks for late=1, search words and
the type's own filters reach the request, a record's page shows its timeline, its photos (large
on a tap) and its form (downloaded through Telegram.WebApp.downloadFile), and "open in the chat"
posts the deep link to the web chat; a description with HTML in it shows as those characters;
initData the server refuses shows the message in the three languages and nothing else; a type
the person may not read says so; each chart is one SVG with its limit line. Screenshots are kept
under test-output/miniapp/.

Without Chromium and its driver these tests are skipped; with REQUIRE_BROWSER=1 they fail.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support.browsers import chromium_or_skip
from tests.support.miniapp_fixture import (
    CHARTS,
    COMPLAINTS,
    HTML_DESCRIPTION,
    MONTH_CHOICES,
    STRANGER_ID,
    MiniAppFixture,
    launch_hash,
    start_fixture,
)

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "miniapp"
PHONE = (390, 844)
WAIT = 15.0
T = TypeVar("T")


@pytest.fixture(scope="module")
def fixture_server() -> Iterator[MiniAppFixture]:
    chromium_or_skip()
    server = start_fixture()
    yield server
    server.stop()


class MiniApp:
    """One browser window on the Mini App's page."""

    def __init__(self, driver: Any, fixture: MiniAppFixture, name: str) -> None:
        self.driver = driver
        self.fixture = fixture
        self.name = name
        self.step = 0

    def open(self, user_id: int = 1001) -> None:
        self.driver.get("about:blank")  # a new hash alone would not load the page again
        self.driver.get(self.fixture.address + launch_hash(user_id))

    def css(self, selector: str) -> list[Any]:
        return self.driver.find_elements("css selector", selector)

    def wait(self, condition: Callable[[], T | None], what: str) -> T:
        from selenium.common.exceptions import StaleElementReferenceException

        end = time.monotonic() + WAIT
        while True:
            try:
                result = condition()
                if result:
                    return result
            except StaleElementReferenceException:
                pass  # the list re-rendered under us: look again
            if time.monotonic() > end:
                self.shot("timeout")
                raise AssertionError(f"waited for {what}; the page shows {self.text()!r}")
            time.sleep(0.05)

    def text(self) -> str:
        return str(self.driver.find_element("css selector", "body").text)

    def shot(self, label: str) -> None:
        self.step += 1
        OUTPUT.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(OUTPUT / f"{self.name}-{self.step:02d}-{label}.png"))

    def cards(self) -> list[str]:
        return [card.get_attribute("data-key") for card in self.css("#cards .card")]

    def open_record(self, key: str) -> None:
        def click() -> bool:
            for card in self.css(f'#cards .card[data-key="{key}"] button'):
                card.click()
                return True
            return False

        self.wait(click, f"the card of {key}")
        self.wait(lambda: self.css(".record-head h1"), "the record's page")

    def records_asked(self) -> list[str]:
        return [path for path in self.fixture.requests if "/api/records?" in path]


@pytest.fixture
def mini_app(fixture_server: MiniAppFixture, request: pytest.FixtureRequest) -> Iterator[MiniApp]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium_or_skip()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={PHONE[0]},{PHONE[1]}",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True},
    )
    fixture_server.requests.clear()
    try:
        yield MiniApp(driver, fixture_server, request.node.name)
    finally:
        driver.quit()


def test_the_list_shows_the_first_page_of_complaints_with_their_count(mini_app: MiniApp) -> None:
    mini_app.open()
    mini_app.wait(lambda: len(mini_app.cards()) == 20, "a page of 20 complaints")
    mini_app.shot("list")
    assert mini_app.css("#count")[0].text == "共25件"
    assert [tab.text for tab in mini_app.css("#tabs .tab")][:2] == ["顧客質量投訴", "退貨"]
    late = mini_app.css("#cards .card.late")
    assert late and all("已逾期" in card.text for card in late)
    assert mini_app.css("#page-of")[0].text == "第1／2頁"
    # every request names the person by the initData the page was opened with
    assert all(path.startswith("/app/api/") for path in mini_app.fixture.requests)

    mini_app.css("#next")[0].click()
    mini_app.wait(lambda: len(mini_app.cards()) == 5, "the second page")
    assert "page=2" in mini_app.records_asked()[-1]


def test_the_late_filter_asks_for_late_records_only(mini_app: MiniApp) -> None:
    mini_app.open()
    mini_app.wait(lambda: len(mini_app.cards()) == 20, "the complaints")
    mini_app.css("#late-chip")[0].click()
    late = [complaint["key"] for complaint in COMPLAINTS if complaint["late"]]
    mini_app.wait(lambda: mini_app.cards() == late, "the late complaints only")
    mini_app.shot("late")
    assert "late=1" in mini_app.records_asked()[-1]
    assert mini_app.css("#count")[0].text == f"共{len(late)}件"
    assert len(mini_app.css("#cards .card.late")) == len(late)


def test_a_record_shows_its_timeline_photos_and_form_and_opens_in_the_chat(
    mini_app: MiniApp,
) -> None:
    mini_app.open()
    mini_app.wait(lambda: mini_app.cards(), "the complaints")
    mini_app.open_record("QC-2026-00024")
    mini_app.wait(lambda: len(mini_app.css(".timeline li")) == 5, "the timeline")
    assert "核實結果：核實不合格" in mini_app.css(".timeline")[0].text

    loaded = mini_app.wait(
        lambda: [
            image
            for image in mini_app.css(".photos img")
            if mini_app.driver.execute_script(
                "return arguments[0].complete && arguments[0].naturalWidth", image
            )
        ],
        "the photos to load",
    )
    assert len(loaded) == 2
    assert [s.text for s in mini_app.css(".deadline .state")] == [
        "已按時完成",
        "已逾期2天",
        "尚餘2天",
        "已免除",
    ]
    form = mini_app.css(".forms-part a.download")[0]
    assert form.get_attribute("download") == "QC-2026-00024.pdf"
    mini_app.shot("record")

    mini_app.css(".photos button")[1].click()
    mini_app.wait(lambda: mini_app.css("#viewer")[0].is_displayed(), "the photo, large")
    assert mini_app.css("#viewer-caption")[0].text == "針筒漏液"
    mini_app.shot("photo")
    mini_app.css("#viewer-close")[0].click()

    # the web chat's panel hears the deep link as Telegram's web clients post it
    mini_app.driver.execute_script(
        "window.posted = [];"
        "window.addEventListener('message', (event) => window.posted.push(event.data));"
    )
    mini_app.css("#open-in-chat")[0].click()
    posted = mini_app.wait(
        lambda: [
            json.loads(message)
            for message in mini_app.driver.execute_script("return window.posted")
            if "web_app_open_tg_link" in message
        ],
        "the deep link posted to the web chat",
    )
    assert posted[0]["eventData"] == {"path_full": "/after_sales_demo_bot?start=QC-2026-00024"}

    mini_app.css("#back")[0].click()
    mini_app.wait(lambda: len(mini_app.cards()) == 20, "the list again")


def test_a_description_with_html_shows_as_text(mini_app: MiniApp) -> None:
    mini_app.open()
    mini_app.wait(lambda: mini_app.cards(), "the complaints")
    card = mini_app.css('#cards .card[data-key="QC-2026-00024"] .title')[0]
    assert HTML_DESCRIPTION in card.text
    mini_app.open_record("QC-2026-00024")
    fields = mini_app.wait(lambda: mini_app.css(".fields dd"), "the fields")
    assert HTML_DESCRIPTION in [field.text for field in fields]
    # an alert would have stopped the driver's next command; no element was made from the text
    assert not mini_app.css("#record b, #cards b, img[src='x']")


def test_initdata_the_server_refuses_shows_the_message_and_nothing_else(
    mini_app: MiniApp,
) -> None:
    mini_app.open(user_id=STRANGER_ID)
    mini_app.wait(lambda: mini_app.css("#unauthorized h1"), "the message")
    mini_app.shot("refused")
    text = mini_app.text()
    assert "請從機器人的選單打開本頁" in text
    assert "请从机器人的菜单打开本页" in text
    assert "Open this page from the bot's menu" in text
    assert not mini_app.css("#app")[0].is_displayed()
    assert not any("/api/records" in path for path in mini_app.fixture.requests)


def test_each_chart_is_one_svg_with_its_limit_line(mini_app: MiniApp) -> None:
    mini_app.open()
    mini_app.wait(lambda: mini_app.cards(), "the complaints")
    mini_app.css('#tabs [data-tab="charts"]')[0].click()
    charts = CHARTS["charts"]
    mini_app.wait(lambda: len(mini_app.css("#charts svg.chart-svg")) == len(charts), "the charts")
    for chart in charts:
        figure = mini_app.css(f'.chart[data-chart="{chart["key"]}"]')[0]
        assert len(figure.find_elements("css selector", "svg")) == 1
        assert figure.find_element("css selector", "figcaption").text == chart["title"]
        limit_lines = figure.find_elements("css selector", "svg line.limit")
        assert len(limit_lines) == (0 if chart["limit"] is None else 1)
        kind = "rect.bar" if chart["kind"] == "bar" else "circle.point"
        marks = figure.find_elements("css selector", f"svg {kind}")
        assert len(marks) == sum(
            value is not None for series in chart["series"] for value in series["values"]
        )
    mini_app.css('.chart[data-chart="exchange_ratio"] rect.bar')[1].click()
    readout = mini_app.css('.chart[data-chart="exchange_ratio"] .readout')[0].text
    assert readout == "康寧醫藥有限公司·調換貨比例：6.8%"
    mini_app.shot("charts")


def test_search_words_and_the_filter_panel_reach_the_request(mini_app: MiniApp) -> None:
    mini_app.open()
    mini_app.wait(lambda: len(mini_app.cards()) == 20, "the complaints")
    mini_app.css("#q")[0].send_keys("口罩\n")
    masks = [c["key"] for c in COMPLAINTS if "口罩" in c["title"]]
    mini_app.wait(lambda: mini_app.cards() == masks, "the complaints about masks")
    assert "q=%E5%8F%A3%E7%BD%A9" in mini_app.records_asked()[-1]

    mini_app.css("#more-filters")[0].click()
    # a complaint has no vendor or asset filter: the panel offers only the type's own
    offered = [label.get_attribute("data-filter") for label in mini_app.css("#filters label")]
    shown = [name for name in offered if mini_app.css(f'[data-filter="{name}"]')[0].is_displayed()]
    assert shown == ["status", "customer", "product", "month"]
    mini_app.css('#filters input[name="customer"]')[0].send_keys("仁和")
    mini_app.css("#filters button.primary")[0].click()
    mini_app.wait(lambda: "customer=" in mini_app.records_asked()[-1], "the customer filter")
    # the count is the answer's: it shows once the filtered list has come back
    mini_app.wait(
        lambda: mini_app.css("#more-filters")[0].text == "篩選（1）", "the count of filters on"
    )


def test_a_form_downloads_through_telegram_and_a_type_not_allowed_says_so(
    mini_app: MiniApp,
) -> None:
    mini_app.open()
    mini_app.wait(lambda: mini_app.cards(), "the complaints")
    mini_app.open_record("QC-2026-00024")
    mini_app.driver.execute_script(
        "window.downloads = [];"
        "Telegram.WebApp.downloadFile = (request) => window.downloads.push(request);"
    )
    mini_app.wait(lambda: mini_app.css(".forms-part a.download"), "the form")[0].click()
    downloads = mini_app.driver.execute_script("return window.downloads")
    assert downloads == [
        {
            "url": mini_app.fixture.address + "api/forms/complaint/QC-2026-00024/record?t=tok",
            "file_name": "QC-2026-00024.pdf",
        }
    ]

    mini_app.css("#back")[0].click()
    mini_app.css('#tabs [data-tab="rectification"]')[0].click()
    mini_app.wait(lambda: "你無權查看這類記錄。" in mini_app.text(), "the refusal")


def test_a_document_downloads_by_its_name_and_the_months_are_the_servers(
    mini_app: MiniApp,
) -> None:
    mini_app.open()
    mini_app.wait(lambda: mini_app.cards(), "the complaints")
    mini_app.css("#more-filters")[0].click()
    offered = [
        (option.get_attribute("value"), option.text)
        for option in mini_app.css('#filters select[name="month"] option')
    ]
    # the months the server named on the configured zone's calendar, not the device's
    assert offered == [("", "不限月份")] + [
        (month["key"], month["name"]) for month in MONTH_CHOICES
    ]
    mini_app.css("#more-filters")[0].click()

    mini_app.open_record("QC-2026-00024")
    link = mini_app.wait(lambda: mini_app.css(".files-part a.download"), "the document")[0]
    assert (link.text, link.get_attribute("download")) == ("檢驗報告.pdf", "檢驗報告.pdf")
    assert "供貨單位檢驗報告" in mini_app.css(".files-part")[0].text
    # the report is no broken picture among the photos
    assert len(mini_app.css(".photos img")) == 2
    # opened alone in a browser, nobody else shows a back button: the page does
    assert mini_app.css("#back")[0].is_displayed()
    mini_app.shot("document")


def test_in_the_web_chats_panel_only_the_panels_back_button_shows(mini_app: MiniApp) -> None:
    driver = mini_app.driver
    driver.get(mini_app.fixture.address + "static/words.json")  # a page of the same origin
    driver.execute_script(
        "window.posted = [];"
        "window.addEventListener('message', (event) => window.posted.push(event.data));"
        "const frame = document.createElement('iframe');"
        "frame.id = 'panel'; frame.style.width = '390px'; frame.style.height = '800px';"
        "frame.src = arguments[0];"
        "document.body.replaceChildren(frame);",
        mini_app.fixture.address + launch_hash(),
    )
    driver.switch_to.frame(driver.find_element("css selector", "#panel"))
    mini_app.wait(lambda: mini_app.cards(), "the complaints in the panel")
    mini_app.open_record("QC-2026-00024")
    assert not mini_app.css("#back")[0].is_displayed()
    driver.switch_to.default_content()
    shown = mini_app.wait(
        lambda: [
            json.loads(message)["eventData"]
            for message in driver.execute_script("return window.posted")
            if "web_app_setup_back_button" in message
        ],
        "the panel's back button",
    )
    assert shown[-1] == {"is_visible": True}
    # the web chat's back button takes the page back to the list
    driver.execute_script(
        "document.getElementById('panel').contentWindow.postMessage("
        "JSON.stringify({eventType: 'back_button_pressed'}), '*')"
    )
    driver.switch_to.frame(driver.find_element("css selector", "#panel"))
    mini_app.wait(lambda: mini_app.css("#list-view")[0].is_displayed(), "the list again")
