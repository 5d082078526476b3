"""The map pages' assets: the Jinja2 templates in ``patrol/review/templates`` (package data) and one way to render them.

``render(name, **context)`` promises: a template whose name ends in ``.html``, ``.svg``, ``.html.j2`` or
``.svg.j2`` is autoescaped and returns :class:`markupsafe.Markup` (so it can be nested in another page piece
without being escaped twice; pass already-made HTML into it as ``Markup`` too); anything else (CSS, JavaScript)
is rendered as written and returns a plain ``str``. Undefined variables are errors, not empty strings.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from patrol.i18n import _, html_lang, short_day

_ESCAPED = (".html", ".svg")


def _autoescape(name: str | None) -> bool:
    return name is not None and name.removesuffix(".j2").endswith(_ESCAPED)


_ENV = Environment(
    loader=PackageLoader("patrol.review", "templates"),
    autoescape=_autoescape,
    undefined=StrictUndefined,
    keep_trailing_newline=False,
)
# ``{{ _("text") }}`` in a template: the text in the interface language (babel.cfg extracts it), as Markup: the
# catalogue's texts are ours, and ``.format`` on Markup escapes what is put into them.
_ENV.globals["_"] = lambda message: Markup(_(message))
_ENV.globals["tr"] = lambda value: _(value)  # a value from the data (a tier): translated if known, still escaped
_ENV.globals["html_lang"] = html_lang
_ENV.globals["short_day"] = short_day


def render(name: str, **context: Any) -> str:
    """Template ``name`` rendered with ``context``: ``Markup`` for HTML and SVG templates, ``str`` otherwise."""
    text = _ENV.get_template(name).render(**context)
    return Markup(text) if _autoescape(name) else text
