"""patroli, the application: the store, the patrol (runner, scheduler), alerts, the web app, the CLI,
the demo sites, and ``patroli.text``, the one Indonesian text vocabulary every layer shares.

The Scrapy project (``crawler``), the item pipelines (``pipelines``) and the risk model
(``classifiers``) are top-level packages beside it; README.md, "Architecture", shows the layers.
"""
