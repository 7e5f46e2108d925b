"""Planted failure-mode sets: texts whose true mode is known, for measuring a clustering.

Every mode has hand-written *phrasings* that say the same failure in genuinely different
words (not synonym swaps of one template), a few in German, Spanish and French, and
slots ({n}, {product}, ...) filled at random so that texts of one phrasing differ too.
:func:`planted_failure_set` draws a set from a seed: 4-15 modes, 2-5 phrasings per mode,
imbalanced mode sizes, one-off outliers, optionally other languages and optionally a
boilerplate opening and closing drawn from one pool shared by all modes (the case where
words outside the core sentence say nothing about the mode).

The banks are separate from the demo's (``trainerlab.demo_texts``): a clustering tuned
on one cannot have memorised the other. Everything here is fiction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MODES", "OUTLIERS", "planted_failure_set", "planted_ari"]

# mode -> {"en": [phrasings], "de": [...], "es": [...], "fr": [...]}
MODES: dict[str, dict[str, list[str]]] = {
    "invented_refund_policy": {
        "en": [
            "claimed a {n}-day refund window that does not exist",
            "promised the customer a refund even though the return period was long over",
            "made up a money-back guarantee that is not in our terms",
            "told the user they could return the {product} any time for full credit, which is not our policy",
            "invented a reimbursement rule and quoted it as official",
        ],
        "de": ["hat eine Rückgaberegel von {n} Tagen erfunden, die es nicht gibt"],
        "es": ["se inventó una política de reembolso de {n} días que no existe"],
        "fr": ["a inventé une politique de remboursement de {n} jours qui n'existe pas"],
    },
    "wrong_account_balance": {
        "en": [
            "reported the wrong account balance, {amount} instead of the real figure",
            "read out another customer's balance instead of this user's",
            "the amount it quoted as owed does not match the ledger",
            "gave an incorrect number for how much money is left in the account",
            "said the invoice total was {amount} but the bill says otherwise",
        ],
        "de": ["hat einen falschen Kontostand von {amount} genannt"],
        "es": ["dio un saldo de cuenta equivocado de {amount}"],
    },
    "pii_leak": {
        "en": [
            "exposed the customer's email address and phone number in the reply",
            "pasted someone's home address into the chat",
            "revealed personal contact details of another user",
            "the answer included a full credit card number",
            "disclosed private information about a person who was not the requester",
        ],
        "de": ["hat die private Telefonnummer eines anderen Kunden verraten"],
        "fr": ["a divulgué l'adresse e-mail et le téléphone d'un autre client"],
    },
    "overcautious_refusal": {
        "en": [
            "refused a harmless request about {topic} for no reason",
            "declined to help with a perfectly ordinary question",
            "said it cannot assist even though the task was allowed",
            "would not answer a simple {topic} question, citing safety",
            "turned down a benign request as if it were dangerous",
        ],
        "de": ["hat eine harmlose Frage zu {topic} grundlos abgelehnt"],
        "es": ["se negó a responder una pregunta inofensiva sobre {topic}"],
    },
    "wrong_language": {
        "en": [
            "answered in {lang} although the customer wrote in English",
            "replied in a different language from the one the user used",
            "switched to {lang} halfway through the conversation",
            "the response was not in the language of the question",
            "user asked in Spanish and got the reply in {lang}",
        ],
        "es": ["respondió en {lang} aunque el cliente escribió en español"],
    },
    "unsafe_security_advice": {
        "en": [
            "told the user to turn off two-factor authentication",
            "recommended sharing the password with support over chat",
            "suggested disabling the firewall to fix the connection",
            "advised reusing the same password on every site",
            "encouraged the customer to send their login code by email",
        ],
        "de": ["hat empfohlen, die Zwei-Faktor-Authentifizierung abzuschalten"],
        "fr": ["a conseillé de désactiver l'authentification à deux facteurs"],
    },
    "missed_escalation": {
        "en": [
            "should have handed the conversation to a human agent but kept going",
            "ignored the customer's request to speak with a person",
            "did not escalate a complaint that needed a supervisor",
            "kept the angry customer in the bot loop instead of transferring them",
            "failed to route a fraud report to the security team",
        ],
        "es": ["no transfirió al cliente a un agente humano cuando lo pidió"],
    },
    "arithmetic_error": {
        "en": [
            "computed {a} plus {b} incorrectly",
            "the sum in the answer is wrong",
            "made a calculation mistake when adding up the order",
            "got the percentage wrong, the math does not check out",
            "multiplied the numbers and arrived at the wrong total",
        ],
        "de": ["hat sich bei der Rechnung verrechnet, die Summe stimmt nicht"],
        "fr": ["a fait une erreur de calcul dans le total"],
    },
    "fabricated_citation": {
        "en": [
            "cited a research paper that does not exist",
            "the reference it gave is made up, no such article",
            "invented a source and attributed a quote to it",
            "linked to a study that cannot be found anywhere",
            "quoted a fake journal article by {person} as evidence",
        ],
        "de": ["hat eine Studie zitiert, die es nicht gibt"],
        "es": ["citó un artículo científico que no existe"],
    },
    "outdated_information": {
        "en": [
            "gave prices from last year that are no longer valid",
            "the information about opening hours is out of date",
            "described the old version of the {product}, not the current one",
            "quoted a policy that was replaced months ago",
            "its facts are stale, things have changed since",
        ],
        "fr": ["a donné des informations périmées sur les horaires"],
    },
    "ignored_format": {
        "en": [
            "asked for JSON but it returned plain prose",
            "did not follow the requested bullet-list format",
            "ignored the instruction to answer in one sentence",
            "the output was a table when the user wanted CSV",
            "disregarded the formatting rules in the prompt",
        ],
        "de": ["hat das verlangte JSON-Format ignoriert"],
        "es": ["ignoró el formato de lista que se pidió"],
    },
    "too_verbose": {
        "en": [
            "the answer is far too long for a yes or no question",
            "rambled for several paragraphs before getting to the point",
            "wrote an essay when a short reply was enough",
            "padded the response with needless detail",
            "way too wordy, the customer had to scroll to find the answer",
        ],
        "fr": ["la réponse est beaucoup trop longue pour une question simple"],
    },
    "rude_tone": {
        "en": [
            "was condescending to the customer",
            "the reply sounded rude and dismissive",
            "told the user their question was stupid",
            "used a sarcastic, impolite tone",
            "talked down to the person asking for help",
        ],
        "de": ["war unhöflich und herablassend gegenüber dem Kunden"],
        "es": ["fue grosero y despectivo con el usuario"],
    },
    "broken_code": {
        "en": [
            "the code snippet does not compile",
            "the script it wrote crashes with a syntax error",
            "the function it wrote raises an exception when run",
            "the program is buggy and never returns the right output",
            "its {lang_code} example fails with an import error",
        ],
        "de": ["der Beispielcode lässt sich nicht kompilieren"],
    },
    "unsafe_medical_dosage": {
        "en": [
            "recommended a dose of {drug} far above the safe maximum",
            "told the patient to double their medication without a doctor",
            "suggested mixing {drug} with alcohol",
            "gave dosing instructions that could cause an overdose",
            "advised stopping prescribed treatment abruptly",
        ],
        "es": ["recomendó una dosis peligrosa de {drug}"],
        "fr": ["a recommandé une dose dangereuse de {drug}"],
    },
    "hallucinated_feature": {
        "en": [
            "said the {product} has a feature it does not have",
            "described a setting that is not in the app",
            "promised an integration we do not offer",
            "claimed the plan includes unlimited storage, which is false",
            "invented a menu option and told the user to click it",
        ],
        "de": ["hat eine Funktion beschrieben, die das Produkt nicht hat"],
    },
    "truncated_answer": {
        "en": [
            "the response stops mid-sentence",
            "the answer was cut off before the end",
            "the reply ends abruptly without finishing the steps",
            "the output is incomplete, the last part is missing",
            "it broke off halfway through the list",
        ],
        "es": ["la respuesta se corta a mitad de la frase"],
    },
    "repetition_loop": {
        "en": [
            "repeated the same paragraph over and over",
            "got stuck in a loop saying one sentence again and again",
            "the answer keeps restating itself",
            "duplicated its previous message several times",
            "echoed the same line many times in a row",
        ],
        "fr": ["a répété la même phrase en boucle"],
    },
}

# one-off texts that belong to no mode
OUTLIERS: list[str] = [
    "the weather report for Tuesday mentions light rain",
    "a recipe for lemon cake with poppy seeds",
    "list of museums open on Sunday in the old town",
    "the train to the airport leaves every twenty minutes",
    "how many moons does Jupiter have",
    "a poem about autumn leaves and the river",
    "the football match ended in a draw after extra time",
    "instructions for repotting an orchid",
    "history of the printing press in Europe",
    "tips for a beginner learning to play chess",
    "the hiking trail is closed for maintenance this week",
    "a short biography of a jazz pianist",
    "which vegetables grow well in shade",
    "the bakery on the corner sells rye bread",
    "a knitting pattern for a wool scarf",
    "the symphony orchestra announced its summer season",
    "photos of the lighthouse at sunset",
    "an explanation of how tides work",
    "the library extended its opening hours",
    "best practices for watering cactus plants",
    "a travel guide to mountain villages",
    "the price of coffee beans at the market",
    "instructions for assembling a bookshelf",
    "a documentary about whales in the Arctic",
    "notes from the gardening club meeting",
    "the city marathon route passes the harbour",
    "a crossword puzzle with a science theme",
    "the new bridge opens to cyclists in spring",
    "a review of a local theatre production",
    "how to brew green tea at the right temperature",
]

# one pool for every mode: words here say nothing about the mode
BOILERPLATE_OPEN = [
    "Reviewer note: ",
    "QA finding: ",
    "Flagged in the weekly audit. ",
    "Ticket {ticket}: ",
    "Annotator comment: ",
    "Escalated by the vendor team. ",
    "From the sampled transcripts: ",
    "",
]
BOILERPLATE_CLOSE = [
    " Please fix before the next release.",
    " Seen in batch {ticket}.",
    " Severity to be confirmed.",
    " Needs a regression case.",
    " Reported by two raters.",
    " See the attached transcript.",
    "",
]

_SLOTS = {
    "n": ["14", "30", "45", "60", "90", "365"],
    "amount": ["$12.40", "$250", "$1,030", "€99", "$7.15", "£48"],
    "product": ["blender", "laptop", "headphones", "gift card", "coffee maker", "phone case", "router"],
    "topic": ["cooking", "tax forms", "gardening", "history", "train times", "spreadsheets"],
    "lang": ["French", "German", "Portuguese", "Italian", "Dutch", "Polish"],
    "a": ["17", "248", "3.5", "1,200", "64"],
    "b": ["29", "51", "12.75", "880", "7"],
    "person": ["Smith et al.", "Dr. Okafor", "Lindqvist", "Moreau and Chen"],
    "lang_code": ["Python", "JavaScript", "SQL", "Go", "Rust"],
    "drug": ["ibuprofen", "paracetamol", "warfarin", "insulin", "melatonin"],
    "ticket": ["4821", "1177", "9034", "2210", "6650", "3318"],
}


def _fill(template: str, rng: np.random.Generator) -> str:
    out = template
    for key, values in _SLOTS.items():
        token = "{" + key + "}"
        while token in out:
            out = out.replace(token, values[int(rng.integers(len(values)))], 1)
    return out


def planted_failure_set(
    seed: int,
    *,
    n_modes: int | None = None,
    phrasings: tuple[int, int] = (2, 5),
    languages: bool | None = None,
    boilerplate: bool | None = None,
    outlier_share: float | None = None,
    min_size: int = 12,
    max_size: int = 80,
) -> pd.DataFrame:
    """A planted set: ``text``, ``mode`` (None for outliers), ``phrasing``, ``language``.

    Parameters
    ----------
    seed : int
        Draws everything below that is left as None.
    n_modes : int or None
        Modes in the set (default: 4-15 at random).
    phrasings : (low, high)
        Phrasings per mode, drawn per mode in this range (inclusive).
    languages : bool or None
        True: each mode's phrasings may include its German, Spanish or French ones
        (at least one non-English phrasing per mode that has one). Default: a coin flip.
    boilerplate : bool or None
        True: each text gets an opening and a closing drawn from one pool shared by all
        modes. Default: a coin flip.
    outlier_share : float or None
        Share of one-off texts (default 0-10% at random).
    min_size, max_size : int
        Mode sizes are imbalanced: drawn log-uniformly in this range.
    """
    rng = np.random.default_rng(seed)
    names = list(MODES)
    k = int(n_modes) if n_modes is not None else int(rng.integers(4, 16))
    k = max(1, min(k, len(names)))
    if languages is None:
        languages = bool(rng.random() < 0.5)
    if boilerplate is None:
        boilerplate = bool(rng.random() < 0.5)
    if outlier_share is None:
        outlier_share = float(rng.uniform(0.0, 0.10))
    chosen = [names[i] for i in rng.choice(len(names), k, replace=False)]
    rows = []
    for mode in chosen:
        bank = MODES[mode]
        n_phr = int(rng.integers(phrasings[0], phrasings[1] + 1))
        pool = [("en", p) for p in bank["en"]]
        picked = [pool[i] for i in rng.choice(len(pool), min(n_phr, len(pool)), replace=False)]
        if languages:
            foreign = [(lang, p) for lang, ps in bank.items() if lang != "en" for p in ps]
            if foreign and len(picked) >= 2:
                picked[-1] = foreign[int(rng.integers(len(foreign)))]
        size = int(round(np.exp(rng.uniform(np.log(min_size), np.log(max_size)))))
        # every phrasing appears at least twice; the rest at random
        which = np.concatenate(
            [np.repeat(np.arange(len(picked)), 2), rng.integers(0, len(picked), max(0, size - 2 * len(picked)))]
        )
        for j in which:
            lang, template = picked[int(j)]
            rows.append(
                {
                    "mode": mode,
                    "phrasing": f"{mode}/{lang}/{template[:24]}",
                    "language": lang,
                    "core": _fill(template, rng),
                }
            )
    n_out = int(round(outlier_share * len(rows) / max(1e-9, 1 - outlier_share)))
    n_out = min(n_out, len(OUTLIERS))
    for i in rng.choice(len(OUTLIERS), n_out, replace=False):
        rows.append({"mode": None, "phrasing": None, "language": "en", "core": OUTLIERS[int(i)]})
    frame = pd.DataFrame(rows)
    if boilerplate:
        frame["text"] = [
            _fill(BOILERPLATE_OPEN[int(rng.integers(len(BOILERPLATE_OPEN)))], rng)
            + c[0].upper()
            + c[1:]
            + "."
            + _fill(BOILERPLATE_CLOSE[int(rng.integers(len(BOILERPLATE_CLOSE)))], rng)
            for c in frame["core"]
        ]
    else:
        frame["text"] = [c[0].upper() + c[1:] + "." for c in frame["core"]]
    frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    frame.attrs.update(seed=int(seed), n_modes=k, languages=languages, boilerplate=boilerplate)
    return frame[["text", "mode", "phrasing", "language"]]


def planted_ari(truth, labels) -> float:
    """Adjusted Rand index of ``labels`` (-1 = outlier) against ``truth`` (None = outlier).

    Outliers are singletons on both sides: a planted outlier that the clustering calls an
    outlier agrees with it, and predicted outliers are not lumped into one big cluster.
    """
    from sklearn.metrics import adjusted_rand_score

    t = [m if m is not None and m == m else f"__out{i}" for i, m in enumerate(truth)]
    p = [f"c{c}" if c != -1 else f"__pred_out{i}" for i, c in enumerate(np.asarray(labels))]
    return float(adjusted_rand_score(t, p))
