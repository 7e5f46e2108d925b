"""International, internationalized and folded PII formats: found, with exact spans in the
original text, and their look-alikes (date-times, prices, order ids) left alone."""

from __future__ import annotations

import pytest

from trainerlab.pii import find_pii, fold_text, redact


@pytest.mark.parametrize(
    "text, kind, value",
    [
        # the 00 international prefix and the "(0)" trunk digit
        ("Ruf an: +49 (0)30 1234567", "PHONE", "+49 (0)30 1234567"),
        ("Tel. 0044 20 7946 0958", "PHONE", "0044 20 7946 0958"),
        ("call 0044 20 7946 0958 now", "PHONE", "0044 20 7946 0958"),
        ("Telefon 0049 30 12345678", "PHONE", "0049 30 12345678"),
        ("0033 6 12 34 56 78 est mon numéro", "PHONE", "0033 6 12 34 56 78"),
        ("Tél : +33 (0)1 23 45 67 89", "PHONE", "+33 (0)1 23 45 67 89"),
        # national formats of the demo's languages
        ("Telefon: 030/1234567", "PHONE", "030/1234567"),
        ("Tel.: (030) 1234567", "PHONE", "(030) 1234567"),
        ("Handy 0171/2345678", "PHONE", "0171/2345678"),
        ("Llámame al 612 345 678", "PHONE", "612 345 678"),
        ("Mi teléfono es 912 34 56 78", "PHONE", "912 34 56 78"),
        ("Mi móvil: 612 34 56 78", "PHONE", "612 34 56 78"),
        ("Appelez le 01.23.45.67.89", "PHONE", "01.23.45.67.89"),
        ("Portable 06-12-34-56-78", "PHONE", "06-12-34-56-78"),
        ("電話：03(1234)5678", "PHONE", "03(1234)5678"),
        ("フリーダイヤル0120-123-456まで", "PHONE", "0120-123-456"),
        ("Tel +81-3-1234-5678", "PHONE", "+81-3-1234-5678"),
        # internationalized e-mail addresses
        ("Mail jürgen@müller.de now", "EMAIL", "jürgen@müller.de"),
        ("Mail josé.garcía@correo.es now", "EMAIL", "josé.garcía@correo.es"),
        ("Mail иван@пример.рф now", "EMAIL", "иван@пример.рф"),
        ("私のメールはjürgen@müller.deです。", "EMAIL", "jürgen@müller.de"),
        ("Mail ju\u0308rgen@mu\u0308ller.de now", "EMAIL", "ju\u0308rgen@mu\u0308ller.de"),
        # full-width, zero-width and no-break characters: the span covers the original characters
        ("Mail ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ now", "EMAIL", "ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
        ("Mail ja\u200bne@exam\u200bple.com now", "EMAIL", "ja\u200bne@exam\u200bple.com"),
        ("電話番号は０３－１２３４－５６７８です", "PHONE", "０３－１２３４－５６７８"),
        ("Call +44\u00a020\u00a07946\u00a00958 now", "PHONE", "+44\u00a020\u00a07946\u00a00958"),
        ("Call +44 20 7946\u200b0958 now", "PHONE", "+44 20 7946\u200b0958"),
        ("card ４１１１ １１１１ １１１１ １１１１ ok", "CARD", "４１１１ １１１１ １１１１ １１１１"),
        ("\u200b\u200bcard 4111\u200b1111\u200b1111\u200b1111", "CARD", "4111\u200b1111\u200b1111\u200b1111"),
        # IBANs in lower case or grouped otherwise; cards with dots
        ("IBAN de89 3704 0044 0532 0130 00 ok", "IBAN", "de89 3704 0044 0532 0130 00"),
        ("IBAN de89370400440532013000 ok", "IBAN", "de89370400440532013000"),
        ("IBAN DE89 370400440532013000 ok", "IBAN", "DE89 370400440532013000"),
        ("IBAN DE89  3704  0044  0532  0130  00 ok", "IBAN", "DE89  3704  0044  0532  0130  00"),
        ("card 4111.1111.1111.1111 ok", "CARD", "4111.1111.1111.1111"),
    ],
)
def test_format_is_found_with_its_exact_span(text, kind, value):
    assert [(k, text[s:e]) for k, s, e in find_pii(text)] == [(kind, value)]


@pytest.mark.parametrize(
    "text",
    [
        "Meeting 2026 06 01 12",
        "at 2026 06 01 12:30",
        "on 01 06 2026 12",
        "2026 06 01 12 30 00",
        "2026 12 31 23 59",
        "version 2.10.3.4567",
        "order 2026 0601 1234",
        "price 1 299,00 €",
        "€ 1.299.000,00",
        "build 20260601.1234",
        "1 234 567 890 tokens",
        "2026-06-01 12",
        "2026.06.01 12:00",
        "Ticket 0044 2079 4609",
        "order #0049 3012 3456",
        "número de pedido 612 345 678",
        "912 345 678 habitantes",
        "Bestellnummer 4412 7781 2290",
        "注文番号0312345678",
        "card 4111.1111.1111.1112 (Luhn fails)",
        "IBAN de89 3704 0044 0532 0130 01 (checksum fails)",
        "De89 3704 0044 0532 0130 00 (mixed case)",
        "0012 3456 7890 is not a country code",
        "２０２６－０６－０１ １２：３０",
    ],
)
def test_look_alikes_are_left_alone(text):
    assert find_pii(text) == []


def test_redaction_replaces_the_original_characters():
    text = (
        "Mail ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ, call ０３－１２３４－５６７８\u200b or +44\u00a020\u00a07946\u00a00958."
    )
    assert redact(text) == "Mail [EMAIL], call [PHONE]\u200b or [PHONE]."
    zw = "\u200bja\u200bne@exam\u200bple.com\u200b!"
    assert redact(zw) == "\u200b[EMAIL]\u200b!"


def test_spans_map_back_through_many_deletions():
    # a zero-width character between every character: every span must still start and
    # end on the original value's first and last characters
    value = "jane.doe@example.com"
    text = "x \u200b" + "\u200b".join(value) + "\u200b y " + "\u200b".join("+44 20 7946 0958") + "\u200b."
    spans = find_pii(text)
    assert [(k, text[s:e].replace("\u200b", "")) for k, s, e in spans] == [
        ("EMAIL", value),
        ("PHONE", "+44 20 7946 0958"),
    ]
    for _, s, e in spans:
        assert text[s] != "\u200b" and text[e - 1] != "\u200b"


def test_fold_text_maps_full_width_and_spaces_one_for_one():
    assert fold_text("ＡＢ１２＠．\u3000\u00a0\u2011") == ("AB12@.  -", [])
    assert fold_text("a\u200b\u200cb\ufeff") == ("ab", [1, 1, 2])
    plain = "nothing to fold: ascii"
    assert fold_text(plain) == (plain, [])


def test_two_ibans_in_a_row_are_both_found():
    """The IBAN pattern runs on into the next words; the scan resumes after each IBAN."""
    text = "IBAN GB82WEST12345698765432 or DE89 3704 0044 0532 0130 00"
    assert [(k, text[s:e]) for k, s, e in find_pii(text)] == [
        ("IBAN", "GB82WEST12345698765432"),
        ("IBAN", "DE89 3704 0044 0532 0130 00"),
    ]


def test_a_bad_iban_does_not_hide_the_phone_after_it():
    text = "IBAN GB82 WEST 1234 5698 7654 33 call 020 7946 0958"
    assert [(k, text[s:e]) for k, s, e in find_pii(text)] == [("PHONE", "020 7946 0958")]


def test_a_french_street_does_not_swallow_the_next_words():
    text = "ship to 12 rue de la Paix mail a1@ex.com"
    assert [(k, text[s:e]) for k, s, e in find_pii(text)] == [("ADDRESS", "12 rue de la Paix"), ("EMAIL", "a1@ex.com")]
