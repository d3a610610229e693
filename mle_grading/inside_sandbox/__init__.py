"""What runs inside the sandbox: this folder is mounted there whole, read-only.

Nothing here may import the rest of the grading library: inside the sandbox only the
standard library, NumPy, SymPy, matplotlib and IPython exist.
"""
