"""Scrapy extensions of the patrol crawl: ``runrecorder.CrawlRunRecorder`` (enabled in
``crawler/settings.py``) monitors, records and alerts each run when it closes."""
