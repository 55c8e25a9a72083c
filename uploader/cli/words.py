"""Words a person reads: counts with their plural."""


def plural(n: int, word: str) -> str:
    """`1 row`, `2 rows`, `1 retry`, `3 retries`, `2 days`."""
    if n == 1:
        return f"{n} {word}"
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u"):
        return f"{n} {word[:-1]}ies"
    return f"{n} {word}s"
