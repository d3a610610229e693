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
from nbconvert.preprocessors import SanitizeHTML


def _locked(cell):
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    return bool(nbgrader.get("locked")) and not nbgrader.get("solution")


class SanitizeStudentContent(SanitizeHTML):
    """SanitizeHTML on every cell except the instructor's locked ones (whose sources nbgrader rebuilt)."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code":
            # Test cells' outputs are the grader's verdicts; the rest is student code's.
            cell.outputs = self.sanitize_code_outputs(cell.outputs)
            return cell, resources
        if _locked(cell):
            return cell, resources
        return super().preprocess_cell(cell, resources, cell_index)
