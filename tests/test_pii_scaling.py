"""Redaction time grows linearly with the text, whatever the text holds.

A report cell redacts every text it shows, so a field of a megabyte (under the
ingest limit) with tens of thousands of matches, or built to make a regular
expression backtrack, must not stall a render. Each test checks the growth
(the same input at two sizes: time ratio near the size ratio, far below its
square) and a generous absolute bound. Times are the process's own CPU time, best
of several runs, so that a loaded CI machine does not fail them. The measured figures are in bench/RESULTS.md
(``.venv/bin/python bench/run.py --only pii``).
"""

from __future__ import annotations

import time

import pytest

from trainerlab.pii import find_pii, redact


def _best_of(fn, arg, repeats: int = 3, stop_after: float = 10.0) -> float:
    """Least CPU time of this process over ``repeats`` calls.

    CPU time, not wall time: on a machine shared with other jobs the wall clock also
    counts the time spent waiting for a core (ratios of 20 for a 4x input were seen
    under a load of 10 on 2 cores), the process's own CPU time does not."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        fn(arg)
        best = min(best, time.process_time() - t0)
        if best > stop_after:
            break  # already far past any bound: do not wait for more repeats
    return best


def _email_line(n: int, size: int | None = None) -> str:
    line = " ".join(f"contact jane.doe{i}@example.com about it" for i in range(n))
    if size is not None and len(line) < size:
        line += " " + ("lorem ipsum dolor sit amet " * (size // 27 + 1))[: size - len(line) - 1]
    return line


def test_a_one_megabyte_line_with_20000_emails_redacts_in_under_a_second():
    line = _email_line(20_000, size=1_000_000)
    assert len(line) == 1_000_000
    t0 = time.process_time()
    out = redact(line)
    elapsed = time.process_time() - t0
    assert out.count("[EMAIL]") == 20_000 and "@" not in out
    if elapsed >= 1.0:
        elapsed = min(elapsed, _best_of(redact, line, repeats=2))  # a second look before failing
    # the promise is 1 s (bench/RESULTS.md has the idle figure, about 0.2 s); the
    # quadratic overlap check took over 30 s
    assert elapsed < 1.0, elapsed


def test_find_pii_time_is_linear_in_the_number_of_matches():
    """2,000 vs 20,000 e-mails: linear is a ratio of 10, the old quadratic overlap check 100."""
    small, large = _email_line(2_000), _email_line(20_000)
    assert len(find_pii(large)) == 20_000
    t_small = _best_of(find_pii, small, repeats=5)
    t_large = _best_of(find_pii, large)
    assert t_large < 3.0
    assert t_large / t_small < 30, (t_small, t_large)


_UNITS = {
    "phone": "call +44 20 7946 0958 or (415) 555-0132 now",
    "card": "card 4111 1111 1111 1111 and 5555.5555.5555.4444 ok",
    "iban": "pay DE89 3704 0044 0532 0130 00 or gb82west12345698765432 ok",
    "ip": "hosts 10.0.0.1 and 2001:db8::1 up",
    "ssn": "SSN 219-09-9999 on file",
    "address": "ship to 221B Baker Street, London and 12 rue de la Paix today",
    "api_key": "key AKIAIOSFODNN7EXAMPLE and token ghp_1234567890abcdefghijABCDEFGHIJ123456",
    "mixed": "mail a@ex.com call +44 20 7946 0958 card 4111 1111 1111 1111 ip 10.0.1.1 at 12 rue de la Paix",
    "folded": "mail ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ call ０３－１２３４－５６７８ or +44\u00a020\u00a07946\u200b0958",
}


@pytest.mark.parametrize("kind", sorted(_UNITS))
def test_find_pii_is_linear_for_every_type(kind):
    unit = _UNITS[kind] + " "
    small, large = unit * 500, unit * 5_000
    n_small = len(find_pii(small))
    t_small = _best_of(find_pii, small, repeats=5)
    t0 = time.process_time()
    n_large = len(find_pii(large))
    t_large = time.process_time() - t0
    if t_large / t_small > 15:
        t_large = min(t_large, _best_of(find_pii, large, repeats=2))  # a second look before failing
    assert n_small > 0 and n_large == 10 * n_small  # every repeat is found: nothing lost at scale
    assert t_large < 5.0
    assert t_large / t_small < 30, (t_small, t_large)  # linear 10, quadratic 100


# Inputs that made a pattern backtrack: each repeated unit was a new start that rescanned
# the rest of the run (or a context window re-parsed from every position).
_ADVERSARIAL = {
    "obfuscated e-mail on 1-1-1-...": ("1-", " dot at!"),
    "obfuscated e-mail on a+a+a+...": ("a+", " dot at!"),
    "obfuscated e-mail on a dot a dot ...": ("a dot ", " at!"),
    "dotted word before every card": ("a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a!4111 1111 1111 1111 ", ""),
    "hyphens before every phone": ("x-----------------------------------!+44 20 7946 0958 ", ""),
    "e-mail domain labels": ("a-", "@"),
    "e-mail local parts": ("a.", "@x"),
    "at signs": ("a@", "!"),
    "dotted digits": ("1.", "!"),
    "digit groups": ("1 ", "!"),
    "colons": ("ab1:", ":!"),
    "long token": ("aB3", "!"),
}


@pytest.mark.parametrize("name", sorted(_ADVERSARIAL))
def test_adversarial_runs_stay_linear(name):
    unit, tail = _ADVERSARIAL[name]
    small = unit * (20_000 // len(unit)) + tail
    large = unit * (80_000 // len(unit)) + tail
    t_small = _best_of(redact, small, repeats=5)
    t_large = _best_of(redact, large)
    # 80,000 characters: linear takes milliseconds; the obfuscated e-mail pattern took
    # 8 s for 8,000 characters of "1-1-1-..." before its fix
    assert t_large < 2.0, t_large
    # linear 4, quadratic 16; below 5 ms a timer tick on a busy machine is not a ratio
    assert t_large / max(t_small, 0.005) < 12, (t_small, t_large)


def test_report_helpers_redact_a_huge_cell_in_linear_time():
    """The page path: reportkit's table and figure helpers call the same redaction."""
    pd = pytest.importorskip("pandas")
    from trainerlab import reportkit

    line = _email_line(20_000, size=1_000_000)
    frame = pd.DataFrame({"text": [line], "n": [1]})
    t0 = time.process_time()
    shown = reportkit.redact_frame(frame)
    fig = reportkit.redact_figure(
        {
            "data": [{"type": "scatter", "x": [1], "y": [2], "hovertext": [line]}],
            "layout": {"title": {"text": "jane@example.com"}},
        }
    )
    elapsed = time.process_time() - t0
    assert shown["text"].iloc[0].count("[EMAIL]") == 20_000
    assert fig["data"][0]["hovertext"][0].count("[EMAIL]") == 20_000
    assert fig["layout"]["title"]["text"] == "[EMAIL]"
    assert elapsed < 6.0, elapsed


def test_the_identifier_look_back_costs_little_per_candidate():
    """Every card, phone and SSN candidate looks at the word before it; on a window such as
    "a.a.a....a.!" the backtracking look-back took 0.2-0.5 ms per candidate (16,000 cards
    behind such words: about 3 s of CPU), now a few microseconds."""
    line = "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a!4111 1111 1111 1111 " * 16_000
    t0 = time.process_time()
    out = redact(line)
    elapsed = time.process_time() - t0
    assert out.count("[CARD]") == 16_000
    if elapsed >= 1.5:
        elapsed = min(elapsed, _best_of(redact, line, repeats=2))
    assert elapsed < 1.5, elapsed
