"""French formatting of numbers, money, percentages and dates: the one place every page, chart and export uses."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from jinja2.ext import Extension
from markupsafe import Markup

LOCALE = "fr_FR"
PARIS = ZoneInfo("Europe/Paris")
NBSP = "\u00a0"  # between a number and its unit ("12 %", "2 414 €")


# Cached: a chart formats the same few values hundreds of times (its axis, each bar's tooltip), and Babel's pattern
# machinery is most of a dashboard's time.
@lru_cache(maxsize=8192)
def number(value, decimals: int = 0) -> str:
    """A number in French: narrow no-break space between thousands, decimal comma ("3 500", "0,25")."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=LOCALE, decimal_quantization=True)


@lru_cache(maxsize=8192)
def short_number(value, max_decimals: int = 2) -> str:
    """A number with only the decimals it needs, up to `max_decimals` ("16", "0,05", "3 500,5")."""
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0." + "#" * max_decimals, locale=LOCALE)


def signed(value, decimals: int = 0) -> str:
    """A number with its sign always shown ("+0,412", "−0,038")."""
    text = number(abs(value), decimals)
    return ("+" if value >= 0 else "\u2212") + text


def money(value, unit: str = "€") -> str:
    """An amount in whole euros ("2 414 €")."""
    return f"{number(value)}{NBSP}{unit}"


def whole_percent(probability: float) -> int:
    """A probability as the whole percentage every page shows (half up: 0.1995 → 20)."""
    return int(Decimal(repr(float(probability) * 100)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent(probability: float | None, decimals: int = 0) -> str:
    """A probability as a French percentage ("20 %"; with `decimals`, "19,95 %")."""
    if probability is None:
        return "—"
    if decimals:
        return f"{number(probability * 100, decimals)}{NBSP}%"
    shown = whole_percent(probability)
    return f"moins de 1{NBSP}%" if shown == 0 and probability > 0 else f"{shown}{NBSP}%"


def out_of_100(probability: float) -> str:
    """The probability as HR reads it, a model estimate (« … sur 100 salariés …, environ 28 partiraient. »)."""
    shown = whole_percent(probability)
    start = "D'après le modèle, sur 100 salariés au profil comparable,"
    if shown == 0:
        return f"{start} moins d'un partirait."
    verb = "partirait" if shown == 1 else "partiraient"
    return f"{start} environ {shown} {verb}."


def local_time(moment: datetime) -> datetime:
    """`moment` (naive means UTC, as SQLite gives it back) in Paris time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(PARIS)


def date_time(moment: datetime | None) -> str:
    """A moment in Paris time, as HR reads it ("26 nov. 2026 14:05")."""
    if moment is None:
        return "—"
    return format_datetime(local_time(moment), "d MMM y HH:mm", locale=LOCALE)


def date(moment: datetime | None) -> str:
    """A day in Paris time ("26 nov. 2026")."""
    if moment is None:
        return "—"
    return format_datetime(local_time(moment), "d MMM y", locale=LOCALE)


def day(value) -> str:
    """A calendar day, short ("26/11"), for chart axes."""
    return format_date(value, "dd/MM", locale=LOCALE)


def full_day(value) -> str:
    """A calendar day in full ("26 nov. 2026")."""
    return format_date(value, "d MMM y", locale=LOCALE)


def month(value) -> str:
    """A month ("janv. 2026")."""
    return format_date(value, "MMM y", locale=LOCALE)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """ "1 variable", "20 variables": the count in French and the noun agreed with it."""
    word = singular if abs(count) < 2 else (plural_form or singular + "s")
    return f"{number(count)} {word}"


def spreadsheet_number(value: float) -> str:
    """A number as a French spreadsheet reads it: decimal comma, no thousands separator, up to 6 decimals."""
    return f"{value:.6f}".rstrip("0").rstrip(".").replace(".", ",")


def spreadsheet_datetime(moment: datetime) -> str:
    """A moment in Paris time as a French spreadsheet reads a date ("26/11/2026 14:05:03")."""
    return local_time(moment).strftime("%d/%m/%Y %H:%M:%S")


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")


def spreadsheet_text(text: str) -> str:
    """Text a spreadsheet will not run as a formula: a leading = + - @ tab or CR gets a `'` (plain numbers kept)."""
    if text.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


NNBSP = "\u202f"  # narrow no-break space: before « : ; ! ? » and inside « », as French typography wants
_SPACE_BEFORE = re.compile(r"(?:(?<=\S)|^)[ \t\r\n\u00a0]+([:;!?»])")
_SPACE_AFTER = re.compile(r"«[ \t\r\n\u00a0]+")
_HIGH = re.compile(r"[;!?»]")
# Jinja's own syntax in a template's source: left as it is, only the text between is typeset.
_JINJA_TAGS = re.compile(r"(\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\})", re.DOTALL)


def typography(text: str) -> str:
    """French spacing: the space before « : ; ! ? » and inside « » becomes a narrow no-break one (never alone)."""
    if not isinstance(text, str) or not text or (":" not in text and "«" not in text and not _HIGH.search(text)):
        return text
    return _SPACE_AFTER.sub("«" + NNBSP, _SPACE_BEFORE.sub(NNBSP + r"\1", text))


def typeset_template(source: str) -> str:
    """A template's text typeset by `typography`, its Jinja expressions and statements untouched."""
    parts = _JINJA_TAGS.split(source)
    return "".join(part if index % 2 else typography(part) for index, part in enumerate(parts))


def typeset_output(value):
    """What a template's `{{ … }}` prints, typeset (Jinja's `finalize`); markup already built is left alone."""
    return value if isinstance(value, Markup) or not isinstance(value, str) else typography(value)


class FrenchTypography(Extension):
    """Every template typeset once, when it is compiled, and every value it prints: one place for the rule."""

    def preprocess(self, source, name, filename=None):
        return typeset_template(source)


#: Jinja filters, registered once by the app factory.
FILTERS = {
    "nombre": number,
    "nombre_court": short_number,
    "signe": signed,
    "euros": money,
    "pourcent": percent,
    "percent": percent,
    "date_heure": date_time,
    "date_fr": date,
    "pluriel": plural,
    "mois": month,
    "jour": full_day,
    "sur_cent": out_of_100,
    "typographie": typography,
}
