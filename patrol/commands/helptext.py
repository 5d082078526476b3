"""The command line's help in the interface language: every help text translated when the app is built.

typer reads a command's help (its docstring or ``help=``) and each option's ``help=`` when the module is
imported, before ``--ui-lang`` is parsed. So the texts stay English in the code, and :class:`PatrolGroup`,
the root command's class, translates the whole command tree in place just before it parses the command line,
in the language of ``--ui-lang`` (looked for in the arguments) or the locale. ``--help`` then shows Chinese.

The catalogue gets these texts from :func:`extract`, a Babel extraction method for ``cli.py`` (``babel.cfg``):
it builds the tree and yields every help text as shown, so a new option's help joins ``make messages`` without
any marker in the code.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from typer.core import TyperGroup

from patrol.commands import clickwords


def _nodes(cmd: Any) -> Iterator[Any]:
    """``cmd``, its parameters, and the same for every sub-command, depth first."""
    yield cmd
    yield from cmd.params
    for sub in getattr(cmd, "commands", {}).values():
        yield from _nodes(sub)


def help_texts(cmd: Any) -> list[str]:
    """Every distinct help text of the tree under ``cmd``, in tree order."""
    out: dict[str, None] = {}
    for node in _nodes(cmd):
        for attr in ("help", "short_help"):
            text = getattr(node, attr, None)
            if text:
                out.setdefault(text, None)
    return list(out)


# typer's own words around the help (its rich_utils constants), translated with the rest.
TYPER_WORDS = (
    "Arguments",
    "Options",
    "Commands",
    "Error",
    "Aborted.",
    "[default: {}]",
    "[required]",
    "Try [blue]'{command_path} {help_option}'[/] for help.",
)
_TYPER_ATTRS = (
    "ARGUMENTS_PANEL_TITLE",
    "OPTIONS_PANEL_TITLE",
    "COMMANDS_PANEL_TITLE",
    "ERRORS_PANEL_TITLE",
    "ABORTED_TEXT",
    "DEFAULT_STRING",
    "REQUIRED_LONG_STRING",
    "RICH_HELP",
)
HELP_OPTION = "Show this message and exit."


def translate_tree(cmd: Any) -> None:
    """Put every help text under ``cmd`` (and typer's panel titles, click's usage line and usage errors) into the
    interface language, in place.

    The English text is kept on each node, so translating the same tree again (another language) starts from it.
    """
    from typer import rich_utils

    from patrol.i18n import _, language

    for node in _nodes(cmd):
        for attr in ("help", "short_help"):
            english = getattr(node, f"_patrol_en_{attr}", None) or getattr(node, attr, None)
            if english:
                setattr(node, f"_patrol_en_{attr}", english)
                setattr(node, attr, _(english))
        if hasattr(node, "get_help_option") and not hasattr(node, "_patrol_help_option"):
            node._patrol_help_option = node.get_help_option
            node.get_help_option = _translated_help_option(node._patrol_help_option)
    for attr, word in zip(_TYPER_ATTRS, TYPER_WORDS, strict=True):
        setattr(rich_utils, attr, _(word))
    _fold_cjk(rich_utils, language() != "en")
    clickwords.install(list(_nodes(cmd)))  # click's own words: the usage line's prefix, the usage errors


_PLAIN_TEXT: list[Any] = []  # typer's own _make_rich_text, kept while the folding one stands in


def _fold_cjk(rich_utils: Any, on: bool) -> None:
    """Make typer's help text fold where a line is full (``on``), as Chinese breaks between any two characters;
    rich otherwise breaks at spaces only and cuts a long run of Chinese with an ellipsis. English is left as is."""
    if not _PLAIN_TEXT:
        _PLAIN_TEXT.append(rich_utils._make_rich_text)
    plain = _PLAIN_TEXT[0]

    def folding(*args: Any, **kwargs: Any) -> Any:
        text = plain(*args, **kwargs)
        if hasattr(text, "overflow"):
            text.overflow = "fold"
        return text

    rich_utils._make_rich_text = folding if on else plain


def _translated_help_option(original: Any) -> Any:
    """``original`` (a command's ``get_help_option``) giving ``--help`` its help in the interface language."""
    from patrol.i18n import _

    def get_help_option(ctx: Any) -> Any:
        option = original(ctx)
        if option is not None:
            option.help = _(HELP_OPTION)
        return option

    return get_help_option


def _ui_lang_arg(args: Sequence[str]) -> str | None:
    """The value of ``--ui-lang`` among ``args`` (``--ui-lang X`` or ``--ui-lang=X``), if given."""
    for k, a in enumerate(args):
        if a == "--ui-lang" and k + 1 < len(args):
            return args[k + 1]
        if a.startswith("--ui-lang="):
            return a.split("=", 1)[1]
    return None


class PatrolGroup(TyperGroup):
    """The root ``patrol`` group: chooses the language and translates the help before parsing."""

    def main(self, args: Sequence[str] | None = None, *rest: Any, **kwargs: Any) -> Any:
        """Run the command line in the language of ``--ui-lang`` or the locale (English otherwise)."""
        import sys

        from patrol.errors import PatrolError
        from patrol.i18n import pick_language, set_language

        argv = list(sys.argv[1:] if args is None else args)
        try:
            set_language(pick_language(_ui_lang_arg(argv)))
        except PatrolError:
            set_language(pick_language())  # a bad --ui-lang is refused by the root callback
        translate_tree(self)
        return super().main(args, *rest, **kwargs)


def extract(fileobj: Any, keywords: Any, comment_tags: Any, options: dict[str, Any]) -> Iterator[tuple]:
    """Babel extraction method for ``cli.py``: every help text of the ``patrol`` command tree, and typer's words.

    The file itself is not read: the tree is built from the installed package (``cli.app``).
    """
    import typer.main

    from cli import app

    for k, text in enumerate([*help_texts(typer.main.get_command(app)), HELP_OPTION, *TYPER_WORDS], start=1):
        yield k, None, text, []
