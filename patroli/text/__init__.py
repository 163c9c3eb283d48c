"""The one shared Indonesian text vocabulary and its pure helpers: entities (phones, handles,
e-mails, countries, money), dates. Extraction, the risk model, the store's query parser and the web
highlighter all read it from here; it imports nothing else of patroli."""
