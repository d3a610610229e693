"""The benchmark's baseline sample: spread over the whole class, and the course copies hold only it;
its plain-nbgrader variant of the course configuration loads."""
import os
import shutil

from traitlets.config import Config

from benchmarks.grading_benchmark import keep_only, sample_of, submissions, submitted_assignments, variant
from notebook_namespace import ROOT


def test_the_sample_is_spread_evenly_over_the_class_and_has_no_repeats():
    students = [f"s{i:04d}" for i in range(200)]
    sample = sample_of(students, 20)
    assert len(sample) == len(set(sample)) == 20
    assert sample[0] == "s0000" and sample[-1] >= "s0180"
    gaps = {int(b[1:]) - int(a[1:]) for a, b in zip(sample, sample[1:])}
    assert gaps == {10}


def test_no_sample_or_one_as_large_as_the_class_is_the_whole_class():
    students = ["a", "b", "c"]
    assert sample_of(students, None) == students and sample_of(students, 5) == students


def test_a_course_copy_keeps_only_the_sampled_students_submissions(tmp_path):
    for student in ("a", "b", "c"):
        os.makedirs(tmp_path / "submitted" / student / "mle_losses")
    keep_only(str(tmp_path), ["a", "c"])
    assert sorted(os.listdir(tmp_path / "submitted")) == ["a", "c"]


def test_the_report_names_only_the_assignments_the_class_submitted(tmp_path):
    for assignment in ("mle_losses", "mle_beyond"):
        os.makedirs(tmp_path / "source" / assignment)
    for student in ("a", "b"):
        os.makedirs(tmp_path / "submitted" / student / "mle_losses")
    subs = submissions(str(tmp_path), ["a", "b"])
    assert subs == [("mle_losses", "a"), ("mle_losses", "b")]
    assert submitted_assignments(subs) == ["mle_losses"]


def test_the_plain_nbgrader_variant_of_the_course_configuration_loads_with_nbgraders_own_preprocessors(tmp_path):
    from nbgrader.preprocessors import Execute, SaveAutoGrades
    (tmp_path / "base").mkdir()
    shutil.copy(os.path.join(ROOT, "course_config.py"), tmp_path / "base")
    path = os.path.join(variant(str(tmp_path / "base"), str(tmp_path / "plain"), plain=True), "course_config.py")
    config = Config()
    with open(path) as fh:
        exec(compile(fh.read(), path, "exec"), {"get_config": lambda: config, "__file__": path})
    assert Execute in config.Autograde.autograde_preprocessors
    assert SaveAutoGrades in config.Autograde.autograde_preprocessors
    assert not any(p.__module__.startswith("mle_grading") for p in config.Autograde.autograde_preprocessors)
