"""PII detection and the one redaction helper that protects every text a report shows.

``redact(text)`` replaces each detected span with a typed placeholder such as
``[EMAIL]``. Every example text in a notebook, app or HTML report goes through
it (reports never show raw PII). ``find_pii(text)`` returns the spans.

Types (the placeholder is the type in brackets):

========  ==================================================================
EMAIL     addresses ``local@domain.tld``, internationalized ones too
          (``jürgen@müller.de``, RFC 6531: Latin, Greek and Cyrillic letters)
PHONE     international and national formats (``+44 20 7946 0958``,
          ``0044 20 7946 0958``, ``+49 (0)30 1234567``, ``(415) 555-2671``,
          ``030/1234567``, ``01.23.45.67.89``, ``03(1234)5678``), 8-15 digits
          (E.164 allows at most 15); a bare digit run, or Spain's nine digits,
          only after a word such as "phone", "Telefon", "teléfono", "電話"
CARD      payment card numbers, 12-19 digits grouped with spaces, hyphens or
          dots, issuer prefix and length plausible, Luhn checksum valid
          (ISO/IEC 7812-1)
IBAN      international bank account numbers in capitals or lower case, any
          spacing, country length from the ISO 13616 registry and the mod-97
          checksum equal to 1
SSN       US social security numbers ``AAA-GG-SSSS`` outside the ranges the
          SSA never issues (area 000, 666, 900-999; group 00; serial 0000)
IPV4      dotted quads with every octet 0-255
IPV6      full or ``::``-compressed addresses accepted by :mod:`ipaddress`
API_KEY   secrets: known prefixes (``sk-``, ``ghp_``, ``AKIA``, ``AIza``,
          ``xoxb-``, ``sk_live_``, JWTs, private-key headers, ...), values
          assigned to a key/token/secret/password, and long random-looking
          tokens (upper, lower and digits, Shannon entropy >= 4.2 bits/char)
ADDRESS   simple street addresses: ``221B Baker Street``, ``1600 Amphitheatre
          Pkwy, Mountain View, CA 94043``, ``Hauptstraße 5``, ``PO Box 123``
========  ==================================================================

Why the checks: a regular expression alone flags order numbers, ISBNs,
timestamps, version strings and hashes. Each numeric detector therefore
validates what it matched (checksums, octet ranges, digit counts, date and
version shapes) and rejects a number that a preceding word names as something
else ("order", "ISBN", "invoice", "version", "#", ...). Precision and recall per
type on the labelled corpus ``tests/fixtures/pii_corpus.jsonl`` are in
``docs/dataqa.md``.

The detectors read a folded copy of the text (:func:`fold_text`: full-width forms,
Unicode spaces and dashes to ASCII, zero-width characters removed) and the spans are
mapped back, so ``redact`` replaces the characters the value was written with.
Time is linear in the length of the text, whatever it holds
(``tests/test_pii_scaling.py``; the figures in ``bench/RESULTS.md``).
"""

from __future__ import annotations

import ipaddress
import math
import re
from bisect import bisect_right
from collections import Counter

__all__ = ["PII_TYPES", "find_pii", "redact", "luhn_valid", "iban_valid", "shannon_entropy", "pii_counts", "fold_text"]

PII_TYPES = ("EMAIL", "PHONE", "CARD", "IBAN", "SSN", "IPV4", "IPV6", "API_KEY", "ADDRESS")

# When two detectors claim overlapping text, the earlier type in this order wins
# (an API key may contain digit runs; an e-mail local part may look like a phone).
_PRIORITY = {
    kind: rank
    for rank, kind in enumerate(("API_KEY", "EMAIL", "IBAN", "CARD", "SSN", "IPV6", "IPV4", "ADDRESS", "PHONE"))
}

# A number right after one of these words is an identifier of something else.
_ID_WORDS = frozenset(
    """
order orders invoice inv isbn issn isbn-10 isbn-13 ref reference ticket tracking sku serial version ver
build release rev revision case po transaction txn confirmation booking reservation item part model
patent doi pmid arxiv id no nr number# lot batch policy claim shipment parcel receipt
ean upc gtin imei barcode asin code #
pedido factura referencia commande facture référence bestellung bestellnummer rechnung rechnungsnummer
kundennummer auftrag 注文番号
""".split()
)
_PHONE_WORDS = frozenset(
    """
phone telephone tel tel. mobile cell cellphone call fax whatsapp sms text dial ring hotline
handy telefon telefonnummer rufnummer handynummer mobilnummer festnetz anrufen rufen mobil
téléphone tél portable appelez appelle appeler joindre
teléfono telefono móvil movil celular llámame llamame llama llamar llámanos llámenos
電話 携帯
""".split()
)
# Japanese writes words without spaces: these mark a phone anywhere in the preceding characters.
_CJK_PHONE_MARKS = ("電話", "携帯", "ＴＥＬ", "TEL")
_LOCAL_PHONE_WORDS = _PHONE_WORDS | frozenset(
    "number reach reached texted calling called contact dialled dialed".split()
)


# -- checksums -----------------------------------------------------------------------
def luhn_valid(number: str) -> bool:
    """Luhn (mod 10) check of a digit string, as in ISO/IEC 7812-1 Annex B.

    >>> luhn_valid("79927398713")
    True
    >>> luhn_valid("79927398710")
    False
    """
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) < 2:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Lengths of the IBAN per country code (SWIFT IBAN Registry, ISO 13616).
IBAN_LENGTHS = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BI": 27,
    "BR": 29,
    "BY": 28,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DJ": 27,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FK": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IQ": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LC": 32,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "LY": 25,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MN": 20,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NI": 28,
    "NL": 18,
    "NO": 15,
    "OM": 23,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "RU": 33,
    "SA": 24,
    "SC": 31,
    "SD": 18,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "SO": 23,
    "ST": 25,
    "SV": 28,
    "TL": 23,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VA": 22,
    "VG": 24,
    "XK": 20,
    "YE": 30,
}


def iban_valid(iban: str) -> bool:
    """ISO 13616 check: registered country length and mod-97 of the rearranged number is 1.

    >>> iban_valid("GB82 WEST 1234 5698 7654 32")
    True
    >>> iban_valid("GB82 WEST 1234 5698 7654 33")
    False
    """
    s = re.sub(r"[\s-]", "", iban).upper()
    if len(s) < 5 or not s[:2].isalpha() or not s[2:4].isdigit() or not s.isalnum():
        return False
    if IBAN_LENGTHS.get(s[:2]) != len(s):
        return False
    rearranged = s[4:] + s[:4]
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    return int(numeric) % 97 == 1


def shannon_entropy(token: str) -> float:
    """Empirical Shannon entropy of a string in bits per character."""
    if not token:
        return 0.0
    n = len(token)
    return -sum(c / n * math.log2(c / n) for c in Counter(token).values())


# -- context ---------------------------------------------------------------------------
# Possessive runs, and a start only where a word starts: the backtracking form took
# 0.5 ms per call on a window such as "a.a.a.a...a.!", and it runs once per numeric candidate.
_WORD_BEFORE = re.compile(
    r"(?<![\w.\-#])([^\W\d_][\w.\-#]*+|#)[\s:#.=\-]*+(?:n[o°º]\.?|nr\.?|number|num\.?|#)?"
    r"[\s:#.=\-]*+$",
    re.IGNORECASE,
)


def _word_before(text: str, start: int) -> str:
    """The word just before ``start`` (skipping ':', '#', 'no.', 'number'), lower-cased."""
    window = text[max(0, start - 40) : start]
    if window.rstrip().endswith("#"):
        return "#"
    m = _WORD_BEFORE.search(window)
    if not m:
        return ""
    return m.group(1).lower().rstrip(".:-#")


_LETTER_RUN = re.compile(r"[^\W\d_]+")


def _words_before(text: str, start: int, n: int = 3) -> list[str]:
    window = text[max(0, start - 40) : start].lower()
    return _LETTER_RUN.findall(window)[-n:]


_CJK_RUN = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff]+")


def _names_an_identifier(text: str, start: int) -> bool:
    """True when the word just before (``Order #``, ``ISBN-13:``, ``order no.``) names an identifier."""
    word = _word_before(text, start)
    # Japanese runs on into a Latin word without a space: "詳細はKundennummer 0049 ..."
    return word in _ID_WORDS or _CJK_RUN.split(word)[-1] in _ID_WORDS


# -- detectors -------------------------------------------------------------------------
# Letters of internationalized addresses (RFC 6531/6532): Latin with its accents, Greek and
# Cyrillic, plus combining marks (a decomposed "u" + U+0308). Written out rather than \w so
# that Japanese text glued to an address ("メールはa@b.jpです") does not join it.
_LETTER = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff"
_MARK = "\u0300-\u036f"
_ALNUM = f"{_LETTER}0-9"
_LABEL = f"[{_ALNUM}](?:[{_ALNUM}{_MARK}-]*[{_ALNUM}{_MARK}])?"
_EMAIL = re.compile(
    rf"(?<![{_ALNUM}{_MARK}_.+%-])(?<![{_LETTER}]')[{_ALNUM}](?:[{_ALNUM}{_MARK}._%+-]|'(?=[{_LETTER}]))*"
    rf"@{_LABEL}(?:\.{_LABEL})*\.(?:[{_LETTER}][{_LETTER}{_MARK}]{{1,23}}|xn--[a-z0-9-]{{2,59}})"
    rf"(?![{_ALNUM}{_MARK}_-])"
)


# "jane dot doe at example dot com", "jane[at]example[dot]com".
# Linear time: a match starts only where no local-part character precedes it (with "-"
# and "+" missing from that look-behind, "1-1-1-...-1 dot at" of 8,000 characters took 8 s,
# every "1" a new start that rescanned the rest), and the dotted chains are bounded
# (else every word of "a dot a dot a ..." starts a scan to the end).
_EMAIL_OBFUSCATED = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._+-]*(?:\s*(?:\[dot\]|\(dot\)|\sdot\s)\s*[A-Za-z0-9_+-]+){0,4}"
    r"\s*(?:\[at\]|\(at\)|\{at\}|\sat\s)\s*"
    r"[A-Za-z0-9-]+(?:\s*(?:\[dot\]|\(dot\)|\{dot\}|\sdot\s|\.)\s*[A-Za-z0-9-]+){0,4}"
    r"\s*(?:\[dot\]|\(dot\)|\{dot\}|\sdot\s)\s*[A-Za-z]{2,6}(?![\w])"
    r"(?!\s*(?:\[at\]|\(at\)|\{at\}|\sat\s))",
    re.IGNORECASE | re.ASCII,
)  # the domain is not itself a local part


_SCP_PATH = re.compile(r":[\w~./-]+")


def _emails(text: str, lowered: str | None = None):
    if "@" in text:
        for m in _EMAIL.finditer(text):
            if text[m.end() : m.end() + 1] == ":" and _SCP_PATH.match(text, m.end()):
                continue  # git@github.com:org/repo.git is an scp-style path, not a mailbox
            yield m.start(), m.end()
    lowered = text.lower() if lowered is None else lowered
    if "dot" in lowered and "at" in lowered:
        for m in _EMAIL_OBFUSCATED.finditer(text):
            bracketed = re.search(r"[\[({](?:at|dot)[\])}]", m.group(), re.IGNORECASE)
            if bracketed or {"email", "mail", "e", "contact", "address", "write", "reach"} & set(
                _words_before(text, m.start(), 4)
            ):
                yield m.start(), m.end()


# Digit groups joined by one separator; an optional +CC and an optional (area) group.
_PHONE = re.compile(
    r"(?<![\w+#$€£¥@/.,-])"
    r"(?:(?:\+|00)[1-9]\d{0,2}(?:\s?\(0\))?[\s./-]?)?"
    r"(?:\(\d{1,5}\)\s?[\s./-]?)?"
    r"(?:\d{1,5}(?:[ .\-/]\d{1,8}){1,6}|\d{6,15}|0\d{1,4}\(\d{1,4}\)\d{4})"
    r"(?![\w@]|[.,:/-]\d)",
    re.ASCII,
)
# A date with a four-digit year at the front of a digit string (any of the separators a
# phone uses, space included): "2026 06 01 12" is a date-time, "01.06.2026 0930" too.
_MONTH = r"(?:0?[1-9]|1[0-2])"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_DATE_LIKE = re.compile(
    rf"^(?:(?:19|20)\d\d([ ./-]){_MONTH}\1{_DAY}"
    rf"|{_DAY}([ ./-]){_MONTH}\2(?:19|20)\d\d|{_MONTH}([ ./-]){_DAY}\3(?:19|20)\d\d)(?:\D|$)"
)
# ITU-T E.164 country codes, for numbers written with the 00 international prefix.
_COUNTRY_CODES = frozenset(
    """
1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66
81 82 84 86 90 91 92 93 94 95 98 211 212 213 216 218 220 221 222 223 224 225 226 227 228 229 230 231 232
233 234 235 236 237 238 239 240 241 242 243 244 245 246 248 249 250 251 252 253 254 255 256 257 258 260
261 262 263 264 265 266 267 268 269 290 291 297 298 299 350 351 352 353 354 355 356 357 358 359 370 371
372 373 374 375 376 377 378 380 381 382 383 385 386 387 389 420 421 423 500 501 502 503 504 505 506 507
508 509 590 591 592 593 594 595 596 597 598 599 670 672 673 674 675 676 677 678 679 680 681 682 683 685
686 687 688 689 690 691 692 850 852 853 855 856 880 886 960 961 962 963 964 965 966 967 968 970 971 972
973 974 975 976 977 992 993 994 995 996 998
""".split()
)
_INTL_00 = re.compile(r"00 ?(?=[1-9])")


def _phone_word_near(text: str, start: int, n: int = 5) -> bool:
    if set(_words_before(text, start, n)) & _PHONE_WORDS:
        return True
    window = text[max(0, start - 20) : start]
    return any(mark in window for mark in _CJK_PHONE_MARKS)


def _country_code_ok(rest: str) -> bool:
    """``rest``: the number after its 00 prefix; its first group (or leading digits) is a country code."""
    first = re.match(r"\d+", rest).group()
    if len(first) <= 3:
        return first in _COUNTRY_CODES
    return any(first[:k] in _COUNTRY_CODES for k in (1, 2, 3))


_DIGIT_RUN = re.compile(r"\d+")
_NON_DIGIT = re.compile(r"\D")
_NANP_LOCAL = re.compile(r"[2-9]\d\d[- ]\d{4}")
_CC_PREFIX = re.compile(r"^\+\d{1,3}")
_PHONE_SEPS = re.compile(r"[^\d()]+")


def _phone_ok(text: str, start: int, s: str) -> bool:
    intl = _INTL_00.match(s)
    if intl:
        # 0044 20 7946 0958: the 00 international prefix stands for "+"
        if not _country_code_ok(s[intl.end() :]):
            return False
        s = "+" + s[intl.end() :]
    groups = _DIGIT_RUN.findall(s)
    nd = sum(map(len, groups))
    has_plus = s.startswith("+")
    has_paren = "(" in s
    if nd == 7 and _NANP_LOCAL.fullmatch(s):
        # a North American local number (NXX-XXXX) only where a word around it says phone
        return bool(set(_words_before(text, start, 5)) & _LOCAL_PHONE_WORDS) and not _names_an_identifier(text, start)
    if nd < 8 or nd > 15:
        return False
    if _DATE_LIKE.match(s):
        return False
    if not has_plus and nd == 9 and s[0] in "6789" and not has_paren:
        # Spain has no trunk prefix: 612 345 678, 91 234 56 78, 612 34 56 78 are national
        # numbers, and so are thousands groups; only a phone word before decides
        shape = tuple(len(g) for g in groups)
        if shape in ((9,), (3, 3, 3), (3, 2, 2, 2), (2, 3, 2, 2)) and len(set(_NON_DIGIT.findall(s))) <= 1:
            return _phone_word_near(text, start) and not _names_an_identifier(text, start)
    if not has_plus and nd < 10 and not has_paren:
        return False  # national numbers without trunk prefix are 10+ digits in the formats we accept
    if not has_plus and nd > 13:
        return False  # national numbers (trunk prefix included) stay within 13 digits; 15-16 is card-like
    if len(groups) == 1 and not has_plus:
        # a bare run of digits is a phone only when a word says so
        if not _phone_word_near(text, start, 3):
            return False
    body = _CC_PREFIX.sub("", s) if has_plus else s
    seps = set(_PHONE_SEPS.findall(body.strip()))
    if "." in "".join(seps) and len(seps) > 1:
        return False  # 11314.50 - 8000: a decimal point among other separators
    if not has_plus and not has_paren:
        shape = tuple(len(g) for g in groups)
        if seps == {"."} and shape not in ((3, 3, 4), (1, 3, 3, 4), (2, 2, 2, 2, 2), (3, 4, 4), (2, 4, 4)):
            return False  # 10.0.19041.1234, 123.456.789.012: versions, IP-like, numbering
        if len(groups) >= 3 and all(len(g) == 3 for g in groups[1:]) and not groups[0].startswith("0"):
            return False  # 1 234 567 890: thousands separators (a leading 0 is a trunk prefix: 0412 555 678)
        if any(len(g) == 1 for g in groups[1:]):
            return False  # single-digit groups appear in phones only as a leading trunk/country digit
        if (
            len(groups) >= 2
            and max(map(len, groups)) >= 5
            and len(groups[0]) >= 4
            and groups[0].startswith(("19", "20"))
        ):
            return False  # 2024 123456: year + serial
    return not _names_an_identifier(text, start)


def _phones(text: str):
    for m in _PHONE.finditer(text):
        s = m.group()
        if _phone_ok(text, m.start(), s):
            yield m.start(), m.end()
        elif "." in s and " " in s:
            # "+1 415 555 0132 10.0.0.1": the pattern ran on into a dotted token; try without it
            head = s[: s.index(".")].rsplit(" ", 1)[0].rstrip()
            if head and _phone_ok(text, m.start(), head):
                yield m.start(), m.start() + len(head)


_CARD = re.compile(r"(?<![\w+.,/-])(?:\d[ .-]?){11,18}\d(?![\w]|[.,/-]\d)", re.ASCII)


def _card_brand_ok(digits: str) -> bool:
    n = len(digits)
    p2, p3, p4, p6 = int(digits[:2]), int(digits[:3]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4":
        return n in (13, 16, 19)  # Visa
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16  # Mastercard
    if p2 in (34, 37):
        return n == 15  # American Express
    if p4 == 6011 or p2 == 65 or 644 <= p3 <= 649 or 622126 <= p6 <= 622925:
        return 16 <= n <= 19  # Discover
    if 3528 <= p4 <= 3589:
        return 16 <= n <= 19  # JCB
    if p2 in (36, 38, 39) or 300 <= p3 <= 305 or p4 == 3095:
        return 14 <= n <= 19  # Diners Club
    if p2 == 62:
        return 16 <= n <= 19  # UnionPay
    if digits[0] in "56":
        return 12 <= n <= 19  # Maestro
    return False


_CARD_SEP = re.compile(r"[ .-]")


def _cards(text: str):
    for m in _CARD.finditer(text):
        s = m.group()
        digits = s.replace(" ", "").replace("-", "").replace(".", "")
        if not 12 <= len(digits) <= 19:
            continue
        groups = _CARD_SEP.split(s)
        if len(groups) > 1:
            if len(set(_CARD_SEP.findall(s))) > 1:
                continue  # mixed separators
            if any(len(g) < 4 for g in groups[:-1]) or len(groups) > 5:
                continue  # cards are printed in groups of 4 (or 4-6-5)
        if _card_brand_ok(digits) and luhn_valid(digits) and not _names_an_identifier(text, m.start()):
            yield m.start(), m.end()


_IBAN = re.compile(r"(?<![\w])([A-Z]{2}\d{2}(?:[ ]{0,2}[A-Z0-9]){10,30})(?![a-z0-9])", re.IGNORECASE | re.ASCII)


def _one_case(candidate: str) -> bool:
    """DE89..., de89...: an IBAN is written in capitals or, typed in a hurry, all in lower case.

    ``candidate`` starts with the two letters of the country code, so it has a cased
    character and ``isupper``/``islower`` say "every letter"."""
    return candidate.isupper() or candidate.islower()


_IBAN_BODY: dict[int, re.Pattern] = {}


def _iban_body(length: int) -> re.Pattern:
    """Exactly ``length`` alphanumerics, one or two spaces allowed between them."""
    pattern = _IBAN_BODY.get(length)
    if pattern is None:
        pattern = _IBAN_BODY[length] = re.compile(rf"[A-Za-z0-9](?: {{0,2}}[A-Za-z0-9]){{{length - 1}}}", re.ASCII)
    return pattern


def _iban_shapes(text: str):
    """(start, end, match_end, valid) of each IBAN-shaped string: a registered country code,
    exactly its registry length of alphanumerics, in one case; ``valid`` is the mod-97 check.

    The pattern runs on into following words (it cannot count per country), so the
    scan resumes right after an accepted IBAN, or one character after a rejected start,
    never after the whole match: "GB82WEST12345698765432 or DE89 3704 ..." has two.
    """
    pos = 0
    while True:
        m = _IBAN.search(text, pos)
        if m is None:
            return
        s = m.group(1)
        length = IBAN_LENGTHS.get(s[:2].upper())
        found, end = False, 0
        # take exactly `length` alphanumerics (a following word may have been swallowed)
        body = _iban_body(length).match(s) if length is not None else None
        if body is not None and _one_case(body.group()):
            end = body.end()
            glued = end < len(s) and s[end] != " "
            valid = not glued and iban_valid(body.group())
            yield m.start(1), m.start(1) + end, m.end(1), valid
            found = valid
        pos = m.start(1) + end if found else m.start(1) + 1


def _ibans(text: str):
    for start, end, _, valid in _iban_shapes(text):
        if valid:
            yield start, end


_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)(\d{3})([- ])(?!00)\d{2}\2(?!0000)\d{4}(?![\w]|-\d)", re.ASCII)
_SSN_BARE = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}(?!00)\d{2}(?!0000)\d{4}(?![\w-])", re.ASCII)


def _ssns(text: str):
    for m in _SSN.finditer(text):
        if _names_an_identifier(text, m.start()):
            continue
        yield m.start(), m.end()
    lowered = text.lower()
    if "ssn" in lowered or "social security" in lowered:
        for m in _SSN_BARE.finditer(text):
            if {"ssn", "security"} & set(_words_before(text, m.start(), 3)):
                yield m.start(), m.end()


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(
    rf"(?<![\w.:])(?:{_OCTET}\.){{3}}{_OCTET}(?:/(?:3[0-2]|[12]?\d))?(?::\d{{1,5}})?(?!\w|\.\d)", re.ASCII
)
_VERSION_WORDS = frozenset(
    {
        "version",
        "ver",
        "v",
        "release",
        "build",
        "rev",
        "revision",
        "firmware",
        "patch",
        "update",
        "oid",
        "python",
        "node",
        "java",
        "chrome",
        "windows",
        "ios",
        "android",
        "section",
        "sec",
        "chapter",
        "clause",
        "figure",
        "fig",
        "table",
        "step",
        "rule",
        "article",
        "paragraph",
        "para",
        "part",
        "appendix",
        "item",
        "exercise",
        "theorem",
        "lemma",
        "equation",
    }
)


def _ipv4s(text: str):
    for m in _IPV4.finditer(text):
        if set(_words_before(text, m.start(), 2)) & _VERSION_WORDS:
            continue
        first = int(m.group().split(".")[0])
        if first == 0 or first >= 240:
            continue  # 255.255.255.0 is a netmask; 0/8 and 240/4 are reserved, never a host
        yield m.start(), m.end()


_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])"
    r"(?:/\d{1,3})?",
    re.ASCII,
)


def _ipv6s(text: str):
    if text.count(":") < 2:
        return
    for m in _IPV6.finditer(text):
        s = m.group().split("/")[0]
        groups = [g for g in s.split(":") if g]
        if "::" in s:
            if len(groups) < 2 and s not in ("::1",):
                continue
            if not any(len(g) >= 3 for g in groups) and s != "::1":
                continue  # 12::30 and the like are not written as addresses
        elif len(groups) != 8 and not (len(groups) == 7 and "." in groups[-1]):
            continue
        try:
            ipaddress.IPv6Address(s)
        except ValueError:
            continue
        if not re.search(r"[0-9]", s):
            continue
        yield m.start(), m.end()


_KEY_PREFIXED = re.compile(
    r"(?<![\w-])(?:"
    r"sk-(?:proj-|ant-(?:api\d\d-)?|svcacct-)?[A-Za-z0-9_-]{20,}"
    r"|(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}"
    r"|github_pat_[A-Za-z0-9_]{22,}"
    r"|(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}"
    r"|AIza[0-9A-Za-z_-]{35}"
    r"|xox[abposr]-[0-9A-Za-z-]{10,}"
    r"|(?:sk|pk|rk)_(?:live|test)_[0-9A-Za-z]{16,}"
    r"|glpat-[0-9A-Za-z_-]{20,}"
    r"|hf_[A-Za-z0-9]{30,}"
    r"|npm_[A-Za-z0-9]{36}"
    r"|SG\.[\w-]{16,}\.[\w-]{16,}"
    r"|eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}"
    r"|-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"
    r")(?![\w-])",
    re.ASCII,
)
_KEY_ASSIGNED = re.compile(
    r"(?i:\b(?:api[_ -]?key|apikey|secret(?:[_ -]?key)?|access[_ -]?(?:key|token)|auth[_ -]?token|token"
    r"|client[_ -]?secret|password|passwd|pwd|bearer)\b[\"']?\s*(?:[:=]|\bis\b)?\s*[\"']?)"
    r"([A-Za-z0-9_\-+/=.~]{12,})",
    re.ASCII,
)
_KEY_BARE = re.compile(r"(?<![\w+/=.-])[A-Za-z0-9_\-+/]{32,}={0,2}(?![\w+/=-])", re.ASCII)
_DIGEST_PREFIX = re.compile(r"(?i)(?:sha(?:1|224|256|384|512)|md5|blake2b?|integrity|checksum|digest|hash)[-:= ]*$")


_DIGEST_TOKEN = re.compile(r"(?i)(?:sha(?:1|224|256|384|512)|md5)[-_:]")


def _mixed(token: str) -> bool:
    return bool(re.search(r"[a-z]", token) and re.search(r"[A-Z]", token) and re.search(r"\d", token))


_KEY_PREFIXES = (
    "sk-",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "AKIA",
    "ASIA",
    "AGPA",
    "AIDA",
    "AROA",
    "AIza",
    "xox",
    "sk_",
    "pk_",
    "rk_",
    "glpat-",
    "hf_",
    "npm_",
    "SG.",
    "eyJ",
    "PRIVATE KEY",
)
_KEY_WORDS = ("key", "secret", "token", "passw", "pwd", "bearer")


def _api_keys(text: str, longest: int = 10**9, lowered: str | None = None):
    if any(p in text for p in _KEY_PREFIXES):
        for m in _KEY_PREFIXED.finditer(text):
            yield m.start(), m.end()
    lowered = text.lower() if lowered is None else lowered
    if any(w in lowered for w in _KEY_WORDS):
        yield from _assigned_keys(text)
    if longest >= 32:
        yield from _bare_keys(text)


def _assigned_keys(text: str):
    for m in _KEY_ASSIGNED.finditer(text):
        value = m.group(1)
        if _DIGEST_PREFIX.search(text[max(0, m.start(1) - 12) : m.start(1)]):
            continue
        if re.fullmatch(r"[0-9a-f]+", value) and len(value) in (32, 40, 64, 128):
            continue  # a hex digest named as such is not a secret
        if value.isalpha() and value.islower():
            continue  # a word ("token is required")
        if shannon_entropy(value) >= 3.0 and re.search(r"\d", value) or _mixed(value):
            yield m.start(1), m.end(1)


def _sequential(token: str) -> bool:
    """abcdef..., 123456...: runs of consecutive code points are typed, not random."""
    steps = sum(1 for a, b in zip(token, token[1:]) if ord(b) - ord(a) == 1)
    return steps > len(token) / 2


def _bare_keys(text: str):
    for m in _KEY_BARE.finditer(text):
        token = m.group()
        if not _mixed(token) or shannon_entropy(token) < 4.2 or _sequential(token):
            continue
        before = text[max(0, m.start() - 12) : m.start()]
        if _DIGEST_PREFIX.search(before) or _DIGEST_TOKEN.match(token) or before.endswith("base64,"):
            continue  # subresource-integrity digests and inline base64 data are not secrets
        if "/" in token and token.count("/") >= 2 and not re.search(r"\d{3}", token):
            continue  # a path
        yield m.start(), m.end()


_STREET_TYPES = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Terrace|Ter"
    r"|Way|Parkway|Pkwy|Circle|Cir|Highway|Hwy|Square|Sq|Crescent|Close|Row|Alley|Trail|Plaza|Loop"
)
_ADDRESS_EN = re.compile(
    rf"(?<![\w#$.,-])\d{{1,5}}[A-Za-z]?(?:-\d{{1,4}})?\s+(?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?\s+)?"
    rf"(?:[A-Z][a-z]+\s+|\d{{1,3}}(?:st|nd|rd|th)\s+){{1,4}}(?:{_STREET_TYPES})\b\.?"
    r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|#)\.?\s*#?\w{1,5})?"
    r"(?:,\s+[A-Z][a-z]+(?:\s[A-Z][a-z]+){0,2}(?:,\s*|\s+)[A-Z]{2}\s+\d{5}(?:-\d{4})?"
    r"|,\s+[A-Z][a-z]+(?:\s[A-Z][a-z]+){0,2}(?:,?\s+[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2})?)?",
    re.ASCII,
)
_ADDRESS_DE = re.compile(
    r"(?<![\w-])[A-ZÄÖÜ][a-zäöüß]+(?:-[A-ZÄÖÜ][a-zäöüß]+)*(?:straße|strasse|str\.|weg|gasse|platz|allee|damm)"
    r"\s+\d{1,4}[a-z]?(?![\w])(?:,\s+\d{5}\s+[A-ZÄÖÜ][a-zäöüß]+)?"
)
_ADDRESS_DE2 = re.compile(
    r"(?<![\w-])(?:Rue|Avenue|Boulevard|Calle|Avenida|Via|Viale|Piazza|Plaza)\s+(?:de\s+la\s+|de\s+|del\s+|des\s+|du\s+)?"
    r"[A-ZÁÉÍÓÚ][\wáéíóúàèç'-]+(?:\s+[A-ZÁÉÍÓÚ][\wáéíóúàèç'-]+){0,2},?\s+\d{1,4}(?![\w])"
)
_PO_BOX = re.compile(r"(?<![\w])(?:P\.?\s?O\.?\s?Box|Post Office Box)\s+\d{1,6}(?![\w])", re.IGNORECASE | re.ASCII)
# The street word in any case ("12 Rue de la Paix", "12 rue de la paix"), the further words of
# the name capitalised: "12 rue de la Paix mail a1@ex.com" must not run into the next words.
_FR_ADDRESS = re.compile(
    r"(?<![\w-])\d{1,4}(?:\s?(?i:bis|ter))?,?\s+(?i:rue|avenue|boulevard|bd|place|chemin|allée|impasse|quai)\s+"
    r"(?i:de\s+la\s+|de\s+l'|des\s+|du\s+|de\s+)?(?i:[A-ZÉÈ])[\wéèêàç'-]+(?:\s+[A-ZÉÈ][\wéèêàç'-]+){0,2}"
)


_YEAR_FIRST = re.compile(r"(?:1[5-9]|20)\d\d\s")


_ADDRESS_EN_HINT = re.compile(r"\d[A-Za-z]?(?:-\d+)?\s+[A-Z0-9]", re.ASCII)
_DE_STREET_WORDS = ("straße", "strasse", "str.", "weg", "gasse", "platz", "allee", "damm")
_ROMANCE_STREET_WORDS = (
    "rue",
    "calle",
    "via",
    "viale",
    "piazza",
    "plaza",
    "avenida",
    "avenue",
    "boulevard",
    "bd ",
    "place",
    "chemin",
    "allée",
    "impasse",
    "quai",
)


def _addresses(text: str, lowered: str | None = None):
    lowered = text.lower() if lowered is None else lowered
    patterns = []
    if _ADDRESS_EN_HINT.search(text):
        patterns.append(_ADDRESS_EN)
    if any(w in lowered for w in _DE_STREET_WORDS):
        patterns.append(_ADDRESS_DE)
    if any(w in lowered for w in _ROMANCE_STREET_WORDS):
        patterns += [_ADDRESS_DE2, _FR_ADDRESS]
    if "box" in lowered:
        patterns.append(_PO_BOX)
    for pattern in patterns:
        for m in pattern.finditer(text):
            if pattern is _ADDRESS_EN and _YEAR_FIRST.match(m.group()) and "," not in m.group():
                continue  # "1937 Supreme Court case": a year, not a house number
            yield m.start(), m.end()


_DETECTORS = (
    ("API_KEY", _api_keys),
    ("EMAIL", _emails),
    ("IBAN", _ibans),
    ("CARD", _cards),
    ("SSN", _ssns),
    ("IPV6", _ipv6s),
    ("IPV4", _ipv4s),
    ("ADDRESS", _addresses),
    ("PHONE", _phones),
)
_HAS_DIGIT = re.compile(r"\d")

# Shapes that are not personal data but contain digit groups another detector
# could take: a number inside one of these is left alone.
_NOT_PII = re.compile(
    r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"  # UUID
    r"|\b[0-9a-f]{32,128}\b"  # hex digest
    r"|\b(?:19|20)\d\d-[01]\d-[0-3]\d[T ][0-2]\d:[0-5]\d(?::[0-5]\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d:?\d\d)?"  # ISO 8601
    r"|\bISBN(?:-1[03])?:?\s*(?:97[89][- ]?)?\d{1,5}[- ]?\d{1,7}[- ]?\d{1,7}[- ]?[\dX]\b",  # ISBN
    re.ASCII,
)


def _not_pii_spans(text: str) -> list[tuple[int, int]]:
    spans = [(m.start(), m.end()) for m in _NOT_PII.finditer(text)]
    # an IBAN-shaped string with a registered country whose checksum fails
    spans += [(start, end) for start, end, _, valid in _iban_shapes(text) if not valid]
    return spans


class _Occupancy:
    """Which characters of a text are taken: one byte per character.

    ``free`` and ``take`` cost the length of the span, and the spans one detector
    yields do not overlap, so resolving all candidates costs O(len(text)) per detector.
    """

    __slots__ = ("_marks",)

    def __init__(self, n: int):
        self._marks = bytearray(n)

    def free(self, start: int, end: int) -> bool:
        return self._marks.find(1, start, end) < 0

    def take(self, start: int, end: int) -> None:
        self._marks[start:end] = b"\x01" * (end - start)


# Characters folded before detection. Full-width forms (U+FF01-FF5E) are ASCII shifted by
# U+FEE0 ("０３－１２３４" is 03-1234); spaces other than U+0020 (no-break, narrow, ideographic)
# separate digit groups as a space does; hyphens and the minus sign join them as "-".
# Zero-width and direction marks and the soft hyphen are deleted: "ja\u200bne@..." is jane@.
_FOLD_TABLE = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_FOLD_TABLE.update({c: 0x20 for c in (0x00A0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)})
_FOLD_TABLE.update({c: 0x2D for c in (0x2010, 0x2011, 0x2012, 0x2013, 0x2212, 0xFE63)})
_FOLD_TABLE.update({0xFE6B: 0x40})  # small commercial at
_DELETED = (0x00AD, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF)
_FOLD_TABLE.update({c: None for c in _DELETED})
_FOLD_CHARS = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_FOLD_TABLE)) + "]")
_DELETED_CHARS = re.compile("[" + "".join(chr(c) for c in _DELETED) + "]")


def fold_text(text: str) -> tuple[str, list[int]]:
    """The text the detectors read, and where characters were deleted.

    Returns ``(folded, deleted)``: ``folded`` has full-width forms, Unicode spaces and
    dashes replaced one for one by their ASCII forms and zero-width characters removed;
    ``deleted[k]`` is the index in ``folded`` before which the k-th removed character
    stood (sorted), so folded index ``j`` is original index
    ``j + bisect_right(deleted, j)``.

    >>> fold_text("０３－１２３４")
    ('03-1234', [])
    >>> fold_text("ja\u200bne")
    ('jane', [2])
    """
    if text.isascii() or not _FOLD_CHARS.search(text):
        return text, []
    deleted = [m.start() - k for k, m in enumerate(_DELETED_CHARS.finditer(text))]
    return text.translate(_FOLD_TABLE), deleted


_BLOCKABLE = frozenset({"PHONE", "CARD", "SSN", "IPV4", "ADDRESS"})
_MIN_DIGITS = {"IBAN": 4, "CARD": 12, "SSN": 9, "IPV4": 4, "IPV6": 1, "ADDRESS": 1, "PHONE": 7}


def find_pii(text: str, types: tuple[str, ...] | None = None) -> list[tuple[str, int, int]]:
    """(type, start, end) of each PII span, left to right, non-overlapping.

    Parameters
    ----------
    text : str
        Any text; non-strings and empty strings give ``[]``.
    types : tuple of str, optional
        Restrict to these types (default: all of :data:`PII_TYPES`).

    Notes
    -----
    Where detectors overlap, the type earlier in API_KEY, EMAIL, IBAN, CARD, SSN,
    IPV6, IPV4, ADDRESS, PHONE wins, then the longer span.

    The detectors read a folded copy of the text (:func:`fold_text`: full-width forms
    to ASCII, Unicode spaces and dashes to ASCII, zero-width characters removed); the
    spans returned index the original ``text``, so a span covers every character the
    value was written with, zero-width ones inside it included.

    Time is linear in the length of the text: each detector scans it once, and
    overlapping candidates are resolved against a per-character occupancy map.
    """
    if not isinstance(text, str) or not text:
        return []
    folded, deleted = fold_text(text)
    spans = _find_pii_folded(folded, types)
    if not deleted:
        return spans
    # folded index j is original index j + (characters deleted before it)
    return [
        (kind, start + bisect_right(deleted, start), end - 1 + bisect_right(deleted, end - 1) + 1)
        for kind, start, end in spans
    ]


def _find_pii_folded(text: str, types: tuple[str, ...] | None) -> list[tuple[str, int, int]]:
    # Cheap gates first: most lines lack the digits, '@' or long tokens a detector needs.
    n_digits = sum(map(text.count, "0123456789"))
    has_digit = n_digits > 0
    longest = max(map(len, text.split()), default=0)
    lowered = text.lower()
    candidates: list[tuple[int, int, int, str]] = []
    for kind, detector in _DETECTORS:
        if types is not None and kind not in types:
            continue
        if kind == "API_KEY":
            if longest < 12 and "PRIVATE KEY" not in text:
                continue
            found = _api_keys(text, longest, lowered)
        elif kind == "EMAIL":
            if "@" not in text and "dot" not in lowered:
                continue
            found = _emails(text, lowered)
        elif kind == "ADDRESS":
            if not n_digits:
                continue
            found = _addresses(text, lowered)
        elif n_digits < _MIN_DIGITS[kind]:
            continue
        elif kind == "IPV4" and text.count(".") < 3:
            continue
        elif kind == "IPV6" and text.count(":") < 2:
            continue
        else:
            found = detector(text)
        for start, end in found:
            candidates.append((_PRIORITY[kind], -(end - start), start, kind))
    if not candidates:
        return []
    if has_digit and any(c[3] in _BLOCKABLE for c in candidates):
        blocked = _not_pii_spans(text)
        if blocked:
            shield = _Occupancy(len(text))
            for s, e in blocked:
                shield.take(s, e)
            candidates = [c for c in candidates if c[3] not in _BLOCKABLE or shield.free(c[2], c[2] - c[1])]
    candidates.sort()
    # Greedy by priority, then length: each candidate is checked against the characters
    # already taken, not against every earlier span (that comparison was quadratic in
    # the number of matches: 16,000 e-mails in one text took 22 s).
    occupied = _Occupancy(len(text))
    taken: list[tuple[str, int, int]] = []
    for _, neglen, start, kind in candidates:
        end = start - neglen
        if occupied.free(start, end):
            occupied.take(start, end)
            taken.append((kind, start, end))
    return sorted(taken, key=lambda s: s[1])


def redact(text) -> str:
    """Replace every detected PII span with ``[TYPE]``; non-strings become ''.

    >>> redact("Mail jane.doe@example.com or call +44 20 7946 0958.")
    'Mail [EMAIL] or call [PHONE].'
    """
    if text is None or (isinstance(text, float) and text != text):
        return ""
    text = str(text)
    spans = find_pii(text)
    if not spans:
        return text
    out, pos = [], 0
    for kind, start, end in spans:
        out.append(text[pos:start])
        out.append(f"[{kind}]")
        pos = end
    out.append(text[pos:])
    return "".join(out)


def pii_counts(text: str) -> dict[str, int]:
    """Number of spans per type in one text (types with none are left out)."""
    return dict(Counter(kind for kind, _, _ in find_pii(text)))
