"""The Mini App's page without its server: webapp/static/ and canned answers of the JSON API (the
contract's shapes, in 繁體中文), for looking at the page and for the page's browser tests.

    python -m tests.support.miniapp_fixture [PORT]

serves it at http://127.0.0.1:PORT/app/ (under a path prefix, as behind the reverse proxy) and
prints an address with emulator-style initData to open. Any initData is accepted except a
missing one or one naming the stranger (user id 401), who gets 401 as a forged one would.
Every API request is kept in `requests`, so a test can see what the page asked for.
"""

from __future__ import annotations

import json
import struct
import sys
import threading
import urllib.parse
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parents[2] / "webapp" / "static"
PREFIX = "/app"
STRANGER_ID = 401
PAGE_SIZE = 20
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
}
HTML_DESCRIPTION = "<img src=x onerror=alert(1)>針筒漏液<b>嚴重</b>"


def launch_hash(user_id: int = 1001, language: str = "zh-hant") -> str:
    """The hash the web chat appends to the Mini App's address (the signature is not checked
    here)."""
    user = json.dumps({"id": user_id, "first_name": "陳質量", "language_code": language})
    init_data = urllib.parse.urlencode(
        {"query_id": "AAH-demo", "user": user, "auth_date": "1796000000", "hash": "0" * 64}
    )
    return "#" + urllib.parse.urlencode(
        {"tgWebAppData": init_data, "tgWebAppVersion": "8.0", "tgWebAppPlatform": "emulator"}
    )


def _png(width: int, height: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> bytes:
    """A small gradient PNG, written by hand (no imaging library needed)."""
    rows = bytearray()
    for row in range(height):
        share = row / max(height - 1, 1)
        pixel = bytes(round(a + (b - a) * share) for a, b in zip(top, bottom, strict=True))
        rows += b"\x00" + pixel * width

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )


PHOTOS = {
    "a" * 64: _png(480, 360, (214, 96, 86), (120, 40, 40)),
    "b" * 64: _png(360, 480, (86, 140, 214), (30, 60, 120)),
}
FORM_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

ME: dict[str, Any] = {
    "name": "陳質量",
    "language": "zh-Hant",
    "roles": [{"key": "quality_head", "name": "質量負責人"}],
    "types": [
        {"type": "complaint", "name": "顧客質量投訴"},
        {"type": "return", "name": "退貨"},
        {"type": "consumer_complaint", "name": "消費者投訴"},
        {"type": "defect", "name": "設備故障"},
        {"type": "rectification", "name": "整改"},
        {"type": "assessment", "name": "維保單位考核"},
    ],
    "charts": True,
    "bot_username": "after_sales_demo_bot",
}

# the month filter's choices, as the server names them on the configured zone's calendar
MONTH_CHOICES = [{"key": "2026-12", "name": "2026年12月"}, {"key": "2026-11", "name": "2026年11月"}]
COMPLAINT_STATUSES = [
    {"key": "open", "name": "待質量管理部受理"},
    {"key": "investigating", "name": "調查中"},
    {"key": "conforming", "name": "核實合格"},
    {"key": "nonconforming", "name": "核實不合格"},
    {"key": "closed", "name": "已結案"},
]
CUSTOMERS = ["仁和大藥房", "康寧醫藥有限公司", "同濟醫院藥劑科", "萬家福連鎖藥店", "惠民診所"]
PRODUCTS = ["一次性使用無菌注射器5ml", "醫用外科口罩", "碘伏消毒液500ml", "輸液器（精密過濾）"]
STEPS = [("處置意見", "王品質"), ("實地核實", None), ("解除暫停發貨", "李倉管"), (None, None)]


def _complaint(index: int) -> dict[str, Any]:
    number = f"QC-2026-{index:05d}"
    late = index % 3 == 0
    step, holder = STEPS[index % len(STEPS)]
    status = COMPLAINT_STATUSES[1 if step else 3]
    title = f"{CUSTOMERS[index % len(CUSTOMERS)]}·{PRODUCTS[index % len(PRODUCTS)]}"
    if index == 24:
        title = f"{CUSTOMERS[0]}·{HTML_DESCRIPTION}"
    day = 28 - index
    return {
        "type": "complaint",
        "key": number,
        "number": number,
        "title": title,
        "status": status,
        "step": step,
        "holder": holder or ("質量管理部（質檢員）" if step else None),
        "due_at": f"2026-12-{(index % 9) + 1:02d}T04:00:00+00:00" if step else None,
        "due_text": f"12月{(index % 9) + 1}日12:00前" if step else None,
        "late": late and step is not None,
        "late_text": (f"已逾期{index % 4 + 1}天" if late else f"尚餘{index % 7 + 2}小時")
        if step
        else None,
        "received_at": f"2026-11-{max(day, 1):02d}T02:00:00+00:00",
        "received_text": f"11月{max(day, 1)}日10:00",
    }


COMPLAINTS = [_complaint(i) for i in range(25, 0, -1)]

DEFECTS = [
    {
        "type": "defect",
        "key": "DF-2026-00007",
        "number": "DF-2026-00007",
        "title": "冷庫2號機組·壓縮機異響",
        "status": {"key": "reported", "name": "待維保單位確認"},
        "step": "故障維修",
        "holder": "恒溫製冷維保公司",
        "due_at": "2026-12-06T04:00:00+00:00",
        "due_text": "12月6日12:00前",
        "late": True,
        "late_text": "已逾期1天",
        "received_at": "2026-12-05T01:00:00+00:00",
        "received_text": "12月5日09:00",
    }
]

RECORD: dict[str, Any] = {
    "type": "complaint",
    "key": "QC-2026-00024",
    "number": "QC-2026-00024",
    "title": f"{CUSTOMERS[0]}·{PRODUCTS[0]}",
    "status": COMPLAINT_STATUSES[1],
    "fields": [
        {"label": "購貨單位", "value": CUSTOMERS[0]},
        {"label": "產品", "value": PRODUCTS[0]},
        {"label": "批號", "value": "20260815"},
        {"label": "數量", "value": "3盒"},
        {"label": "問題描述", "value": HTML_DESCRIPTION},
        {"label": "途徑", "value": "電話"},
    ],
    "deadlines": [
        {
            "name": "實地核實",
            "due_text": "11月27日當天內",
            "state": "met",
            "state_text": "已按時完成",
        },
        {
            "name": "處置意見",
            "due_text": "12月1日12:00前",
            "state": "late",
            "state_text": "已逾期2天",
        },
        {
            "name": "解除暫停發貨",
            "due_text": "12月9日12:00前",
            "state": "open",
            "state_text": "尚餘2天",
        },
        {
            "name": "不良事件報告",
            "due_text": "12月3日當天內",
            "state": "waived",
            "state_text": "已免除",
        },
    ],
    "timeline": [
        {
            "at": "2026-11-26T01:05:00+00:00",
            "at_text": "11月26日09:05",
            "who": "仁和大藥房 張採購",
            "what": "登記投訴（途徑：電話，涉及3盒，照片2張）",
        },
        {
            "at": "2026-11-26T01:06:00+00:00",
            "at_text": "11月26日09:06",
            "who": "系統",
            "what": "暫停發貨：本批號（批號20260815）",
        },
        {
            "at": "2026-11-26T02:30:00+00:00",
            "at_text": "11月26日10:30",
            "who": "王品質",
            "what": "質量管理部受理",
        },
        {
            "at": "2026-11-27T06:00:00+00:00",
            "at_text": "11月27日14:00",
            "who": "王品質",
            "what": "核實結果：核實不合格",
        },
        {
            "at": "2026-12-01T04:00:00+00:00",
            "at_text": "12月1日12:00",
            "who": "系統",
            "what": "期限已過：處置意見",
        },
    ],
    "files": [
        {
            "url": "api/files/complaint/QC-2026-00024/" + "a" * 64 + "?t=tok",
            "kind": "photo",
            "name": "photo-1.png",
            "caption": "外包裝破損",
        },
        {
            "url": "api/files/complaint/QC-2026-00024/" + "b" * 64 + "?t=tok",
            "kind": "photo",
            "name": "photo-2.png",
            "caption": "針筒漏液",
        },
        {
            "url": "api/files/complaint/QC-2026-00024/" + "c" * 64 + "?t=tok",
            "kind": "document",
            "name": "檢驗報告.pdf",
            "caption": "供貨單位檢驗報告",
        },
    ],
    "forms": [
        {
            "name": "《顧客質量投訴處理記錄》",
            "file_name": "QC-2026-00024.pdf",
            "url": "api/forms/complaint/QC-2026-00024/record?t=tok",
        }
    ],
    "chat_link": "https://t.me/after_sales_demo_bot?start=QC-2026-00024",
}

MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]
CHARTS: dict[str, Any] = {
    "charts": [
        {
            "key": "complaints_by_product",
            "title": "每月質量投訴（按產品）",
            "kind": "bar",
            "unit": "件",
            "categories": MONTHS[-6:],
            "series": [
                {"name": "注射器", "values": [3, 5, 2, 6, None, 4]},
                {"name": "口罩", "values": [1, 0, 2, 1, 3, 2]},
            ],
            "limit": None,
            "note": None,
        },
        {
            "key": "exchange_ratio",
            "title": "各客戶調換貨比例",
            "kind": "bar",
            "unit": "%",
            "categories": CUSTOMERS,
            "series": [{"name": "調換貨比例", "values": [3.2, 6.8, 1.5, 4.9, 0]}],
            "limit": 5,
            "note": "紅色虛線：合同約定的調換貨上限",
        },
        {
            "key": "repair_hours",
            "title": "故障維修時間（按維保單位）",
            "kind": "line",
            "unit": "小時",
            "categories": MONTHS,
            "series": [
                {"name": "恒溫製冷", "values": [20, 18, 30, 26, None, 12, 15, 40, 22, 19, 17, 25]},
                {"name": "安達電梯", "values": [8, 10, 9, 12, 11, 7, 6, 9, 10, 8, 14, 12]},
            ],
            "limit": 24,
            "note": None,
        },
    ]
}


@dataclass
class MiniAppFixture:
    """The fixture server, running in a thread; `address` is the page's."""

    server: ThreadingHTTPServer
    requests: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{PREFIX}/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _records(query: dict[str, str]) -> dict[str, Any]:
    kind = query.get("type", "complaint")
    items = {"complaint": COMPLAINTS, "defect": DEFECTS}.get(kind, [])
    if query.get("late") == "1":
        items = [i for i in items if i["late"]]
    status = query.get("status", "")
    if status and status != "all":
        items = [i for i in items if i["status"]["key"] == status]
    for word in query.get("q", "").split():
        items = [i for i in items if word in i["title"] or word in i["number"]]
    for name in ("customer", "product"):
        if query.get(name):
            items = [i for i in items if query[name] in i["title"]]
    pages = max(1, -(-len(items) // PAGE_SIZE))
    page = min(max(int(query.get("page", "1") or 1), 1), pages)
    filters = {
        "complaint": ["status", "late", "customer", "product", "month", "q"],
        "defect": ["status", "late", "vendor", "asset", "month", "q"],
        "assessment": ["status", "vendor"],
    }.get(kind, ["status", "late", "month", "q"])
    return {
        "type": kind,
        "total": len(items),
        "page": page,
        "pages": pages,
        "statuses": COMPLAINT_STATUSES if kind == "complaint" else [],
        "filters": filters,
        "items": items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        "months": MONTH_CHOICES if "month" in filters else [],
    }


def _handler(fixture_requests: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the tests read `requests` instead

        def send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def send_json(self, status: int, answer: Any) -> None:
            body = json.dumps(answer, ensure_ascii=False).encode()
            self.send(status, body, "application/json; charset=utf-8")

        def authorised(self) -> bool:
            init_data = self.headers.get("X-Telegram-Init-Data", "")
            fields = dict(urllib.parse.parse_qsl(init_data))
            try:
                user = json.loads(fields.get("user", "{}"))
            except ValueError:
                return False
            return bool(init_data) and user.get("id") not in (None, STRANGER_ID)

        def language(self) -> str:
            fields = dict(urllib.parse.parse_qsl(self.headers.get("X-Telegram-Init-Data", "")))
            code = json.loads(fields.get("user", "{}")).get("language_code", "")
            return {"en": "en", "zh-hans": "zh-Hans"}.get(code, "zh-Hant")

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            path = url.path
            if not path.startswith(PREFIX + "/"):
                self.send(404, b"not here", "text/plain")
                return
            path = path[len(PREFIX) :]
            if path == "/":
                path = "/static/index.html"
            if path.startswith("/static/"):
                file = (STATIC / path[len("/static/") :]).resolve()
                if file.parent != STATIC.resolve() or not file.is_file():
                    self.send(404, b"not found", "text/plain")
                    return
                self.send(200, file.read_bytes(), CONTENT_TYPES.get(file.suffix, "text/plain"))
                return
            self.api(path, dict(urllib.parse.parse_qsl(url.query)))

        def api(self, path: str, query: dict[str, str]) -> None:
            parts = path.strip("/").split("/")
            if parts[0] != "api":
                self.send(404, b"not found", "text/plain")
                return
            fixture_requests.append(self.path)
            if parts[1:2] in (["files"], ["forms"]):
                if query.get("t") != "tok":
                    self.send_json(401, {"error": "unauthorized"})
                elif parts[1] == "files" and parts[-1] in PHOTOS:
                    self.send(200, PHOTOS[parts[-1]], "image/png")
                else:
                    disposition = "attachment; filename*=UTF-8''" + parts[3] + ".pdf"
                    self.send(200, FORM_PDF, "application/pdf", Content_Disposition=disposition)
                return
            if not self.authorised():
                self.send_json(401, {"error": "unauthorized"})
                return
            if parts[1:] == ["me"]:
                # the page's own words follow the person's language; the canned data stays Chinese
                self.send_json(200, {**ME, "language": self.language()})
            elif parts[1:] == ["records"]:
                if query.get("type") == "rectification":
                    self.send_json(403, {"error": "not_allowed"})
                else:
                    self.send_json(200, _records(query))
            elif parts[1] == "records" and len(parts) == 4:
                key = urllib.parse.unquote(parts[3])
                listed = next((i for i in COMPLAINTS + DEFECTS if i["key"] == key), None)
                if listed is None:
                    self.send_json(404, {"error": "not_found"})
                else:
                    shown = RECORD if key == RECORD["key"] else {**RECORD, **_summary(listed)}
                    self.send_json(200, shown)
            elif parts[1:] == ["charts"]:
                self.send_json(200, CHARTS)
            else:
                self.send_json(404, {"error": "not_found"})

    return Handler


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    """Another record's page: the canned one, under that record's number and title."""
    return {
        "type": item["type"],
        "key": item["key"],
        "number": item["number"],
        "title": item["title"],
        "status": item["status"],
        "chat_link": f"https://t.me/after_sales_demo_bot?start={item['number']}",
    }


def start_fixture(port: int = 0) -> MiniAppFixture:
    """Serve the page and the canned API on 127.0.0.1 (a free port unless given), in a thread."""
    requests: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(requests))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return MiniAppFixture(server, requests)


if __name__ == "__main__":
    fixture = start_fixture(int(sys.argv[1]) if len(sys.argv) > 1 else 8083)
    print(fixture.address + launch_hash(), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fixture.stop()
