"""Discord extensions, one per feature. Each is thin: parse input, call :mod:`bot.answers`, render."""
