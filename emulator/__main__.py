"""`python -m emulator serve`: run the emulator alone (with its web chat at its address), for a
bot started with TELEGRAM_API_URL.
`python -m emulator chat`: a bare terminal client; the web chat is the one to use: the terminal
shows neither edits nor the answers to button presses.

Type a message and press Enter. Buttons under the bot's messages are numbered: type `!1` to
press the first. `!doc PATH CAPTION` sends a file, `!photo PATH` a photo, `!quit` leaves.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import signal
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any


class ChatClient:
    def __init__(self, port: int, user_id: int, name: str, language: str | None) -> None:
        self.base = f"http://127.0.0.1:{port}/_emulator"
        self.user_id = user_id
        self.name = name
        self.language = language
        bots = self._get("bots")["bots"]
        if not bots:
            raise SystemExit("no bot has connected to the emulator yet: is `make run` running?")
        self.token = bots[0]["token"]
        self.username = bots[0]["username"]
        self.seen = 0
        self.buttons: list[tuple[int, str]] = []

    def _get(self, path: str, **query: Any) -> dict[str, Any]:
        from urllib.parse import urlencode

        with urllib.request.urlopen(f"{self.base}/{path}?{urlencode(query)}", timeout=60) as reply:
            answer: dict[str, Any] = json.load(reply)
        return answer

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        payload = {
            "token": self.token,
            "user_id": self.user_id,
            "first_name": self.name,
            "language_code": self.language,
            **body,
        }
        request = urllib.request.Request(
            f"{self.base}/{path}",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        answer: dict[str, Any]
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                answer = json.load(reply)
        except urllib.error.HTTPError as error:
            answer = json.load(error)
        return answer

    def handle(self, line: str) -> bool:
        if line == "!quit":
            return False
        if line.startswith("!doc "):
            path, _, caption = line[5:].partition(" ")
            content = base64.b64encode(Path(path).read_bytes()).decode()
            reply = self._post(
                "document",
                {"content_base64": content, "file_name": Path(path).name, "caption": caption},
            )
        elif line.startswith("!photo "):
            content = base64.b64encode(Path(line[7:].strip()).read_bytes()).decode()
            reply = self._post("photo", {"content_base64": content})
        elif line.startswith("!") and line[1:].isdigit():
            index = int(line[1:]) - 1
            if not 0 <= index < len(self.buttons):
                print("  (no such button)")
                return True
            message_id, data = self.buttons[index]
            reply = self._post("press", {"message_id": message_id, "data": data})
        else:
            reply = self._post("text", {"text": line})
        if "error" in reply:
            print(f"  ({reply['error']})")
        return True

    def print_new_messages(self, wait: float) -> None:
        messages = self._get(
            "messages", token=self.token, chat_id=self.user_id, after=self.seen, wait=wait
        )["messages"]
        for message in messages:
            self.seen += 1
            text = message.get("text") or message.get("caption") or ""
            if "document" in message:
                text = f"[file {message['document'].get('file_name', '')}] {text}"
            print(f"\n@{self.username}: {text}")
            rows = message.get("reply_markup", {}).get("inline_keyboard", [])
            for row in rows:
                for button in row:
                    if "web_app" in button:  # a Mini App opens in the web chat's panel only
                        print(f"   [{button['text']}: {button['web_app']['url']}]")
                        continue
                    self.buttons.append((message["message_id"], button.get("callback_data", "")))
                    print(f"   [!{len(self.buttons)}] {button['text']}")
        if messages:
            print("> ", end="", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    chat = sub.add_parser("chat", help="chat with the bot as a user")
    chat.add_argument("--port", type=int, default=8081)
    chat.add_argument("--user", type=int, default=1001, help="your user id in the emulator")
    chat.add_argument("--name", default="Alice")
    chat.add_argument("--language", default="zh-hant", help="Telegram language code")
    serve = sub.add_parser("serve", help="run the emulator on its own")
    serve.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)

    if args.command == "serve":
        return asyncio.run(_serve(args.port))
    client = ChatClient(args.port, args.user, args.name, args.language)
    print(f"Chatting with @{client.username} as {args.name} (id {args.user}). !quit leaves.")
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                client.print_new_messages(wait=20)
            except OSError:
                stop.wait(1)

    threading.Thread(target=poll, daemon=True).start()
    print("> ", end="", flush=True)
    for raw in sys.stdin:
        line = raw.strip()
        if line and not client.handle(line):
            break
    stop.set()
    return 0


async def _serve(port: int) -> int:
    from .server import BotApiEmulator
    from .web import WebChat

    emulator = BotApiEmulator()
    bound = await emulator.start(port, extra_routes=WebChat(emulator).routes())
    print(
        f"Web chat: http://127.0.0.1:{bound}/\n"
        f"Bot API emulator on http://127.0.0.1:{bound}: TELEGRAM_API_URL={emulator.base_url}",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
