"""spark-submit tests/cluster/probe.py RULES.yaml: where the driver and each executor import data_platform from,
and where executors open the models the rule file names (printed as one JSON line)."""

import json
import sys

from pyspark.sql import SparkSession

import data_platform
from data_platform.config import load_rules
from data_platform.models.shipping import ship_files


def main() -> None:
    spark = SparkSession.builder.getOrCreate()
    sc = spark.sparkContext
    ruleset = load_rules(sys.argv[1])
    shipped = ship_files(sc, ruleset)
    refs = {"langid": shipped.resources["langid"]["path"],
            "kenlm_en": next(iter(shipped.resources["perplexity"].values()))["en"]}

    def where(_):
        import os

        from pyspark import SparkFiles

        import data_platform as dp
        from data_platform.models import fasttext_langid, kenlm_model
        from data_platform.models.shipping import local_path

        fasttext_langid.load(refs["langid"])  # the real loaders, through the shipped references
        kenlm_model.load(refs["kenlm_en"])
        yield {"module": dp.__file__, "files_root": SparkFiles.getRootDirectory(), "pid": os.getpid(),
               **{k: os.path.realpath(local_path(v)) for k, v in refs.items()}}

    executors = sc.parallelize(range(4), 4).mapPartitions(where).collect()
    driver_paths = {"langid": ruleset.resources["langid"]["path"],
                    "kenlm_en": next(iter(ruleset.resources["perplexity"].values()))["en"]}
    print("PROBE " + json.dumps({"driver_module": data_platform.__file__, "driver_models": driver_paths,
                                 "executors": executors}))
    spark.stop()


if __name__ == "__main__":
    main()
