"""Nightly patrols without anyone at the keyboard: the cron-driven scheduler."""
