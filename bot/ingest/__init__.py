"""Articles into the index: reading files (``readers``) and feeds (``feeds``, ``fetch``), indexing them
(``indexer``), and the running sources that find them (``sources``, run by ``service``)."""
