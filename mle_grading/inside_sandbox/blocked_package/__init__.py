# Mounted over torch (and other libraries with ready-made losses) inside the
# grading sandbox, so that using one fails loudly instead of half-importing.
raise ImportError("this library is not available while grading: the contract asks for NumPy "
                  "and the standard library only")
