"""``_lazyre.LazyPattern``: compiled on first use, then the compiled pattern's own methods, nothing between."""

from __future__ import annotations

import re

from envsnap._lazyre import LazyPattern


def test_a_lazy_pattern_answers_as_re_and_then_is_the_compiled_pattern_s_methods() -> None:
    lazy, plain = LazyPattern(r"([a-z]+)-(\d+)", re.IGNORECASE), re.compile(r"([a-z]+)-(\d+)", re.IGNORECASE)
    assert lazy._compiled is None  # nothing compiled before the first use
    for text in ("abc-12", "ABC-1 x", "x abc-3", "-", ""):
        for name in ("fullmatch", "match", "search"):
            got, want = getattr(lazy, name)(text), getattr(plain, name)(text)
            assert (got and got.groups()) == (want and want.groups())
    assert [m.group(0) for m in lazy.finditer("a-1 b-2")] == ["a-1", "b-2"]
    assert lazy.sub("x", "a-1 b-2") == plain.sub("x", "a-1 b-2")
    # Once compiled, a call goes straight to re.Pattern's method (a lock's every value is checked by one).
    assert lazy.fullmatch.__self__ is lazy.compiled  # type: ignore[attr-defined]
    assert lazy.sub.__self__ is lazy.compiled  # type: ignore[attr-defined]
