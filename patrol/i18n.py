"""The interface's language: gettext catalogues (``patrol/locale/LANG/LC_MESSAGES/patrol.po``), chosen once.

The language is ``--ui-lang`` (``zh_CN`` or ``en``), else ``$PATROL_UI_LANG``, else the locale
(``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``zh_CN.UTF-8`` gives Chinese), else English. Strings are written in
English in the code and marked ``_("...")``; ``pybabel extract`` (``make messages``) collects them into
``patrol/locale/patrol.pot``, translators fill the ``.po`` files, and ``make`` compiles them to ``.mo``. A ``.po``
newer than its ``.mo`` (or without one) is compiled in memory when loaded, so a checkout without the build
step still speaks its language.

What is covered is listed in docs/language.md: the help, the summaries, check, status, audit, the reports and
the pages. The helpers below format for the language in use: :func:`pad` and :func:`width` (a Chinese character
takes two terminal columns), :func:`clock`, :func:`stamp`, :func:`day` (24-hour, ``12月2日`` in Chinese),
:func:`km`, :func:`number`, :func:`html_lang` and :func:`csv_bom`; :class:`Said` keeps a message in English for a
record and shows it translated. English output is what it always was.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
import os
from pathlib import Path

DOMAIN = "patrol"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "zh_CN")
ENV = "PATROL_UI_LANG"

_current: gettext.NullTranslations = gettext.NullTranslations()
_lang = "en"


def pick_language(option: str | None = None, environ: dict[str, str] | None = None) -> str:
    """The interface language: ``option``, else ``$PATROL_UI_LANG``, else the locale variables, else ``en``.

    >>> pick_language(None, {"LANG": "zh_CN.UTF-8"})
    'zh_CN'
    >>> pick_language("en", {"LANG": "zh_CN.UTF-8"})
    'en'
    >>> pick_language(None, {"LANG": "de_DE.UTF-8"})
    'en'
    """
    env = os.environ if environ is None else environ
    for value in (option, env.get(ENV), env.get("LC_ALL"), env.get("LC_MESSAGES"), env.get("LANG")):
        if not value:
            continue
        code = value.split(".")[0].split("@")[0].replace("-", "_").lower()
        if code.startswith("zh"):
            return "zh_CN"
        if code in ("c", "posix") or code.startswith("en"):
            return "en"
        if option is not None and value == option:
            from patrol.errors import InputError

            raise InputError(
                _("--ui-lang {value}: patrol speaks {first} and {second}").format(
                    value=repr(option), first=LANGUAGES[0], second=LANGUAGES[1]
                )
            )
        return "en"
    return "en"


def _load(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang``: its ``.mo``, or its ``.po`` compiled in memory when that is newer."""
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with open(mo, "rb") as fh:
            return gettext.GNUTranslations(fh)
    if not po.is_file():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(po, "rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def set_language(lang: str) -> None:
    """Speak ``lang`` (one of :data:`LANGUAGES`) from now on."""
    global _current, _lang
    _current = gettext.NullTranslations() if lang == "en" else _load(lang)
    _lang = lang


def language() -> str:
    """The interface language in use (``en`` or ``zh_CN``)."""
    return _lang


def _(message: str) -> str:
    """``message`` in the interface language (English where the catalogue has no translation)."""
    return _current.gettext(message)


def N_(message: str) -> str:  # noqa: N802 (gettext's name for it)
    """Mark ``message`` for extraction only (it is translated later, where it is shown)."""
    return message


class Said(str):
    """A message kept in English for a record (the ledger's flight outcome) that can also be shown translated.

    ``Said(N_("at item {k}"), k=3)`` is the English text itself (a ``str``, stored as it is); :func:`shown`
    gives the same message in the interface language, its placeholders filled the same way (a placeholder that
    is itself a :class:`Said` is shown translated too).

    >>> said = Said("landed at item {k}", k=3)
    >>> said, shown(said)
    ('landed at item 3', 'landed at item 3')
    """

    msgid: str
    params: dict[str, object]

    def __new__(cls, msgid: str, **params: object) -> Said:
        """The English message ``msgid`` with ``params`` filled in."""
        self = super().__new__(cls, msgid.format(**params))
        self.msgid, self.params = msgid, params
        return self

    def shown(self) -> str:
        """The message in the interface language."""
        return _(self.msgid).format(**{k: shown(v) if isinstance(v, Said) else v for k, v in self.params.items()})


def shown(text: str) -> str:
    """``text`` in the interface language: a :class:`Said` translated with its placeholders, a plain message
    looked up in the catalogue (English where it has none)."""
    return text.shown() if isinstance(text, Said) else _(text)


def km(metres: float) -> str:
    """A distance for the reader: ``12.3 km`` in English, ``12.3 公里`` in Chinese.

    >>> km(12345.0)
    '12.3 km'
    """
    return _("{n} km").format(n=f"{metres / 1000:.1f}")


def html_lang() -> str:
    """The ``lang`` attribute of a page in the interface language (``en`` or ``zh-CN``)."""
    return "zh-CN" if _lang == "zh_CN" else "en"


def csv_bom() -> str:
    """What a CSV starts with: nothing in English; in Chinese a UTF-8 byte-order mark, so that spreadsheet
    programs (Excel, WPS) read the Chinese column heads as UTF-8, not as the local code page."""
    return "" if _lang == "en" else "\ufeff"


def width(text: str) -> int:
    """Columns ``text`` takes in a terminal (a Chinese character takes two).

    >>> width("id"), width("编号")
    (2, 4)
    """
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, cols: int, right: bool = False) -> str:
    """``text`` padded with spaces to ``cols`` terminal columns (on the left when ``right``); never cut.

    >>> pad("ab", 4) + "|", pad("编号", 6, right=True) + "|"
    ('ab  |', '  编号|')
    """
    fill = " " * max(cols - width(text), 0)
    return fill + text if right else text + fill


def clock(moment: dt.datetime) -> str:
    """A local date and time for a table: ``12-02 20:15`` in English, ``12月2日 20:15`` in Chinese (24-hour)."""
    if _lang == "en":
        return moment.strftime("%m-%d %H:%M")
    from babel.dates import format_datetime

    return format_datetime(moment, "M月d日 HH:mm", tzinfo=moment.tzinfo, locale=_lang)


def stamp(moment: dt.datetime) -> str:
    """A full local date and time with its zone: ``2026-12-02 20:15 UTC`` (English), ``2026年12月2日 20:15 UTC``."""
    if _lang == "en":
        return f"{moment:%Y-%m-%d %H:%M %Z}"
    from babel.dates import format_datetime

    return format_datetime(moment, "y年M月d日 HH:mm", tzinfo=moment.tzinfo, locale=_lang) + f" {moment:%Z}"


def day(value: dt.date) -> str:
    """A day: ``2026-12-02`` in English, ``2026年12月2日`` in Chinese.

    >>> day(dt.date(2020, 2, 3))
    '2020-02-03'
    """
    if _lang == "en":
        return value.isoformat()
    from babel.dates import format_date

    return format_date(value, "y年M月d日", locale=_lang)


def short_day(value: dt.date) -> str:
    """A day of a week for a chart or a column head: ``12-02`` in English, ``12月2日`` in Chinese."""
    if _lang == "en":
        return value.strftime("%m-%d")
    return f"{value.month}月{value.day}日"


def number(value: float, digits: int = 0) -> str:
    """``value`` with ``digits`` decimals and the locale's grouping (``12,345.6``; the same marks in zh_CN).

    >>> number(12345.67, 1)
    '12,345.7'
    """
    from babel.numbers import format_decimal

    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(round(value, digits), format=fmt, locale=_lang if _lang != "en" else "en_US")


set_language(pick_language())
