"""Demo submissions of assignment `mle_beyond`: one module per notebook."""
ASSIGNMENT = "mle_beyond"
