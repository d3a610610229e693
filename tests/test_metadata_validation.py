"""The compiled metadata check refuses exactly what nbgrader's CheckCellMetadata refuses, with its message."""
import copy

import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.preprocessors import CheckCellMetadata

from mle_grading.nbgrader_integration.preprocessors import CheckCellMetadataCompiled, _CompiledMetadataValidator

from course_copy import ROOT


def graded_cells():
    nb = nbformat.read(f"{ROOT}/source/mle_losses/01_gaussian_mse.ipynb", as_version=4)
    return [c for c in nb.cells if "nbgrader" in c.metadata]


def variants():
    """Valid and corrupted nbgrader metadata: wrong types, missing keys, unknown versions."""
    cells = graded_cells()
    grade = next(c for c in cells if c.metadata.nbgrader.get("grade"))
    edits = [("as written", lambda m: None),
             ("points as text", lambda m: m.__setitem__("points", "ten")),
             ("grade as text", lambda m: m.__setitem__("grade", "yes")),
             ("no grade_id", lambda m: m.pop("grade_id")),
             ("no solution key", lambda m: m.pop("solution")),
             ("grade_id a number", lambda m: m.__setitem__("grade_id", 7)),
             ("schema too old", lambda m: m.__setitem__("schema_version", 1)),
             ("schema too new", lambda m: m.__setitem__("schema_version", 99)),
             ("locked a list", lambda m: m.__setitem__("locked", [True]))]
    for name, edit in edits:
        cell = copy.deepcopy(grade)
        edit(cell.metadata.nbgrader)
        yield name, cell


def outcome(validator, cell):
    try:
        validator.validate_cell(cell)
    except Exception as exc:   # noqa: BLE001  (compared, class and text)
        return type(exc).__name__, str(exc)
    return None


@pytest.mark.parametrize("name,cell", list(variants()), ids=lambda v: v if isinstance(v, str) else "")
def test_the_compiled_validator_agrees_with_nbgraders_on_every_cell(name, cell):
    assert outcome(_CompiledMetadataValidator(), cell) == outcome(MetadataValidator(), cell)


def test_the_variants_include_cells_that_fail():
    failing = [name for name, cell in variants() if outcome(MetadataValidator(), cell) is not None]
    assert len(failing) >= 6 and "as written" not in failing


def test_a_notebook_with_corrupted_metadata_is_refused_as_nbgrader_refuses_it():
    nb = nbformat.read(f"{ROOT}/source/mle_losses/01_gaussian_mse.ipynb", as_version=4)
    next(c for c in nb.cells if "nbgrader" in c.metadata).metadata.nbgrader["points"] = "ten"
    messages = []
    for check in (CheckCellMetadata(), CheckCellMetadataCompiled()):
        with pytest.raises(ValidationError) as raised:
            check.preprocess(copy.deepcopy(nb), {})
        messages.append(str(raised.value))
    assert messages[0] == messages[1]


def test_metadata_the_schema_accepted_once_is_not_walked_again_and_corrupted_copies_still_are():
    validator = _CompiledMetadataValidator()
    cells = list(variants())
    valid = cells[0][1]
    walks = []
    compiled = validator._compiled()

    class Counting:
        def iter_errors(self, meta):
            walks.append(dict(meta))
            return compiled.iter_errors(meta)

    validator._compiled_schema = Counting()
    validator.validate_cell(valid)
    walks.clear()
    validator.validate_cell(copy.deepcopy(valid))
    assert walks == []
    for name, cell in cells:          # each twice: a refused cell is walked again the second time
        walked = []
        for _ in range(2):
            before = len(walks)
            assert outcome(validator, cell) == outcome(MetadataValidator(), cell), name
            walked.append(len(walks) - before)
        if outcome(MetadataValidator(), cell) is not None:
            assert walked[0] == walked[1], name
    # a value equal in Python but not in JSON (True == 1) is a different object to the schema
    flipped = copy.deepcopy(valid)
    flipped.metadata.nbgrader["points"] = True
    assert outcome(validator, flipped) == outcome(MetadataValidator(), flipped) is not None
