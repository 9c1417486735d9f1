"""The heads' Mini App: a small ASGI application serving the overview page and its JSON API,
opened inside Telegram from the bot's menu button."""
