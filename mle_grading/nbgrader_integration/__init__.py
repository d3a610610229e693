"""nbgrader's side of the pack: preprocessors, the exchange, exports, and running nbgrader's own applications."""
