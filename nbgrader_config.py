# nbgrader reads this file from the working directory; the configuration lives in course_config.py.
try:
    load_subconfig("course_config.py")  # noqa: F821
except Exception as exc:
    # traitlets would log this and go on with nbgrader's defaults, which run student
    # code in an ordinary kernel, outside the sandbox: stop instead.
    import sys
    import traceback
    traceback.print_exc()
    sys.exit(f"course_config.py did not load ({type(exc).__name__}: {exc}); nbgrader is not run "
             "without the course's sandbox and trusted checks.")
