"""All nbgrader configuration of the course; nbgrader_config.py only loads this file.

Every bare nbgrader command works from the repository root:
    nbgrader generate_assignment mle_losses
    nbgrader autograde mle_losses
    nbgrader generate_feedback mle_losses
    nbgrader export
"""
import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput,
                                    GetGrades, IgnorePattern, LimitOutput,
                                    OverwriteKernelspec, SaveAutoGrades)

from mle_grading.nbgrader_plugins import (RebuildSubmission, StripHiddenTests, TrustedGrading, course_db_url,
                                          set_aside_unreadable_notebooks)

c = get_config()  # noqa: F821  (provided by nbgrader when it loads the config)

ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "mle_losses_course"
c.CourseDirectory.root = ROOT
c.CourseDirectory.db_url = course_db_url()
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

# Release: nbgrader's own solution and hidden-test stripping.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}


# Autograde: rebuild every locked and test cell from the gradebook (whatever the
# student deleted, edited or re-labelled), then decide
# every test cell by a trusted check against the sandboxed submission.
c.Autograde.sanitize_preprocessors = [ClearOutput, OverwriteKernelspec, RebuildSubmission, CheckCellMetadata]
c.Autograde.autograde_preprocessors = [TrustedGrading, IgnorePattern, ClearMetadataPreprocessor,
                                       LimitOutput, SaveAutoGrades, AssignLatePenalties,
                                       CheckCellMetadata]
c.Autograde.pre_convert_hook = set_aside_unreadable_notebooks
c.TrustedGrading.cell_timeout = 30.0
c.TrustedGrading.call_timeout = 10.0
c.TrustedGrading.memory_limit = 3_000_000_000
c.TrustedGrading.report_directory = os.path.join(ROOT, "grading_reports")

# Feedback: never show hidden tests (nbgrader issues 917 and 1363).
c.GenerateFeedback.preprocessors = [StripHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]

# Validation (instructor's `nbgrader validate` and students' Validate button).
c.Execute.timeout = 120

# Export: nbgrader's own CSV by default; with a roster, the CSV of Canvas's or Moodle's
# gradebook import (mle_grading/lms_export.py), e.g.
#   nbgrader export --LmsExport.lms=canvas --LmsExport.roster=roster.csv --to canvas.csv
c.ExportApp.plugin_class = "mle_grading.lms_export.LmsExport"
