"""An unfinished run's kept/ (kept/ and dropped/ written, no _COMPLETE) is never read as a result."""

from __future__ import annotations

import pytest

from tests.cluster.corpus import write_corpus


@pytest.mark.e2e
def test_dedup_refuses_the_kept_folder_of_an_unfinished_filter_run(spark, ruleset, tmp_path):
    from data_platform.dedup.run import run_dedup
    from data_platform.filter_run import FilterRun, run_filter
    from data_platform.io.spark_io import InputError

    out = tmp_path / "filter"
    run_filter(spark, FilterRun([str(write_corpus(tmp_path / "in", 30, files=1))], str(out), ruleset))
    (out / "_COMPLETE").unlink()  # as if the driver died between the renames and the marker
    with pytest.raises(InputError, match="unfinished run .* has no _COMPLETE"):
        run_dedup(spark, [str(out / "kept")], str(tmp_path / "dedup"), ruleset.config.dedup)
    (out / "_COMPLETE").write_text("{}\n")
    assert run_dedup(spark, [str(out / "kept")], str(tmp_path / "dedup"), ruleset.config.dedup)["accounting"]["ok"]
