"""All nbgrader configuration of the course; nbgrader_config.py only loads this file.

Every bare nbgrader command works from the repository root:
    nbgrader generate_assignment mle_losses
    nbgrader autograde mle_losses
    nbgrader generate_feedback mle_losses
    nbgrader export
"""
import os

import nbgrader
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, ClearOutput,
                                    IgnorePattern, LimitOutput, OverwriteKernelspec)

from mle_grading.nbgrader_integration.cell_metadata import CheckCellMetadataCompiled
from mle_grading.nbgrader_integration.gradebook_cells import GradesFromGradebook
from mle_grading.nbgrader_integration.preprocessors import FEEDBACK_TEMPLATES, CourseFeedbackExporter, InlineMathJax, RebuildSubmission, SaveAutoGradesIfValid, StripHiddenTests, TrustedGrading, feedback_pages_only, set_aside_unreadable_notebooks
from mle_grading.nbgrader_integration.run import gradebook_url
from mle_grading.nbgrader_integration.sanitize import SanitizeStudentContent

c = get_config()  # noqa: F821  (provided by nbgrader when it loads the config)

ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "mle_losses_course"
c.CourseDirectory.root = ROOT
c.CourseDirectory.db_url = gradebook_url(ROOT)   # MLE_GRADING_DB_URL, else gradebook.db here
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

# Release: nbgrader's own solution and hidden-test stripping. release/ is committed, so in a
# fresh clone nbgrader would skip it as up to date and never record the assignment in the
# new gradebook (autograde then fails): it is always regenerated from source/ (same bytes).
c.GenerateAssignment.force = True
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}


# Autograde: rebuild every locked and test cell from the gradebook (whatever the
# student deleted, edited or re-labelled), then decide
# every test cell by a trusted check against the sandboxed submission.
# (SaveAutoGradesIfValid: nbgrader's SaveAutoGrades in one transaction, run only on a notebook that is valid.)
# (CheckCellMetadataCompiled: nbgrader's CheckCellMetadata, its schema compiled once per process, not once a cell.)
c.Autograde.sanitize_preprocessors = [ClearOutput, OverwriteKernelspec, RebuildSubmission, CheckCellMetadataCompiled]
c.Autograde.autograde_preprocessors = [TrustedGrading, SanitizeStudentContent, IgnorePattern, ClearMetadataPreprocessor,
                                       LimitOutput, SaveAutoGradesIfValid, AssignLatePenalties,
                                       CheckCellMetadataCompiled]
c.Autograde.pre_convert_hook = set_aside_unreadable_notebooks
# nbconvert checks the whole notebook against the nbformat schema after each of the
# twelve preprocessors above; here after the last of each pass, and SaveAutoGradesIfValid
# checks it before it writes a score (an invalid notebook gets none, as before).
c.Exporter.optimistic_validation = True
c.TrustedGrading.report_directory = os.path.join(ROOT, "grading_reports")

# Every limit of grading one notebook (README, "Grading limits"; tests/test_grading_security_limits.py
# checks that table against these traits). The sandbox uid range must hold no account: checked at start.
c.SandboxLimits.memory_bytes = 3_000_000_000          # address space
c.SandboxLimits.processes = 64                        # processes of the sandbox's uid
c.SandboxLimits.open_files = 256
c.SandboxLimits.file_bytes = 64 * 1024 * 1024         # largest file written
c.SandboxLimits.cpu_seconds = 600
c.SandboxLimits.home_bytes = 128 * 1024 * 1024        # private home (tmpfs)
c.SandboxLimits.tmp_bytes = 64 * 1024 * 1024          # private /tmp (tmpfs)
c.SandboxLimits.cell_timeout = 30.0
c.SandboxLimits.call_timeout = 10.0
c.SandboxLimits.notebook_timeout = 300.0              # all student code of one notebook together
c.SandboxLimits.cell_text_bytes = 20_000              # printed text kept per cell
c.SandboxLimits.cell_images = 8                       # figures kept per cell
c.SandboxLimits.image_bytes = 1024 * 1024             # largest figure kept
c.SandboxLimits.notebook_output_bytes = 8 * 1024 * 1024
c.SandboxLimits.reply_bytes = 64 * 1024 * 1024        # largest message from the sandbox
c.SandboxLimits.submission_files = 200                # files of a submission shown in the sandbox home
c.SandboxLimits.submission_file_bytes = 16 * 1024 * 1024
c.SandboxLimits.submission_bytes = 64 * 1024 * 1024   # a whole submission, apparent size (before any copy)
c.SandboxLimits.submission_file_count = 500            # files of a submission copied and graded
c.SandboxLimits.notebook_bytes = 16 * 1024 * 1024      # one notebook file
c.SandboxLimits.notebook_cells = 1000                  # cells of one notebook (before nbgrader reads it)
c.SandboxLimits.startup_timeout = 120.0               # interpreter start and imports
c.SandboxLimits.max_restarts = 6                      # restarts after a cell hangs or kills its process
c.SandboxLimits.uid_base = 1_900_000_000
c.SandboxLimits.uid_slots = 4000
c.SandboxLimits.seccomp = True
c.SandboxLimits.warm = True                            # fork each sandbox from a pre-imported parent

# Feedback: never show hidden tests (nbgrader issues 917 and 1363), nor a student's
# script; feedback/ holds the notebooks' pages only (release_feedback publishes every *.html).
# (GradesFromGradebook: nbgrader's GetGrades, the same scores and comments, in five queries a notebook, not one a cell.)
c.GenerateFeedback.preprocessors = [StripHiddenTests, SanitizeStudentContent, GradesFromGradebook,
                                    CSSHTMLHeaderPreprocessor, InlineMathJax]
c.GenerateFeedback.post_convert_hook = feedback_pages_only
c.HTMLExporter.sanitize_html = True
# Markdown is judged as rendered: nbgrader's feedback and formgrade templates render it with
# this filter and clean nothing, so the filter cleans the HTML it produces (scripts, handlers,
# every URL not http(s)/mailto/relative). formgrader's exporter reads this file too.
c.HTMLExporter.filters = {"markdown2html": "mle_grading.nbgrader_integration.sanitize.safe_markdown2html"}
# nbgrader's feedback page, but with MathJax inlined (equations without a network) and
# diagnoses that wrap: feedback_templates/course_feedback extends nbgrader's own template.
# Set on generate_feedback's own exporter class, never on HTMLExporter: formgrader renders a
# submission with HTMLExporter and must keep its formgrade template (the grading view).
c.GenerateFeedback.exporter_class = CourseFeedbackExporter
c.CourseFeedbackExporter.template_name = "course_feedback"
c.CourseFeedbackExporter.template_file = "page.html.j2"
# Code highlighted as nbconvert does, without the spans that change nothing on the page
# (names, punctuation, whitespace), and each cell of the course's once per process
# (feedback_render.py); the exporter's filters replace HTMLExporter's, so markdown2html again.
c.CourseFeedbackExporter.filters = {
    "markdown2html": "mle_grading.nbgrader_integration.sanitize.safe_markdown2html",
    "highlight_code": "mle_grading.nbgrader_integration.feedback_render.course_highlight_code"}
c.CourseFeedbackExporter.extra_template_basedirs = [FEEDBACK_TEMPLATES, os.path.join(
    os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader", "templates")]

# The exchange (docs/exchange.md): collect copies only the student's own regular
# files, refuses folders posing as another student, and trusts the kernel's clock.
c.ExchangeFactory.collect = "mle_grading.nbgrader_integration.exchange.CourseExchangeCollect"
c.ExchangeFactory.release_assignment = "mle_grading.nbgrader_integration.exchange.CourseExchangeReleaseAssignment"
c.ExchangeFactory.release_feedback = "mle_grading.nbgrader_integration.exchange.CourseExchangeReleaseFeedback"

# Validation (instructor's `nbgrader validate` and students' Validate button).
c.Execute.timeout = 120

# Export: nbgrader's own CSV by default; with a roster, the CSV of Canvas's or Moodle's
# gradebook import (mle_grading/nbgrader_integration/lms_export.py), e.g.
#   nbgrader export --LmsExport.lms=canvas --LmsExport.roster=roster.csv --to canvas.csv
c.ExportApp.plugin_class = "mle_grading.nbgrader_integration.lms_export.LmsExport"
