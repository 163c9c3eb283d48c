"""What tests share besides fixtures (those live in ``tests/conftest.py``): the ``patroli`` command
(``cli``), components built on a test crawler (``components``), the demo sites' ground truth
(``demotruth``), spider pages (``spiderkit``), the web app (``webkit``), search engines
(``engines``) and alert receivers (``receivers``)."""
