"""The scores and comments of a feedback page, read from the gradebook in five queries a notebook.

`GradesFromGradebook` takes nbgrader's `GetGrades` place in `GenerateFeedback.preprocessors`
(course_config.py) and writes the same things: in each graded or task cell `score` and
`points`, in each solution or task cell `comment` (a grader's comment, else the automatic
one), and the notebook's `score` (less its late penalty), `max_score` and `late_penalty` in
`resources["nbgrader"]`; and, as nbgrader does, it fails the notebook when the gradebook
holds no submission or no grade for one of its cells (`MissingEntry`).

nbgrader's `GetGrades` opens a new `Gradebook` per notebook (a new SQLAlchemy engine, which
inspects and creates the schema and compiles every statement again) and runs one query per
cell: about 0.2 CPU-s per student of mle_losses on a warm worker. This reads nbgrader's own
tables through nbgrader's own models (`nbgrader.api`), with one engine per gradebook URL per
process (its statements compiled once) and a fresh session and connection, so fresh data, per notebook;
`tests/test_feedback_grades.py` compares it with nbgrader's `GetGrades`, with a grader's
score, comments and a late penalty.
"""
import functools

from nbgrader import utils
from nbgrader.api import (Assignment, BaseCell, Comment, Grade, MissingEntry, Notebook, Student,
                          SubmittedAssignment, SubmittedNotebook)
from nbgrader.preprocessors import GetGrades
from sqlalchemy import create_engine
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool


@functools.lru_cache(maxsize=4)
def _engine(db_url):
    # No pool: a connection per notebook, closed after it, as nbgrader's Gradebook holds one
    # (a worker keeps no idle connection to PostgreSQL); the compiled statements stay with the engine.
    return create_engine(db_url, future=True, poolclass=NullPool)


class GradesFromGradebook(GetGrades):
    """nbgrader's GetGrades (same cells, same values, same errors), in five queries a notebook."""

    def preprocess(self, nb, resources):
        ids = resources["nbgrader"]
        notebook_id, assignment_id, student_id = ids["notebook"], ids["assignment"], ids["student"]
        with Session(_engine(ids["db_url"])) as session:
            try:
                submitted = session.query(SubmittedNotebook) \
                    .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id) \
                    .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id) \
                    .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id) \
                    .join(Student, Student.id == SubmittedAssignment.student_id) \
                    .filter(Notebook.name == notebook_id, Assignment.name == assignment_id,
                            Student.id == student_id).one()
            except NoResultFound:
                raise MissingEntry(f"No such submitted notebook: {assignment_id}/{notebook_id} for {student_id}") \
                    from None
            grades = {(cell_type, name): (score, points) for cell_type, name, score, points in
                      session.query(BaseCell.type, BaseCell.name, Grade.score, Grade.max_score)
                      .join(Grade, Grade.cell_id == BaseCell.id).filter(Grade.notebook_id == submitted.id)}
            comments = {(cell_type, name): comment for cell_type, name, comment in
                        session.query(BaseCell.type, BaseCell.name, Comment.comment)
                        .join(Comment, Comment.cell_id == BaseCell.id).filter(Comment.notebook_id == submitted.id)}

            def find(found, kinds, name, what):
                # nbgrader's find_grade / find_comment: the cell of the first kind that has it
                for kind in kinds:
                    if (kind, name) in found:
                        return found[(kind, name)]
                raise MissingEntry(f"No such {what}: {name}/{notebook_id}/{assignment_id} for {student_id}")

            for cell in nb.cells:
                if not (utils.is_solution(cell) or utils.is_grade(cell) or utils.is_task(cell)):
                    continue
                name = cell.metadata["nbgrader"]["grade_id"]
                if utils.is_solution(cell) or utils.is_task(cell):
                    cell.metadata.nbgrader["comment"] = find(comments, ("SolutionCell", "TaskCell"), name, "comment")
                if utils.is_grade(cell) or utils.is_task(cell):
                    score, points = find(grades, ("GradeCell", "TaskCell"), name, "grade")
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
