# nbgrader reads this file from the working directory; the configuration lives in course_config.py.
load_subconfig("course_config.py")  # noqa: F821
