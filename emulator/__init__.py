"""Local Bot API emulator, for trying the bot on one machine and for end-to-end tests."""
