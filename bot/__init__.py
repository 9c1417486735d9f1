"""Telegram front end of the after-sales service bot."""
