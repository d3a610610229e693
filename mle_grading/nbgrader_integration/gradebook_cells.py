"""A submitted notebook's cells in the gradebook, read and written in a few queries a notebook.

Two of nbgrader's preprocessors, each replaced in course_config.py by one that does the same
through nbgrader's own models (`nbgrader.api`) with one engine per gradebook URL per process
(its statements compiled once) and a fresh session and connection, so fresh data, per notebook:

- `SaveAutoGradesAtOnce` takes the place of `SaveAutoGrades` in autograding (through
  `preprocessors.SaveAutoGradesIfValid`): each graded cell's `auto_score` and
  `needs_manual_grade`, each solution or task cell's `auto_comment`, as nbgrader sets them,
  in one transaction. nbgrader's opens a new `Gradebook` per notebook (a new SQLAlchemy
  engine, which inspects the schema and compiles every statement again) and finds and
  commits each cell on its own (a commit is a file sync on SQLite).
- `GradesFromGradebook` takes the place of `GetGrades` in `GenerateFeedback.preprocessors`
  and writes the same things: in each graded or task cell `score` and `points`, in each
  solution or task cell `comment` (a grader's comment, else the automatic one), and the
  notebook's `score` (less its late penalty), `max_score` and `late_penalty` in
  `resources["nbgrader"]`.

As nbgrader's, both fail the notebook when the gradebook holds no submission or no grade or
comment for one of its cells (`MissingEntry`). `tests/test_gradebook_cells.py` compares each
with nbgrader's own, with a grader's score, comments, a task cell and a late penalty.
"""
import functools

from nbgrader import utils
from nbgrader.api import (Assignment, BaseCell, Comment, Grade, MissingEntry, Notebook, Student,
                          SubmittedAssignment, SubmittedNotebook)
from nbgrader.preprocessors import GetGrades, SaveAutoGrades
from sqlalchemy import create_engine
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

# nbgrader's find_grade and find_comment: a cell of the first kind that has the name.
GRADED_KINDS = ("GradeCell", "TaskCell")
COMMENTED_KINDS = ("SolutionCell", "TaskCell")


@functools.lru_cache(maxsize=4)
def engine_for(db_url):
    # No pool: a connection per notebook, closed after it, as nbgrader's Gradebook holds one
    # (a worker keeps no idle connection to PostgreSQL); the compiled statements stay with the engine.
    return create_engine(db_url, future=True, poolclass=NullPool)


def submitted_notebook(session, notebook_id, assignment_id, student_id):
    try:
        return session.query(SubmittedNotebook) \
            .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id) \
            .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id) \
            .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id) \
            .join(Student, Student.id == SubmittedAssignment.student_id) \
            .filter(Notebook.name == notebook_id, Assignment.name == assignment_id,
                    Student.id == student_id).one()
    except NoResultFound:
        raise MissingEntry(f"No such submitted notebook: {assignment_id}/{notebook_id} for {student_id}") from None


def by_kind_and_name(session, submitted, *columns, of):
    """{(cell kind, cell name): the columns} of the submitted notebook's grades or comments (`of`)."""
    rows = session.query(BaseCell.type, BaseCell.name, *columns).join(of, of.cell_id == BaseCell.id) \
        .filter(of.notebook_id == submitted.id)
    return {(kind, name): values[0] if len(values) == 1 else tuple(values) for kind, name, *values in rows}


def submitted_cells(session, resources, grade_columns, comment_columns):
    """(the notebook's keys, its submission, its grades' and its comments' columns by cell kind and name)."""
    info = resources["nbgrader"]
    keys = info["notebook"], info["assignment"], info["student"]
    submitted = submitted_notebook(session, *keys)
    return (keys, submitted, by_kind_and_name(session, submitted, *grade_columns, of=Grade),
            by_kind_and_name(session, submitted, *comment_columns, of=Comment))


def find(found, kinds, name, what, keys):
    """The grade or comment (`what`: nbgrader's word in its error) of cell `name`; nbgrader's error if none."""
    for kind in kinds:
        if (kind, name) in found:
            return found[(kind, name)]
    notebook_id, assignment_id, student_id = keys
    raise MissingEntry(f"No such {what}: {assignment_id}/{notebook_id}/{name} for {student_id}")


class SaveAutoGradesAtOnce(SaveAutoGrades):
    """nbgrader's SaveAutoGrades (same rows, same values, same errors), in one transaction a notebook:
    a notebook refused half-way (a cell the gradebook does not know) keeps none of its new scores,
    where nbgrader's keeps those of the cells before (a regrade writes them either way)."""

    def preprocess(self, nb, resources):
        with Session(engine_for(resources["nbgrader"]["db_url"])) as session:
            keys, _, grades, comments = submitted_cells(session, resources, (Grade,), (Comment,))
            for cell in nb.cells:
                if utils.is_grade(cell):
                    grade = find(grades, GRADED_KINDS, cell.metadata.nbgrader["grade_id"], "grade", keys)
                    grade.auto_score, _ = utils.determine_grade(cell, self.log)
                    # a grader's score, or none from the autograder: a person looks at it
                    grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
                if utils.is_solution(cell) or utils.is_task(cell):
                    comment = find(comments, COMMENTED_KINDS, cell.metadata.nbgrader["grade_id"], "taskcomment", keys)
                    unchanged = cell.metadata.nbgrader.get("checksum", None) == utils.compute_checksum(cell)
                    comment.auto_comment = "No response." if unchanged and not utils.is_task(cell) else None
            session.commit()
        return nb, resources


class GradesFromGradebook(GetGrades):
    """nbgrader's GetGrades (same cells, same values, same errors), in five queries a notebook."""

    def preprocess(self, nb, resources):
        ids = resources["nbgrader"]
        with Session(engine_for(ids["db_url"])) as session:
            keys, submitted, grades, comments = submitted_cells(session, resources, (Grade.score, Grade.max_score),
                                                                (Comment.comment,))
            for cell in nb.cells:
                if not (utils.is_solution(cell) or utils.is_grade(cell) or utils.is_task(cell)):
                    continue
                name = cell.metadata["nbgrader"]["grade_id"]
                if utils.is_solution(cell) or utils.is_task(cell):
                    cell.metadata.nbgrader["comment"] = find(comments, COMMENTED_KINDS, name, "taskcomment", keys)
                if utils.is_grade(cell) or utils.is_task(cell):
                    score, points = find(grades, GRADED_KINDS, name, "grade", keys)
                    cell.metadata.nbgrader["score"] = score
                    cell.metadata.nbgrader["points"] = points

            late_penalty = submitted.late_submission_penalty
            if late_penalty is None:
                late_penalty = 0
            else:
                self.log.warning("Late submission penalty: {}".format(late_penalty))
            ids["score"] = submitted.score - late_penalty
            ids["max_score"] = submitted.max_score
            ids["late_penalty"] = late_penalty
        return nb, resources
