"""An admin imports master data by sending a file; a bad file is reported line by line."""

from __future__ import annotations

from sqlalchemy import select

from procedures.people import invitations
from storage.models import Vendor

from .conftest import BotHarness
from .test_onboarding import make_admin


async def test_an_admin_imports_a_file_and_hears_what_changed(bot: BotHarness) -> None:
    admin = bot.chat("Ada Admin")
    await make_admin(bot, admin)
    csv = "code,name,contact_name\nV009,順達機電,林工\nV001,迅達電梯維保有限公司,孫師傅\n"

    await admin.send_document(csv.encode(), "vendors.csv", caption="vendors")

    assert await admin.expect_text() == "Imported equipment vendors: 1 new, 0 updated, 1 unchanged."
    await bot.settled()
    async with bot.services.session_factory() as session:
        vendor = await session.scalar(select(Vendor).where(Vendor.code == "V009"))
        assert vendor is not None and vendor.contact_name == "林工"


async def test_a_bad_file_is_rejected_whole_with_each_line_named(bot: BotHarness) -> None:
    admin = bot.chat("Ada Admin")
    await make_admin(bot, admin, language="zh-Hant")
    csv = "code,name,system,location,vendor_code\nEL-09,3號梯,elevator,C棟,V404\nXX-1,,rocket,,\n"

    await admin.send_document(csv.encode(), "assets.csv", caption="assets")

    assert await admin.expect_text() == "\n".join(
        [
            "文件未導入：有3行有問題，未作任何變更。",
            "第2行，「維保單位編號」（vendor_code）列：沒有記錄的編號為V404",
            "第3行，「名稱」（name）列：必須填寫",
            "第3行，「系統」（system）列：須為下列之一："
            "elevator、water_supply、hvac、fire_protection、power、lighting",
        ]
    )


async def test_an_import_answers_in_the_users_language_and_takes_the_kinds_chinese_name(
    bot: BotHarness,
) -> None:
    admin = bot.chat("Ada Admin")
    await make_admin(bot, admin, language="zh-Hant")
    csv = "code,name,contact_name,contact_phone\nV001,迅達電梯,林工,021-5550-0101\n"

    await admin.send_document(csv.encode(), "vendors.csv", caption="維保單位")
    assert await admin.expect_text() == "已導入維保單位：新增0，更新1，不變0。"

    await admin.send_document(b"code\nV1\n", "vendors.csv", caption="vendors")
    assert await admin.expect_text() == "文件缺少列：「名稱」（name）"

    await admin.send_document(b"code\n", "x.csv", caption="rockets")
    usage = await admin.expect_text()
    assert "vendors（維保單位）、" in usage and "checklist_items（巡視檢查項目）" in usage


async def test_a_file_without_a_kind_gets_instructions_and_a_customer_is_refused(
    bot: BotHarness,
) -> None:
    admin = bot.chat("Ada Admin")
    await make_admin(bot, admin)
    await admin.send_document(b"code,name\n", "vendors.csv")
    assert (await admin.expect_text()).startswith("To import master data, send a CSV or XLSX")

    stranger_admin_file = bot.chat("Customer")
    async with bot.services.unit_of_work() as uow:
        invitation = await invitations.create_bootstrap_invitation(uow, "consumer")
    await stranger_admin_file.send(f"/start {invitation.code}")
    await stranger_admin_file.expect()
    await stranger_admin_file.send_document(b"code,name\nV1,x\n", "vendors.csv", caption="vendors")
    assert await stranger_admin_file.expect_text() == (
        "This command is for administrator only. Nothing was changed."
    )
    # a command that only reads has nothing to leave unchanged
    await stranger_admin_file.send("/ledger")
    refusal = await stranger_admin_file.expect_text()
    assert refusal.startswith("This command is for ") and refusal.endswith(" only.")
