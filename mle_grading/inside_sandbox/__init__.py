"""What runs inside the sandbox: this folder is mounted there read-only, all but trusted_inner.py
(whose source travels with the one call that needs it).

Nothing here may import the rest of the grading library: inside the sandbox only the
standard library, NumPy, SymPy, matplotlib and IPython exist.
"""
