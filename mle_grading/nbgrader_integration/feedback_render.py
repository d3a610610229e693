"""What the feedback pages' exporter does once per grading process instead of once per student.

Most of a page's cost was the same for every student (the profile and the figures before and
after: docs/benchmark_log.md, "2026-12-06: the feedback pages, per student"):

- **Highlighting code.** `course_highlight_code` (the feedback exporter's `highlight_code`
  filter, course_config.py) highlights as nbconvert's `Highlight2HTML` does (same lexer, classes,
  colours), a cell the course wrote once per process, and without the spans of tokens the page's
  style (`PAGE_STYLE`) gives no look. Those spans were left out for HTMLExporter's BeautifulSoup
  pass (one object per tag); since `describe_images` replaced that pass, leaving them out saves
  nothing measurable (docs/benchmark_log.md, 19:36), so `_Unstyled` could go.
- **Compiling the templates.** nbgrader builds a new exporter, so a new Jinja environment, for
  every student; `CompiledTemplates` keeps each template's compiled code for the process, and
  every environment still builds its own `Template` objects, with its own filters.
- **The course's markdown**: the cache in `sanitize.safe_markdown2html`.
- **The finished page.** HTMLExporter's closing BeautifulSoup pass over the page is replaced by
  `describe_images`, which makes the same change to a feedback page in a scan of its tags.

Nothing here changes what a page shows or lets through: the cached values are pure functions
of their keys, and a student's answer cells are never cached (`written_by_student`).
"""
import functools
from html import escape
from html.parser import HTMLParser

from jinja2 import BaseLoader, pass_context
from pygments import highlight
from pygments.filter import Filter
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.styles import get_style_by_name
from pygments.token import Text
from pygments.util import ClassNotFound

# The style whose CSS the feedback page carries: the classic template's conf.json (under nbgrader's
# feedback template) runs CSSHTMLHeaderPreprocessor with Pygments' "default" style (the one in
# GenerateFeedback.preprocessors is not enabled). tests/test_feedback_page_offline.py checks that
# every span left out has no rule in the page's CSS, or is whitespace under a colour alone.
PAGE_STYLE = "default"
# Only the course's own cells are cached (a student's answer is seen once: caching it would only
# grow a long-lived worker); longer ones are highlighted without being cached.
CACHED_SOURCE_CHARS = 20_000
CACHED_CELLS = 2048


def written_by_student(metadata):
    """An answer cell (nbgrader's solution cell): its text is the student's, never reused."""
    return bool(((metadata or {}).get("nbgrader") or {}).get("solution"))


@functools.lru_cache(maxsize=None)
def _look(ttype):
    """(has any look, has a look on whitespace) of a token type in the page's style."""
    style = get_style_by_name(PAGE_STYLE).style_for_token(ttype)
    visible = any(style.values())
    on_whitespace = any(style[key] for key in ("bgcolor", "underline", "border", "bgansicolor"))
    return visible, on_whitespace


def plain(ttype, value):
    """Whether a token would look the same without its span: its type has no look in the page's
    style, or it is whitespace and its look is only a colour."""
    visible, on_whitespace = _look(ttype)
    return not visible or (not on_whitespace and not value.strip())


class _Unstyled(Filter):
    """A Pygments token filter: a token that looks the same without its span becomes plain text,
    for which the HTML formatter writes no span (and it joins its plain neighbours)."""

    def filter(self, lexer, stream):
        for ttype, value in stream:
            yield (Text if ttype is not Text and plain(ttype, value) else ttype), value


def _lexer(language):
    # As nbconvert's Highlight2HTML chooses it (nbconvert/filters/highlight.py).
    if language in ("ipython2", "ipython3"):
        try:
            from IPython.lib.lexers import IPython3Lexer, IPythonLexer
            return IPython3Lexer() if language == "ipython3" else IPythonLexer()
        except ImportError:
            language = language.replace("ipython", "python")
    try:
        return get_lexer_by_name(language)
    except ClassNotFound:
        return get_lexer_by_name("text")


def _highlighted(source, language, css_language):
    lexer = _lexer(language)
    lexer.add_filter(_Unstyled())
    return highlight(source, lexer, HtmlFormatter(cssclass=escape(f" highlight hl-{css_language}")))


_cached_highlighted = functools.lru_cache(maxsize=CACHED_CELLS)(_highlighted)


@pass_context
def course_highlight_code(context, source, language=None, metadata=None):
    """The feedback exporter's `highlight_code` filter: nbconvert's Highlight2HTML for a page's
    code (same lexer, classes and look), with no span where a span changes nothing (above)."""
    if not language:   # HTMLExporter's choice: the notebook's language_info
        info = (context.get("nb") or {}).get("metadata", {}).get("language_info", {})
        language = info.get("pygments_lexer", info.get("name")) or "ipython3"
    lexer_language = language
    if language.startswith("ipython") and metadata and "magics_language" in metadata:
        lexer_language = metadata["magics_language"]
    source = str(source) if len(source) > 0 else " "
    if len(source) > CACHED_SOURCE_CHARS or written_by_student(metadata):
        return _highlighted(source, lexer_language, language)
    return _cached_highlighted(source, lexer_language, language)


# The options of a Jinja environment that its compiler reads (Environment's constructor arguments).
COMPILER_OPTIONS = ("block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
                    "comment_start_string", "comment_end_string", "line_statement_prefix", "line_comment_prefix",
                    "trim_blocks", "lstrip_blocks", "newline_sequence", "keep_trailing_newline", "optimized",
                    "autoescape", "is_async")


def _passes(function):
    # What Jinja hands a filter, test or finalize besides the value (pass_context, pass_environment...):
    # the compiled code calls it accordingly. The mark jinja2.pass_context and its kind set.
    return repr(getattr(function, "jinja_pass_arg", None))


def compiled_alike(environment):
    """What Jinja's compiled code of a template depends on besides its text: the environment's
    options, extensions, and its filters and tests by name and by what each is passed."""
    return (tuple(repr(getattr(environment, option, None)) for option in COMPILER_OPTIONS),
            tuple(sorted(environment.extensions)), _passes(environment.finalize),
            tuple(sorted((name, _passes(f)) for name, f in environment.filters.items())),
            tuple(sorted((name, _passes(t)) for name, t in environment.tests.items())))


class CompiledTemplates(BaseLoader):
    """A Jinja loader that finds templates where nbconvert's own would (`find_loader()`, e.g. the
    exporter's template paths as they are when a template is loaded) and compiles each once per process.

    The feedback exporter puts it first among its loaders (`CourseFeedbackExporter`'s `extra_loaders`).
    The compiled code is keyed by the template's name, file and text and by the environment's
    options that change the code (async, extensions), as Jinja's own bytecode cache keys it; each
    environment still builds its own `Template` from it (`Template.from_code`, what Jinja's
    `BaseLoader.load` does with a bytecode cache)."""

    _code = {}
    MAX_TEMPLATES = 256

    def __init__(self, find_loader):
        self.find_loader = find_loader

    def get_source(self, environment, template):
        return self.find_loader().get_source(environment, template)

    def list_templates(self):
        return self.find_loader().list_templates()

    def load(self, environment, name, globals=None):
        source, filename, uptodate = self.get_source(environment, name)
        key = (name, filename, source, compiled_alike(environment))
        code = self._code.get(key)
        if code is None:
            code = environment.compile(source, name, filename)
            if len(self._code) >= self.MAX_TEMPLATES:
                self._code.clear()
            self._code[key] = code
        return environment.template_class.from_code(environment, code, globals or {}, uptodate)


# -- the finished page ---------------------------------------------------------------------
# nbconvert's HTMLExporter ends each page with a BeautifulSoup pass: every <img> without an alt
# gets one, and the lab template's input and output areas inside `.jp-Notebook` become focusable
# (tabindex). Its cost is one Python object per tag, about 0.15 s of a worker a page. The feedback
# page is built on nbgrader's classic template, which has no such areas: `describe_images` applies
# the first rule in one scan of the tags with the standard library's HTMLParser, the tokenizer
# BeautifulSoup's "html.parser" builds its tree from. (A student's markdown may still carry those
# class names through the cleaner; such a <div> is then not made focusable, which nbconvert would do.)
# tests/test_feedback_page_offline.py: the page parses to the tree HTMLExporter's pass makes.
NO_DESCRIPTION = "No description has been provided for this image"   # nbconvert's alt text


class _ImagesWithoutAlt(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.found = []   # (line, column) of each <img without an alt

    def handle_starttag(self, tag, attrs):
        if tag == "img" and not any(name == "alt" for name, _ in attrs):
            self.found.append(self.getpos())


def describe_images(html, log=None):
    """The page with nbconvert's alt text on every <img> that has none (written right after "<img",
    where it can join no other attribute)."""
    scan = _ImagesWithoutAlt()
    scan.feed(html)
    scan.close()
    if not scan.found:
        return html
    line_starts = [0]
    for line in html.split("\n")[:-1]:
        line_starts.append(line_starts[-1] + len(line) + 1)
    parts, done = [], 0
    for line, column in scan.found:
        after_name = line_starts[line - 1] + column + len("<img")
        parts += [html[done:after_name], f' alt="{NO_DESCRIPTION}"']
        done = after_name
    parts.append(html[done:])
    if log is not None:   # as nbconvert says it
        log.warning("Alternative text is missing on %s image(s).", len(scan.found))
    return "".join(parts)
