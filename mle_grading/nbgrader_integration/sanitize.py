"""No script from a student in any page a grader, an instructor or a student opens.

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
"""
import html
import re

from nbconvert.preprocessors.sanitize import SanitizeHTML
from traitlets import Bool


SAFE_SCHEMES = {"http", "https", "mailto"}
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
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.cell_type in ("markdown", "raw"):
            cell.source = neutralise_markdown_links(cell.source)
        return cell, resources
