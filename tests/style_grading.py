"""Grade an answer written in another style in-process, under several students' hidden inputs."""
from notebook_namespace import failing_cells, run_notebook_code

DRAWS = ("ada", "grace", "edsger")


def failures_per_draw(variant, draws=DRAWS):
    """{student: {grade_id: message}} of the variant's notebook, one student's inputs each."""
    namespace = run_notebook_code(variant.notebook, variant.answers, keep_going=True)  # as the sandbox does
    return {student: failing_cells(variant.notebook, namespace, student) for student in draws}


def assert_fails_as_declared(variant, draws=DRAWS):
    """The declared cells fail, under every draw, each naming the cause; every other cell passes."""
    for student, failed in failures_per_draw(variant, draws).items():
        assert set(failed) == set(variant.fails), (student, failed)
        for gid, message in failed.items():
            assert variant.cause in message, (student, gid, message)
            for wrong in variant.not_said:
                assert wrong not in message, (student, gid, message)
