"""PII detectors: checksums against published test vectors, each type, redaction contract."""

from __future__ import annotations

import pytest

from trainerlab.pii import PII_TYPES, find_pii, iban_valid, luhn_valid, redact, shannon_entropy


# -- checksums: published vectors ---------------------------------------------------------
@pytest.mark.parametrize(
    "number, valid",
    [
        ("79927398713", True),  # the worked example of the Luhn algorithm (ISO/IEC 7812-1 Annex B)
        ("79927398710", False),
        ("4111111111111111", True),  # processors' Visa test number
        ("4111111111111112", False),
        ("378282246310005", True),  # Amex test number
        ("6011111111111117", True),  # Discover test number
        ("0", False),
    ],
)
def test_luhn_against_published_vectors(number, valid):
    assert luhn_valid(number) is valid


@pytest.mark.parametrize(
    "iban, valid",
    [
        ("GB82 WEST 1234 5698 7654 32", True),  # ISO 13616 / ECBS example
        ("GB82WEST12345698765432", True),
        ("DE89 3704 0044 0532 0130 00", True),  # Deutsche Bundesbank example
        ("FR14 2004 1010 0505 0001 3M02 606", True),
        ("NO93 8601 1117 947", True),  # shortest registered (15)
        ("GB82 WEST 1234 5698 7654 33", False),  # check digits wrong
        ("GB82 WEST 1234 5698 7654 3", False),  # too short for GB (22)
        ("XX82 WEST 1234 5698 7654 32", False),  # no such country
    ],
)
def test_iban_mod97_against_published_examples(iban, valid):
    assert iban_valid(iban) is valid


def test_entropy_of_known_strings():
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)
    assert shannon_entropy("") == 0.0


# -- one example per type, plus its look-alike ---------------------------------------------
@pytest.mark.parametrize(
    "text, kind, value",
    [
        ("Mail jane.doe@example.com today", "EMAIL", "jane.doe@example.com"),
        ("Call +44 20 7946 0958 now", "PHONE", "+44 20 7946 0958"),
        ("Call (415) 555-0132 now", "PHONE", "(415) 555-0132"),
        ("電話番号は03-1234-5678です", "PHONE", "03-1234-5678"),
        ("Card 4111 1111 1111 1111 exp 12/28", "CARD", "4111 1111 1111 1111"),
        ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN", "DE89 3704 0044 0532 0130 00"),
        ("SSN 219-09-9999 on file", "SSN", "219-09-9999"),
        ("from 203.0.113.45 at noon", "IPV4", "203.0.113.45"),
        ("host 2001:db8::1 is up", "IPV6", "2001:db8::1"),
        ("key AKIAIOSFODNN7EXAMPLE leaked", "API_KEY", "AKIAIOSFODNN7EXAMPLE"),
        ("ship to 221B Baker Street, London today", "ADDRESS", "221B Baker Street, London"),
    ],
)
def test_each_type_is_found_with_its_span(text, kind, value):
    spans = find_pii(text)
    assert [(k, text[s:e]) for k, s, e in spans] == [(kind, value)]


@pytest.mark.parametrize(
    "text",
    [
        "ISBN 978-3-16-148410-0",
        "Order #123-456-7890 shipped",
        "Timestamp 2026-06-01 12:30:45",
        "version 10.0.19041.1234",
        "commit 3f2a9b1c7d4e5f60718293a4b5c6d7e8f9012345",
        "Card 4111 1111 1111 1112 (Luhn fails)",
        "IBAN GB82 WEST 1234 5698 7654 33 (checksum fails)",
        "000-12-3456 is never issued",
        "netmask 255.255.255.0",
        "request 550e8400-e29b-41d4-a716-446655440000",
        "IMEI 490154203237518",
        "std::vector<int> and 12:30:45",
        "1,234,567 and 1 234 567 890 and 3.14159",
    ],
)
def test_tricky_negatives_are_left_alone(text):
    assert find_pii(text) == []


def test_find_pii_contract_sorted_non_overlapping():
    text = "a@b.co 4111111111111111 +1 415 555 0132 10.0.0.1"
    spans = find_pii(text)
    assert [k for k, _, _ in spans] == ["EMAIL", "CARD", "PHONE", "IPV4"]
    for (_, _s1, e1), (_, s2, _e2) in zip(spans, spans[1:]):
        assert e1 <= s2
    assert all(k in PII_TYPES for k, _, _ in spans)


def test_redact_typed_placeholders_and_non_strings():
    assert redact("Mail jane.doe@example.com or call +44 20 7946 0958.") == "Mail [EMAIL] or call [PHONE]."
    assert redact("card 5555 5555 5555 4444") == "card [CARD]"
    assert redact(None) == ""
    assert redact(float("nan")) == ""
    assert redact(12) == "12"
    assert redact("nothing here") == "nothing here"


def test_redacted_text_has_nothing_left_to_find():
    text = (
        "Jane (jane@example.com, +1 415 555 0132) paid with 4111 1111 1111 1111 from 10.0.0.1; "
        "IBAN GB82WEST12345698765432, SSN 219-09-9999, token ghp_1234567890abcdefghijABCDEFGHIJ123456"
    )
    assert find_pii(redact(text)) == []


def test_types_filter():
    text = "jane@example.com +1 415 555 0132"
    assert [k for k, _, _ in find_pii(text, types=("PHONE",))] == ["PHONE"]
