"""What an instructor runs: the pipeline, grading a class on Dask, the feedback service, the class report."""
