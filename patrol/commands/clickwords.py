"""click's own words in the interface language: ``Usage:``, a missing option, an unknown option, a bad value.

typer (0.29) carries its own copy of click whose words are plain English strings, not gettext lookups: the
usage line's ``Usage: `` prefix and the one-line errors (``Missing option '--output' / '-o'.``). So they are
put into the interface language where typer shows them, without touching typer's code:

* every command's context makes its help formatter :class:`Formatter`, whose usage line starts with
  ``_("Usage: ")`` (:func:`install`, from :func:`patrol.commands.helptext.translate_tree`);
* typer shows a usage error with ``rich_utils.rich_format_error``; in a language other than English that is
  :func:`_format_error`, which gives the error the sentence :func:`translate_error` makes of it and then lets
  typer draw it as always (its panel title and the ``Try ... for help`` line are typer's words, translated in
  :mod:`patrol.commands.helptext`).

An error this module does not know is shown as typer made it. English is left exactly as typer writes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from patrol.i18n import _, language

# click's English, as typer's copy of click words it: the pattern, and the sentence in the interface language.
_MESSAGES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"Missing option (?P<names>.+?)\.(?P<rest>(?: .*)?)$", re.S),
     lambda m: _("Missing option {names}.").format(names=m["names"]) + m["rest"]),
    (re.compile(r"Missing argument (?P<names>.+?)\.(?P<rest>(?: .*)?)$", re.S),
     lambda m: _("Missing argument {names}.").format(names=m["names"]) + m["rest"]),
    (re.compile(r"Missing parameter (?P<names>.+?)\.(?P<rest>(?: .*)?)$", re.S),
     lambda m: _("Missing parameter {names}.").format(names=m["names"]) + m["rest"]),
    (re.compile(r"No such option: (?P<name>\S+) \(Possible options: (?P<options>.*)\)$", re.S),
     lambda m: _("No such option: {name} (Possible options: {options})").format(name=m["name"], options=m["options"])),
    (re.compile(r"No such option: (?P<name>\S+)$", re.S),
     lambda m: _("No such option: {name}").format(name=m["name"])),
    (re.compile(r"Invalid value for (?P<names>.+?): (?P<why>.*)$", re.S),
     lambda m: _("Invalid value for {names}: {why}").format(names=m["names"], why=m["why"])),
    (re.compile(r"Option (?P<name>'[^']*') requires an argument\.$"),
     lambda m: _("Option {name} requires an argument.").format(name=m["name"])),
    (re.compile(r"Option (?P<name>'[^']*') does not take a value\.$"),
     lambda m: _("Option {name} does not take a value.").format(name=m["name"])),
    (re.compile(r"Got unexpected extra arguments? \((?P<args>.*)\)$", re.S),
     lambda m: _("Got unexpected extra argument(s) ({args})").format(args=m["args"])),
    (re.compile(r"Missing command\.$"), lambda m: _("Missing command.")),
    (re.compile(r"No such command (?P<name>'.*')\.$", re.S),
     lambda m: _("No such command {name}.").format(name=m["name"])),
)  # fmt: skip


def translate_error(message: str) -> str:
    """``message`` (a usage error as typer's click words it) in the interface language; itself when unknown.

    >>> translate_error("Missing option '--output' / '-o'.")
    "Missing option '--output' / '-o'."
    """
    for pattern, say in _MESSAGES:
        m = pattern.match(message)
        if m is not None:
            return say(m)
    return message


def _formatter_class(base: type) -> type:
    """``base`` (click's HelpFormatter) whose usage line starts with ``Usage:`` in the interface language."""

    class Formatter(base):  # type: ignore[misc, valid-type]
        def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
            """The usage line, its prefix translated (``用法: patrol plan ...``)."""
            super().write_usage(prog, args, _("Usage: ") if prefix is None else prefix)

    return Formatter


_CONTEXTS: dict[type, type] = {}


def _context_class(base: type) -> type:
    """``base`` (a command's context class) making :class:`Formatter` its help formatter (made once per base)."""
    if base not in _CONTEXTS:
        _CONTEXTS[base] = type("PatrolContext", (base,), {"formatter_class": _formatter_class(base.formatter_class)})
    return _CONTEXTS[base]


_TYPER_FORMAT_ERROR: list[Any] = []  # typer's own rich_format_error, kept while the translating one stands in


def _format_error(error: Any) -> None:
    """typer's drawing of a usage error, the error's sentence first put into the interface language."""
    english = error.format_message()
    said = translate_error(english)
    if said != english:
        error.format_message = lambda: said
    _TYPER_FORMAT_ERROR[0](error)


def install(nodes: list[Any]) -> None:
    """Make each command of ``nodes`` word its usage line, and typer its usage errors, in the interface language
    (typer's own error drawing again in English)."""
    from typer import rich_utils

    for node in nodes:
        base = getattr(node, "context_class", None)
        if isinstance(base, type) and hasattr(base, "formatter_class") and base not in _CONTEXTS.values():
            node.context_class = _context_class(base)
    if not _TYPER_FORMAT_ERROR:
        _TYPER_FORMAT_ERROR.append(rich_utils.rich_format_error)
    rich_utils.rich_format_error = _format_error if language() != "en" else _TYPER_FORMAT_ERROR[0]
