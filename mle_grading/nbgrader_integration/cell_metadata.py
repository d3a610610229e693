"""nbgrader's check of a notebook's grading metadata, with its JSON schema compiled once per process.

nbgrader's `CheckCellMetadata` validates every nbgrader cell with `jsonschema.validate`, which
first checks the schema itself against JSON Schema's meta-schema and builds a new validator:
about 0.19 s of a worker per submission of four notebooks, twice (after the rebuild and
before the autograded notebook is written), where validating the cells costs about 0.02 s.
`CheckCellMetadataCompiled` takes its place in course_config.py: the same rules (nbgrader's
own validator class does every check beyond the schema, and a cell of another schema version
goes through nbgrader's own code), the same error chosen by jsonschema's `best_match`, the
same message. tests/test_metadata_validation.py compares the two on corrupted notebooks.
"""
import functools
import json
import os
import traceback

import jsonschema
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator, root as nbgraderformat_root
from nbgrader.preprocessors import CheckCellMetadata


@functools.lru_cache(maxsize=None)
def _compiled(schema_version, schema_file):
    """The validator of nbgrader's schema file for a version (read by BaseMetadataValidator too)."""
    with open(schema_file) as fh:
        schema = json.load(fh)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)   # what jsonschema.validate does on every call
    return validator_class(schema)


class _SchemaCompiledOnce(BaseMetadataValidator):
    """BaseMetadataValidator's check of one cell against the schema, with a validator built once."""

    def validate_cell(self, cell):
        if "nbgrader" not in cell.metadata:
            return
        meta = cell.metadata["nbgrader"]
        if meta.get("schema_version", 0) != self.schema_version:
            return BaseMetadataValidator.validate_cell(self, cell)   # nbgrader's own errors for it
        validator = _compiled(self.schema_version, os.path.join(nbgraderformat_root, f"v{self.schema_version:d}.json"))
        error = jsonschema.exceptions.best_match(validator.iter_errors(meta))
        if error is not None:
            raise error


class CompiledMetadataValidator(MetadataValidator, _SchemaCompiledOnce):
    """nbgrader's MetadataValidator (the grade ids, points, cell types and unique ids it checks
    beyond the schema); its call to the base class's schema check lands in _SchemaCompiledOnce."""


class CheckCellMetadataCompiled(CheckCellMetadata):
    """nbgrader's CheckCellMetadata, validating with CompiledMetadataValidator."""

    def preprocess(self, nb, resources):
        try:
            CompiledMetadataValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg)
        return nb, resources
