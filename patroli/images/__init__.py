"""Images that ads carry (flyers): safe decoding, perceptual fingerprints, OCR, storage on disk.

Everything here is pure and self-contained (no Scrapy, no store): the crawl's images pipeline, the
web app's upload search and ``patroli search --image`` share it. ``bands`` is the one module the
store imports: the exact-match keys of the flyer look-up, free of any image library.
"""
