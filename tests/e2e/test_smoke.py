from .conftest import BotHarness


async def test_stranger_is_greeted_and_told_to_get_an_invitation(bot: BotHarness) -> None:
    chat = bot.chat("Stranger", language_code="en")
    await chat.send("/start")
    text = await chat.expect_text()
    assert "invitation link" in text
