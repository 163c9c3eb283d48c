"""The one shared Indonesian text vocabulary and its pure helpers.

Extraction, the risk model, the store's query parser and the web highlighter all read it from here:
``money`` (currencies, multipliers, pay periods, amounts), ``numbers`` (digit words and look-alikes,
number notation), ``places`` (destinations, capital abbreviations, flags), ``phones`` (region,
numbers, WhatsApp links), ``contacts`` (Telegram handles, e-mails, links), ``stopwords`` and
``dates``. It imports nothing else of patroli, crawler, pipelines or classifiers.
"""
