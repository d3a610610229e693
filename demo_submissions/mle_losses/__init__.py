"""Demo submissions of assignment `mle_losses`: one module per notebook."""
ASSIGNMENT = "mle_losses"
