"""Telegram front end of the after-sales service bot."""

import os

# Opt in to python-telegram-bot's coming behaviour (time periods as timedelta) now, so the code
# is written against it and its deprecation warnings stay quiet.
os.environ.setdefault("PTB_TIMEDELTA", "1")
