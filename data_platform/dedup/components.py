"""Connected components of a similarity graph as Spark DataFrame iterations (no driver-side union-find).

Min-label propagation with pointer jumping: every node starts with its own id as label; each round it takes the
smallest label among itself and its neighbours, then the label of its label (which halves path lengths).
Rounds repeat until no label changes; each round's labels are checkpointed (reliably: to the context's checkpoint
directory, so a lost executor loses nothing) so the plan stays small.
"""

from __future__ import annotations


class ComponentsDidNotConverge(RuntimeError):
    pass


def connected_components(edges, max_iterations: int = 50):
    """``edges`` (columns ``src``, ``dst``: string node ids) -> DataFrame ``node, component`` where
    ``component`` is the smallest node id of the node's component. Isolated nodes are not in ``edges``."""
    from pyspark.sql import functions as F

    e = (edges.select(F.least("src", "dst").alias("a"), F.greatest("src", "dst").alias("b"))
         .where(F.col("a") != F.col("b")).distinct())
    both = e.unionByName(e.select(F.col("b").alias("a"), F.col("a").alias("b"))).checkpoint()
    labels = both.select(F.col("a").alias("node")).distinct().withColumn("label", F.col("node")).checkpoint()
    for _ in range(max_iterations):
        offered = both.join(labels.withColumnRenamed("node", "b"), "b").select(F.col("a").alias("node"), "label")
        spread = labels.unionByName(offered).groupBy("node").agg(F.min("label").alias("label"))
        parent = spread.select(F.col("node").alias("label"), F.col("label").alias("grand"))
        jumped = (spread.join(parent, "label", "left")
                  .select("node", F.least("label", F.coalesce("grand", "label")).alias("label"))).checkpoint()
        changed = jumped.join(labels.withColumnRenamed("label", "old"), "node").where(F.col("label") != F.col("old"))
        labels = jumped
        if changed.limit(1).count() == 0:
            return labels.withColumnRenamed("label", "component")
    raise ComponentsDidNotConverge(f"connected components did not converge in {max_iterations} rounds")
