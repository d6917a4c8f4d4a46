"""The frames pipeline (bench/hamilton_frames.py) as Hamilton nodes over pandas."""

import pandas as pd
from hamilton.function_modifiers import cache
from hamilton.plugins import pandas_extensions  # noqa: F401  (parquet saver and loader)


@cache(format="parquet")
def raw(data_file: str) -> pd.DataFrame:
    return pd.read_csv(data_file)

@cache(format="parquet")
def cleaned(raw: pd.DataFrame) -> pd.DataFrame:
    return raw[raw["amount"].notna() & (raw["qty"] > 0)]

@cache(format="parquet")
def featured(cleaned: pd.DataFrame) -> pd.DataFrame:
    a = cleaned["amount"]
    return cleaned.assign(
        unit_price=a / cleaned["qty"].astype("float64"),
        amount_z=(a - a.mean()) / a.std(ddof=1),
        is_large=a > 100.0,
    )

def report(featured: pd.DataFrame) -> pd.DataFrame:
    return (
        featured.groupby(["region", "product"])
        .agg(
            revenue=("amount", "sum"),
            avg_unit_price=("unit_price", "mean"),
            large_orders=("is_large", "sum"),
            max_z=("amount_z", "max"),
        )
        .reset_index()
        .sort_values(["region", "product"])
    )
