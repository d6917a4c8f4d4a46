"""The seed's Spark flow as Hamilton nodes (bench/compare.sh spark; weft's side is
bench/src/spark.rs): raw_data(spark_session) -> filtered_data -> aggregated_stats."""

import pyspark.sql as ps
from pyspark.sql import functions as F


def raw_data(spark_session: ps.SparkSession, data_csv: str) -> ps.DataFrame:
    """The people, read by Spark (an explicit schema keeps the read lazy)."""
    return (
        spark_session.read.option("header", "true")
        .schema("name STRING, age INT, country STRING, amount DOUBLE")
        .csv(data_csv)
    )


def filtered_data(raw_data: ps.DataFrame) -> ps.DataFrame:
    """Adults only."""
    return raw_data.filter(F.col("age") > 18)


def aggregated_stats(filtered_data: ps.DataFrame) -> ps.DataFrame:
    """People per country."""
    return filtered_data.groupBy("country").count()
