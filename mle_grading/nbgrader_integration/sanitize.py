r"""No script from a student in any page a grader, an instructor or a student opens.

`SanitizeStudentContent` is nbconvert's own `SanitizeHTML` (bleach, an allow-list
of tags, attributes and URL protocols) applied to what a student wrote: the
markdown cells they added or answered, and every output of their code cells.
`<script>`, event-handler attributes (`onerror=`, `onclick=`), `javascript:`
links, iframes and styles that are not on the list are escaped and shown as text;
PNG and JPEG figures, plain text and LaTeX pass unchanged. The course's own locked
cells (the derivations, with their equations) are the instructor's and are left
as written, so MathJax still typesets them.

course_config.py runs it after `TrustedGrading` in autograde (so the autograded
notebook on disk, which formgrader shows, is clean) and again before the feedback
exporter, which also has `HTMLExporter.sanitize_html` set for the markdown it renders.

What counts is the rendered HTML, not the markdown source: a renderer removes the
backslash of `javascript\:` and resolves reference links, entities and autolinks after
any check of the source. So:

- `safe_markdown2html` is the exporters' `markdown2html` filter (course_config.py's
  `HTMLExporter.filters`): the feedback pages and formgrader's views (nbgrader's
  templates render markdown with that filter and clean nothing) render markdown as
  nbconvert does, then clean the HTML produced with bleach: an allow-list of tags and
  attributes, and every URL kept only if its scheme is http, https or mailto, or it is
  relative or a fragment (`data:image/png|jpeg|gif` for an image's source only).
- In the autograded and feedback notebooks, a student's markdown cell whose rendered
  HTML holds any other URL, or whose text spells a script scheme however escaped, is
  replaced by its text in a `<pre>` with every markup character as a character
  reference: no renderer makes a link or a tag of it.
"""
import functools
import html
import re

import bleach
from jinja2 import pass_context
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors.sanitize import SanitizeHTML
from traitlets import Bool

from mle_grading.nbgrader_integration.feedback_render import written_by_student


SAFE_SCHEMES = {"http", "https", "mailto"}
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
SAFE_DATA = re.compile(r"^data:image/(png|jpeg|gif);", re.I)
# Markdown's own links and images: [text](destination), ![alt](destination), [name]: destination
MARKDOWN_DESTINATION = re.compile(r"(\]\(\s*<?|^[ \t]{0,3}\[[^\]]+\]:[ \t]*<?)([^)\s>]*)", re.M)


def _safe_destination(match):
    destination = match.group(2)
    decoded = re.sub(r"[\x00-\x20]", "", html.unescape(destination))
    scheme = re.match(r"([a-zA-Z][a-zA-Z0-9+.\-]*):", decoded)
    if scheme and scheme.group(1).lower() not in SAFE_SCHEMES and not SAFE_DATA.match(decoded):
        return match.group(1) + "#unsafe-link-removed"
    return match.group(0)


def neutralise_markdown_links(source):
    """Markdown links whose scheme is not http(s) or mailto (javascript:, vbscript:, data:text/html) go nowhere."""
    return MARKDOWN_DESTINATION.sub(_safe_destination, source)


# -- URLs of rendered HTML ----------------------------------------------------------
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href", "srcset", "background", "poster",
                            "data", "cite", "longdesc", "usemap", "codebase", "ping", "lowsrc", "dynsrc", "icon",
                            "manifest", "archive", "classid", "profile", "xml:base", "to", "from", "values"})
SCRIPT_SCHEMES = re.compile(r"(javascript|vbscript|livescript):|data:(text|application|image/svg)", re.I)
SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")


def safe_url(value, image=False):
    """Whether a URL is http(s), mailto, relative or a fragment (an image may also be an embedded PNG/JPEG/GIF).

    Entities are decoded and control characters and spaces removed first, as a browser does.
    """
    decoded = CONTROL.sub("", html.unescape(str(value)))
    scheme = SCHEME.match(decoded)
    if not scheme:
        return "/" in decoded[:1] or ":" not in decoded.split("/", 1)[0]
    return scheme.group(1).lower() in SAFE_SCHEMES or bool(image and SAFE_DATA.match(decoded))


def _srcset_urls(value):
    return [part.strip().split(" ")[0] for part in str(value).split(",") if part.strip()]


ALLOWED_TAGS = frozenset({*bleach.ALLOWED_TAGS, "p", "div", "span", "pre", "code", "br", "hr", "img", "h1", "h2", "h3",
                          "h4", "h5", "h6", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "del", "s", "sup",
                          "sub", "dl", "dt", "dd", "details", "summary", "kbd", "figure", "figcaption"})
PLAIN_ATTRIBUTES = frozenset({"class", "id", "title", "alt", "width", "height", "align", "colspan", "rowspan",
                              "start", "open"})


def _allowed_attribute(tag, name, value):
    if name in PLAIN_ATTRIBUTES:
        return True
    if name == "href" and tag == "a":
        return safe_url(value)
    if name == "src" and tag == "img":
        return safe_url(value, image=True)
    return False   # style, srcset, event handlers, xlink:href, action, ...: never


_CLEANER = bleach.Cleaner(tags=ALLOWED_TAGS, attributes=_allowed_attribute,
                          protocols=["http", "https", "mailto", "data"], strip=False, strip_comments=True)


def clean_rendered(rendered):
    """Rendered HTML of student content with only allowed tags, attributes and URLs (others escaped or dropped)."""
    return _CLEANER.clean(rendered)


def render_markdown(source, attachments=None, path=""):
    """Markdown as nbconvert's HTMLExporter renders it (its `markdown2html` filter, without cleaning)."""
    renderer = IPythonRenderer(escape=False, attachments=attachments or {}, path=path)
    return MarkdownWithMath(renderer=renderer).render(source)


# Markdown without attachments, rendered and cleaned, cached per process: the course's own cells
# are the same for every student (feedback_render.py); a student's answer cells are not cached.
# Bounded: at most this many cells, none longer.
CACHED_MARKDOWN_CELLS = 2048
CACHED_MARKDOWN_CHARS = 20_000


@functools.lru_cache(maxsize=CACHED_MARKDOWN_CELLS)
def _clean_markdown(source):
    return clean_rendered(render_markdown(source))


@pass_context
def safe_markdown2html(context, source):
    """The exporters' markdown2html: nbconvert's rendering, then the HTML produced cleaned (`clean_rendered`).

    The page's path is not passed on: the renderer reads it only to embed local images
    (HTMLExporter's `embed_images`), which this filter never does, so the HTML of a cell
    without attachments depends on its text alone, and is cached."""
    cell = context.get("cell", {}) or {}
    attachments = cell.get("attachments", {}) if hasattr(cell, "get") else {}
    try:
        if (not attachments and isinstance(source, str) and len(source) <= CACHED_MARKDOWN_CHARS
                and not written_by_student(cell.get("metadata") if hasattr(cell, "get") else None)):
            return _clean_markdown(source)
        return clean_rendered(render_markdown(source, attachments))
    except Exception:  # noqa: BLE001 - markdown that cannot be rendered (a missing attachment) is shown as text
        return f"<pre>{html.escape(str(source))}</pre>"


class _Urls(__import__("html.parser").parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.unsafe = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            name = (name or "").lower()
            if value is None:
                continue
            if name == "srcset":
                bad = [u for u in _srcset_urls(value) if not safe_url(u, image=True)]
            elif name == "style":
                bad = [u for u in re.findall(r"url\(\s*['\"]?([^'\")]*)", html.unescape(value), re.I)
                       if not safe_url(u, image=True)]
            elif name in URL_ATTRIBUTES or name.endswith(":href"):
                bad = [] if safe_url(value, image=(tag == "img" and name == "src")) else [value]
            else:
                bad = []
            self.unsafe.extend(f"<{tag} {name}={u!r}>" for u in bad)

    handle_startendtag = handle_starttag


def unsafe_urls(page):
    """The attributes of an HTML text whose URL is not http(s), mailto, relative, a fragment or an embedded image."""
    parser = _Urls()
    parser.feed(page)
    parser.close()
    return parser.unsafe


def _spells_a_script_scheme(source):
    text = str(source)
    for _ in range(3):   # entities within entities (&amp;#106;)
        text = html.unescape(text)
    return bool(SCRIPT_SCHEMES.search(CONTROL.sub("", text.replace("\\", ""))))


def unsafe_markdown(source, attachments=None):
    """Whether a markdown cell would render with a URL that is not allowed, or spells a script scheme."""
    if _spells_a_script_scheme(source):
        return True
    try:
        return bool(unsafe_urls(render_markdown(source, attachments)))
    except Exception:  # noqa: BLE001 - what cannot be rendered (a missing attachment) is not shown rendered
        return True


# Characters that make markup, links or line structure in any markdown renderer (the rest,
# equations' backslashes and braces included, stay as they are).
MARKUP = frozenset("<>&\"'[]()!:`\n\r\t")


# What `as_text` wrote (feedback runs this preprocessor again on the autograded notebook).
SHOWN_AS_TEXT = re.compile(r'\A<pre class="mle-unsafe-markdown">[^<>\[\]():\n]*</pre>\Z')


def as_text(source):
    """Markdown shown as text: one `<pre>` line (an HTML block to the end), every markup character a reference."""
    note = "[This cell held a link or markup the grader does not allow; it is shown as text.]\n\n"
    body = "".join({"<": "&lt;", ">": "&gt;", "&": "&amp;"}.get(c, f"&#{ord(c)};") if c in MARKUP or c < " " else c
                   for c in note + str(source))
    return f'<pre class="mle-unsafe-markdown">{body}</pre>'


def _locked(cell):
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    return bool(nbgrader.get("locked")) and not nbgrader.get("solution")


class SanitizeStudentContent(SanitizeHTML):
    """SanitizeHTML on every cell except the instructor's locked ones (whose sources nbgrader rebuilt)."""

    enabled = Bool(True, help="On wherever it is listed (nbconvert's preprocessors are off by default).")

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code":
            # Test cells' outputs are the grader's verdicts; the rest is student code's.
            cell.outputs = self.sanitize_code_outputs(cell.outputs)
            return cell, resources
        if _locked(cell):
            return cell, resources
        if "attachments" in cell:   # an attachment is shown as an image: images only
            images = {name: {mime: data for mime, data in bundle.items() if mime in IMAGE_TYPES}
                      for name, bundle in (cell.attachments or {}).items()}
            cell.attachments = {name: bundle for name, bundle in images.items() if bundle}
        if cell.cell_type == "markdown" and not SHOWN_AS_TEXT.match(cell.source) \
                and unsafe_markdown(cell.source, cell.get("attachments")):
            cell.source = as_text(cell.source)   # judged on what it renders to: shown as text
            return cell, resources
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.cell_type in ("markdown", "raw"):
            cell.source = neutralise_markdown_links(cell.source)
        return cell, resources
