"""The course's autograder checks every notebook's grading metadata with nbgrader's CheckCellMetadata
(its schema compiled once per process), after a submission is rebuilt and again before it is
written, and refuses one whose metadata is corrupted exactly where nbgrader's own check does."""
import copy
import logging

import nbformat
import pytest
from nbgrader.nbgraderformat import ValidationError
from nbgrader.preprocessors import CheckCellMetadata
from traitlets.config.loader import PyFileConfigLoader

from course_copy import ROOT
from mle_grading.nbgrader_integration.cell_metadata import CheckCellMetadataCompiled, CompiledMetadataValidator


def _autograde_config():
    return PyFileConfigLoader("nbgrader_config.py", path=ROOT).load_config().Autograde


def _source(notebook="01_gaussian_mse"):
    return nbformat.read(f"{ROOT}/source/mle_losses/{notebook}.ipynb", as_version=4)


def _graded(nb, cell_type="code"):
    return next(c for c in nb.cells if c.cell_type == cell_type and c.metadata.get("nbgrader", {}).get("grade"))


def _set(key, value, cell_type="code"):
    def corrupt(nb):
        _graded(nb, cell_type).metadata.nbgrader[key] = value
    return corrupt


def _delete(key):
    def corrupt(nb):
        del _graded(nb).metadata.nbgrader[key]
    return corrupt


def _duplicate_grade_id(nb):
    first, second = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")][:2]
    second.metadata.nbgrader["grade_id"] = first.metadata.nbgrader["grade_id"]


def _task_on_code(nb):
    _graded(nb).metadata.nbgrader["task"] = True


def _nbgrader_not_a_dict(nb):
    _graded(nb).metadata["nbgrader"] = ["grade", True]


CORRUPTIONS = {
    "points written as a word": _set("points", "ten"),
    "negative points": _set("points", -1),
    "grade flag as a string": _set("grade", "yes"),
    "grade id as a number": _set("grade_id", 7),
    "empty grade id": _set("grade_id", ""),
    "schema version too old": _set("schema_version", 2),
    "schema version too new": _set("schema_version", 4),
    "a key nbgrader does not know": _set("hacked", True),
    "no grade id": _delete("grade_id"),
    "no points": _delete("points"),
    "no locked flag": _delete("locked"),
    "two cells with one grade id": _duplicate_grade_id,
    "a task flag on a code cell": _task_on_code,
    "metadata that is not an object": _nbgrader_not_a_dict,
}


def _outcome(check, nb):
    try:
        check(log=logging.getLogger("test")).preprocess(copy.deepcopy(nb), {})
    except ValidationError as error:
        return ("refused", str(error))
    except Exception as error:  # noqa: BLE001  (whatever nbgrader raises, the compiled check must raise too)
        return (type(error).__name__,)
    return ("accepted",)


@pytest.mark.parametrize("step", ["sanitize_preprocessors", "autograde_preprocessors"])
def test_each_step_of_autograding_ends_with_nbgraders_metadata_check(step):
    check = _autograde_config()[step][-1]
    assert check is CheckCellMetadataCompiled and issubclass(check, CheckCellMetadata)


@pytest.mark.parametrize("notebook", ["01_gaussian_mse", "02_bernoulli_bce", "03_categorical_ce", "04_gradients"])
def test_the_course_notebooks_as_written_are_accepted_by_both_checks(notebook):
    nb = _source(notebook)
    assert _outcome(CheckCellMetadata, nb) == _outcome(CheckCellMetadataCompiled, nb) == ("accepted",)


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_corrupted_metadata_is_refused_exactly_as_nbgrader_refuses_it(corruption):
    nb = _source()
    CORRUPTIONS[corruption](nb)
    nbgraders = _outcome(CheckCellMetadata, nb)
    assert nbgraders != ("accepted",), f"nbgrader accepts {corruption}: not a corruption"
    assert _outcome(CheckCellMetadataCompiled, nb) == nbgraders


def test_the_schema_error_chosen_is_the_one_nbgrader_reports():
    from nbgrader.nbgraderformat import MetadataValidator
    nb = _source()
    meta = _graded(nb).metadata.nbgrader
    meta["points"], meta["solution"] = "ten", "no"
    errors = []
    for validator in (MetadataValidator(), CompiledMetadataValidator()):
        with pytest.raises(ValidationError) as raised:
            validator.validate_nb(nb)
        errors.append((raised.value.message, list(raised.value.path)))
    assert errors[0] == errors[1]


def test_the_compiled_check_never_checks_the_schema_itself_again(monkeypatch):
    """What makes it cheap: no cell goes through jsonschema.validate (which checks the schema first)."""
    import jsonschema
    from nbgrader.nbgraderformat import MetadataValidator

    calls = []
    validate = jsonschema.validate
    monkeypatch.setattr(jsonschema, "validate", lambda *args, **kwargs: (calls.append(1), validate(*args, **kwargs)))
    nb = _source("04_gradients")
    MetadataValidator().validate_nb(nb)
    assert calls, "nbgrader's own check goes through jsonschema.validate"
    calls.clear()
    CompiledMetadataValidator().validate_nb(nb)
    assert calls == []
