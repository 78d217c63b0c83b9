"""/keywords as a use case: a place's alert terms added, removed or cleared within the limits."""

from __future__ import annotations

from bot.services.errors import InputError
from feeds.keywords import MAX_CHARS, MAX_TERMS, KeywordError, parse_terms

VERBS = ("add", "remove", "clear")


def _rules_error(key: str, bad: str = "") -> InputError:
    return InputError(key, bad=bad, limit=str(MAX_TERMS), chars=str(MAX_CHARS))


def _terms(args: str) -> list[str]:
    try:
        return parse_terms(args)
    except KeywordError as exc:
        raise _rules_error("bad_keywords", exc.term) from exc


def changed(current: tuple[str, ...], args: str) -> tuple[str, ...]:
    """The terms after `add …`, `remove …` or `clear`; InputError (with the rules) otherwise."""
    verb, _, rest = args.strip().partition(" ")
    verb = verb.lower()
    if verb == "clear" and not rest.strip():
        return ()
    if verb not in ("add", "remove") or not rest.strip():
        raise _rules_error("bad_keywords", args.strip())
    terms = _terms(rest)
    if verb == "remove":
        missing = [t for t in terms if t not in current]
        if missing:
            raise InputError("no_such_keyword", bad=" ".join(missing))
        return tuple(t for t in current if t not in terms)
    merged = current + tuple(t for t in terms if t not in current)
    if len(merged) > MAX_TERMS:
        raise _rules_error("too_many_keywords")
    return merged
