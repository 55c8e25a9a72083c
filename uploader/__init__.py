"""leadup: upload CSV and Excel lead lists to the Juiced lead API, one results line per row."""

__version__ = "0.1.0"
