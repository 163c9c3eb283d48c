"""Scrapy item pipelines, in flow order (ITEM_PIPELINES in crawler/settings.py):

100 normalize  NormalizeTextPipeline    HTML -> text, Unicode and whitespace, size bounds, a title
200 extract    ExtractEntitiesPipeline  phones (E.164), WhatsApp, Telegram, e-mails, countries, money
300 dedupe     DedupePipeline           ad_id = hash(source, native_id); drops repeats within a run
400 classify   ClassifyPipeline         risk, flagged, reasons (batched, off the event loop)
450 register   RegisterCheckPipeline    the licensed-agency register's findings move risk and reasons
900 store      StorePipeline            batched upserts; review fields never touched; the store places
                                        each ad in its template cluster and recruiter network

Extraction runs before classification so that reasons can name what was found, and dedupe runs
before classification so that a repeated ad is not scored twice.
"""
