"""The web interface and JSON API of the catalogue (`cppcc-archive web`)."""
