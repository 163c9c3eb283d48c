"""Patrols: run crawls (``runner``; each run is monitored and recorded inside the crawl, by
``crawler.extensions.runrecorder``), one run per source at a time (``locks``), and nightly schedules
(``scheduler``)."""
