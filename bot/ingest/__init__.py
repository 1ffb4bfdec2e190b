"""Sources into the index: article files and folders (and, with alerts, feeds)."""
