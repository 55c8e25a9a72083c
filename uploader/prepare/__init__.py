"""Preparing: headers mapped to lead fields, rows normalised and checked into leads."""
