"""Patrols: run crawls (``runner``), what happens after them (``postrun``), one run per source at a
time (``locks``), and nightly schedules (``scheduler``)."""
