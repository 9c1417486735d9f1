"""Handler modules: each builds and registers its own handlers; bot/app.py only wires them."""
