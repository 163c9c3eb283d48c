"""Alerts: tell people what happened, where they already look (webhook, e-mail, Telegram)."""
