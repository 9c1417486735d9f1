"""The Mini App's initData is trusted only as Telegram signs it (this bot's token, a fresh
auth_date), and its links to files and forms only as the server signed them, until they expire."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qsl, urlencode

import pytest

from webapp.auth import Unauthorized, check_init_data, check_link_token, link_token, sign_init_data

TOKEN = "1000001:local-emulator-token"
NOW = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def init_data(auth_date: dt.datetime = NOW, token: str = TOKEN, **more: str) -> str:
    fields = {
        "query_id": "AAE1",
        "user": json.dumps({"id": 5_000_123, "first_name": "Lin"}),
        "auth_date": str(int(auth_date.timestamp())),
        **more,
    }
    return sign_init_data(fields, token)


def check(raw: str | None) -> int:
    return check_init_data(raw, TOKEN, now=NOW, max_age=DAY)


def test_initdata_signed_with_the_bots_token_names_its_user() -> None:
    assert check(init_data()) == 5_000_123
    # signed a minute ago, or a few seconds ahead of our clock
    assert check(init_data(NOW - dt.timedelta(minutes=1))) == 5_000_123
    assert check(init_data(NOW + dt.timedelta(seconds=30))) == 5_000_123


def _changed(raw: str, name: str, value: str) -> str:
    fields = dict(parse_qsl(raw))
    fields[name] = value
    return urlencode(fields)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("not initData at all", id="malformed"),
        pytest.param("user=%7B%7D&&hash", id="malformed fields"),
        pytest.param(init_data(token="1000002:another-bot"), id="another bot's token"),
        pytest.param(_changed(init_data(), "hash", "0" * 64), id="forged hash"),
        pytest.param(
            _changed(init_data(), "user", json.dumps({"id": 1, "first_name": "Lin"})),
            id="changed user",
        ),
        pytest.param(
            _changed(init_data(), "auth_date", str(int(NOW.timestamp()))[:-1] + "9"),
            id="changed date",
        ),
        pytest.param(init_data(NOW - DAY - dt.timedelta(seconds=1)), id="stale"),
        pytest.param(init_data(NOW + dt.timedelta(minutes=2)), id="from the future"),
        pytest.param(sign_init_data({"auth_date": str(int(NOW.timestamp()))}, TOKEN), id="no user"),
        pytest.param(sign_init_data({"user": json.dumps({"id": 5})}, TOKEN), id="no auth_date"),
        pytest.param(
            sign_init_data({"user": "{", "auth_date": str(int(NOW.timestamp()))}, TOKEN),
            id="user not JSON",
        ),
        pytest.param(init_data() + "&user=%7B%22id%22%3A1%7D", id="a field twice"),
    ],
)
def test_missing_malformed_forged_or_stale_initdata_is_refused(raw: str | None) -> None:
    with pytest.raises(Unauthorized):
        check(raw)


def test_a_link_opens_its_path_for_its_user_until_it_expires() -> None:
    path = "files/complaint/QC-2026-00001/abc"
    token = link_token(TOKEN, 5_000_123, path, NOW + dt.timedelta(minutes=10))
    assert check_link_token(token, TOKEN, path, now=NOW) == 5_000_123
    assert check_link_token(token, TOKEN, path, now=NOW + dt.timedelta(minutes=9)) == 5_000_123


@pytest.mark.parametrize(
    ("change", "when"),
    [
        pytest.param(lambda token: token, dt.timedelta(minutes=10), id="expired"),
        pytest.param(
            lambda token: token.replace("5000123.", "5000124.", 1), dt.timedelta(), id="other user"
        ),
        pytest.param(lambda token: token[:-4] + "0000", dt.timedelta(), id="forged"),
        pytest.param(
            lambda token: "5000123.9999999999." + token.rsplit(".", 1)[1],
            dt.timedelta(),
            id="longer expiry",
        ),
        pytest.param(lambda token: "", dt.timedelta(), id="missing"),
        pytest.param(lambda token: "a.b.c", dt.timedelta(), id="malformed"),
    ],
)
def test_a_forged_expired_or_missing_link_is_refused(change, when: dt.timedelta) -> None:  # type: ignore[no-untyped-def]
    path = "files/complaint/QC-2026-00001/abc"
    token = change(link_token(TOKEN, 5_000_123, path, NOW + dt.timedelta(minutes=10)))
    with pytest.raises(Unauthorized):
        check_link_token(token, TOKEN, path, now=NOW + when)


def test_a_link_opens_no_other_path() -> None:
    token = link_token(TOKEN, 5_000_123, "files/complaint/QC-2026-00001/abc", NOW + DAY)
    with pytest.raises(Unauthorized):
        check_link_token(token, TOKEN, "files/complaint/QC-2026-00002/abc", now=NOW)


def _signed(**fields: str) -> str:
    return sign_init_data(fields, TOKEN)


WHEN = str(int(NOW.timestamp()))


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(init_data() + "&x=" + "a" * 100_000, id="a 100 KB header"),
        pytest.param(_signed(user=json.dumps({"id": 5}), auth_date="1e99"), id="auth_date 1e99"),
        pytest.param(_signed(user=json.dumps({"id": 5}), auth_date="soon"), id="auth_date words"),
        pytest.param(_signed(user=json.dumps({"id": 5}), auth_date="-1"), id="auth_date negative"),
        pytest.param(_signed(user=json.dumps({"id": 5}), auth_date="9" * 30), id="auth_date 10^30"),
        pytest.param(_signed(user=json.dumps({"id": 5}), auth_date="1_7"), id="auth_date 1_7"),
        pytest.param(_signed(user=json.dumps({"id": "5"}), auth_date=WHEN), id="id as text"),
        pytest.param(_signed(user=json.dumps({"id": True}), auth_date=WHEN), id="id true"),
        pytest.param(_signed(user=json.dumps({"id": 5.0}), auth_date=WHEN), id="id 5.0"),
        pytest.param(_signed(user=json.dumps({"id": -5}), auth_date=WHEN), id="id negative"),
        pytest.param(_signed(user=json.dumps([5]), auth_date=WHEN), id="user a list"),
        pytest.param(init_data(NOW + dt.timedelta(days=3650)), id="auth_date ten years ahead"),
        pytest.param(
            _changed(
                init_data(), "user", json.dumps({"id": 5_000_123, "first_name": "Lin", "x": 1})
            ),
            id="a field added to the signed user",
        ),
        pytest.param(init_data() + "&hash=" + "0" * 64, id="hash twice"),
        pytest.param(init_data().upper(), id="hash in upper case"),
    ],
)
def test_initdata_bent_out_of_shape_is_refused(raw: str) -> None:
    with pytest.raises(Unauthorized):
        check(raw)


def test_initdata_in_any_order_with_more_about_the_user_is_accepted() -> None:
    user = json.dumps({"id": 5_000_123, "first_name": "Lin", "language_code": "zh", "x": "😀"})
    fields = {"auth_date": WHEN, "user": user, "query_id": "AAE1", "signature": "abc"}
    signed = dict(parse_qsl(sign_init_data(fields, TOKEN)))
    reordered = urlencode(dict(reversed(list(signed.items()))))
    assert check(reordered) == 5_000_123


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda token: "+" + token, id="a plus sign"),
        pytest.param(lambda token: "0" + token, id="a leading zero"),
        pytest.param(lambda token: " " + token, id="a space"),
        pytest.param(lambda token: token.upper(), id="the hash in upper case"),
        pytest.param(lambda token: token[:-1], id="truncated"),
        pytest.param(lambda token: token + ".x", id="a fourth part"),
        pytest.param(lambda token: "9" * 5000 + token[7:], id="five thousand digits"),
    ],
)
def test_a_link_token_is_accepted_only_as_it_was_written(change) -> None:  # type: ignore[no-untyped-def]
    path = "files/complaint/QC-2026-00001/abc"
    token = link_token(TOKEN, 5_000_123, path, NOW + dt.timedelta(minutes=10))
    with pytest.raises(Unauthorized):
        check_link_token(change(token), TOKEN, path, now=NOW)
