"""The frames pipeline (bench/hamilton_frames.py) as Hamilton nodes over polars."""

import polars as pl
from hamilton.function_modifiers import cache
from hamilton.plugins import polars_extensions  # noqa: F401  (parquet saver and loader)


@cache(format="parquet")
def raw(data_file: str) -> pl.DataFrame:
    return pl.read_csv(data_file)

@cache(format="parquet")
def cleaned(raw: pl.DataFrame) -> pl.DataFrame:
    return raw.filter(pl.col("amount").is_not_null() & (pl.col("qty") > 0))

@cache(format="parquet")
def featured(cleaned: pl.DataFrame) -> pl.DataFrame:
    a = pl.col("amount")
    return cleaned.with_columns(
        (a / pl.col("qty").cast(pl.Float64)).alias("unit_price"),
        ((a - a.mean()) / a.std(ddof=1)).alias("amount_z"),
        (a > 100.0).alias("is_large"),
    )

def report(featured: pl.DataFrame) -> pl.DataFrame:
    return (
        featured.group_by("region", "product")
        .agg(
            pl.col("amount").sum().alias("revenue"),
            pl.col("unit_price").mean().alias("avg_unit_price"),
            pl.col("is_large").sum().alias("large_orders"),
            pl.col("amount_z").max().alias("max_z"),
        )
        .sort("region", "product")
    )
