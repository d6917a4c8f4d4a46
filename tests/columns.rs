//! `with_columns` over polars (feature `polars`): column nodes in expression and Series styles,
//! compiled into one lazy `with_columns`, visible as nodes, with clear errors.

use weft::frames::polars::prelude::*;
use weft::prelude::*;
use weft::CacheConfig;
use weft_tests::temp_dir;

fn sales() -> DataFrame {
    df!(
        "region" => ["eu", "us", "eu", "apac"],
        "amount" => [10.0f64, 20.0, 30.0, 40.0],
        "qty" => [1i64, 2, 3, 4],
    )
    .unwrap()
}

/// Column nodes of the `enriched` group.
pub mod features {
    use weft::frames::polars::prelude::*;

    /// Expression style.
    #[weft::column]
    pub fn normalized_amount(amount: Expr) -> Expr {
        amount.clone() / amount.max()
    }

    /// Series style: a Rust function over whole columns.
    #[weft::column]
    pub fn unit_price(amount: Series, qty: &Series) -> Result<Series, PolarsError> {
        let qty = qty.cast(&DataType::Float64)?;
        &amount / &qty
    }

    /// Built from another column node and an ordinary node (`bonus`, an input).
    #[weft::column]
    pub fn boosted(unit_price: Expr, bonus: &f64) -> Expr {
        unit_price + lit(*bonus)
    }
}

pub mod flow {
    use weft::frames::polars::prelude::*;
    use weft::prelude::*;

    #[node]
    pub fn cleaned(raw: &DataFrame) -> LazyFrame {
        raw.clone().lazy().filter(col("qty").gt(lit(0)))
    }

    /// The frame with the features appended (one lazy plan).
    #[node(with_columns(super::features, columns_to_pass = ["amount", "qty"], select = ["normalized_amount", "unit_price", "boosted"]))]
    pub fn enriched(cleaned: LazyFrame) -> LazyFrame {
        cleaned
    }

    #[node]
    pub fn report(enriched: &LazyFrame) -> Result<DataFrame, PolarsError> {
        enriched.clone().sort(["qty"], Default::default()).collect()
    }
}

fn driver() -> Driver {
    Builder::new()
        .with_modules(weft::modules![crate::flow])
        .build()
        .unwrap()
}

fn f64s(df: &DataFrame, c: &str) -> Vec<f64> {
    df.column(c)
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect()
}

#[test]
fn column_nodes_become_one_with_columns_call() {
    let dr = driver();
    let out = dr
        .execute(
            &["report", "enriched"],
            inputs! { "raw" => sales(), "bonus" => 0.5f64 },
        )
        .unwrap();
    let report = out.get::<DataFrame>("report").unwrap();
    assert_eq!(f64s(report, "normalized_amount"), [0.25, 0.5, 0.75, 1.0]);
    assert_eq!(f64s(report, "unit_price"), [10.0, 10.0, 10.0, 10.0]);
    assert_eq!(f64s(report, "boosted"), [10.5, 10.5, 10.5, 10.5]);
    // One lazy plan: the frame node received an uncollected plan with one with_columns.
    let plan = out
        .get::<LazyFrame>("enriched")
        .unwrap()
        .describe_plan()
        .unwrap();
    assert_eq!(plan.matches("WITH_COLUMNS").count(), 1, "{plan}");
    assert!(
        plan.contains("unit_price@"),
        "the Series function is in the plan: {plan}"
    );
}

#[test]
fn column_nodes_are_nodes_and_the_picture_boxes_the_group() {
    let dr = driver();
    let g = dr.graph();
    for n in [
        "normalized_amount",
        "unit_price",
        "boosted",
        "amount",
        "qty",
        "enriched.with_columns",
    ] {
        assert!(g.node(n).is_some(), "`{n}` is a node");
    }
    // `bonus` is an ordinary input of a column node.
    assert!(g.node("bonus").is_some());
    let viz = dr.display_all();
    assert_eq!(viz.groups.len(), 1);
    let (label, members) = &viz.groups[0];
    assert!(label.contains("enriched"));
    let names: Vec<&str> = members
        .iter()
        .map(|&i| viz.nodes[i].name.as_str())
        .collect();
    for n in [
        "normalized_amount",
        "unit_price",
        "boosted",
        "amount",
        "qty",
        "enriched.with_columns",
    ] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    assert!(!names.contains(&"report") && !names.contains(&"cleaned"));
    assert!(viz.to_dot().unwrap().contains("subgraph cluster_group0"));
    assert!(viz.to_svg().unwrap().contains("class=\"group\""));
}

#[test]
fn a_group_is_cached_like_any_node() {
    let dir = temp_dir("columns", "cache");
    let run = || {
        let dr = Builder::new()
            .with_modules(weft::modules![crate::flow])
            .with_cache_config(CacheConfig::at(&dir))
            .build()
            .unwrap();
        let out = dr
            .execute(&["report"], inputs! { "raw" => sales(), "bonus" => 0.5f64 })
            .unwrap();
        let report = out.get::<DataFrame>("report").unwrap().clone();
        let status = (dr.cache().unwrap().records(None).unwrap().into_iter())
            .find(|r| r.node == "report")
            .map(|r| r.status.as_str().to_string());
        (report, status)
    };
    let (first, s1) = run();
    let (second, s2) = run();
    assert_eq!(s1.as_deref(), Some("executed"));
    assert_eq!(s2.as_deref(), Some("hit"));
    assert!(first.equals_missing(&second));
    let _ = std::fs::remove_dir_all(dir);
}

pub mod eager {
    use weft::frames::polars::prelude::*;
    use weft::prelude::*;

    pub mod cols {
        use weft::frames::polars::prelude::*;
        use weft::prelude::*;

        /// Eager style with the whole frame.
        #[node]
        pub fn doubled_qty(frame: &DataFrame) -> Result<Series, PolarsError> {
            let s = frame.column("qty")?.as_materialized_series();
            Ok(s * 2)
        }
    }

    #[node(with_columns(cols, pass_dataframe_as = "frame"))]
    pub fn with_doubled(raw: &DataFrame) -> DataFrame {
        raw.clone()
    }
}

pub mod checked_group {
    use weft::frames::polars::prelude::*;
    use weft::prelude::*;

    pub mod cols {
        use weft::frames::polars::prelude::*;

        #[weft::column]
        pub fn doubled_qty(qty: Expr) -> Expr {
            qty * lit(2)
        }
    }

    /// The frame with its column appended, then checked: the check sees the new column.
    #[node(
        with_columns(cols, columns_to_pass = ["qty"]),
        check_output(range = (0, 6), importance = "fail")
    )]
    pub fn checked_doubled(raw: &DataFrame) -> Result<DataFrame, PolarsError> {
        raw.select(["qty", "doubled_qty"])
    }
}

#[test]
fn pass_dataframe_as_gives_column_nodes_the_frame() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::eager])
        .build()
        .unwrap();
    let out = dr
        .execute(&["with_doubled"], inputs! { "raw" => sales() })
        .unwrap();
    let df = out.get::<DataFrame>("with_doubled").unwrap();
    let d: Vec<i64> = df
        .column("doubled_qty")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(d, [2, 4, 6, 8]);
}

#[test]
fn check_output_beside_with_columns_checks_the_frame_with_its_columns() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::checked_group])
        .build()
        .unwrap();
    // The check sees the appended column: `doubled_qty` reaches 8.
    let err = dr
        .execute(&["checked_doubled"], inputs! { "raw" => sales() })
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "`checked_doubled` failed its checks: range: 1 of 8 outside [0, 6] (first: 8)"
        ),
        "{err}"
    );
    let small = df!("qty" => [1i64, 2]).unwrap();
    let out = dr
        .execute(&["checked_doubled"], inputs! { "raw" => small })
        .unwrap();
    let df = out.get::<DataFrame>("checked_doubled").unwrap();
    assert_eq!(df.get_column_names(), ["qty", "doubled_qty"]);
}

pub mod typo {
    use weft::frames::polars::prelude::*;
    use weft::prelude::*;

    pub mod cols {
        use weft::frames::polars::prelude::*;

        #[weft::column]
        pub fn ratio(amount: Expr, quantity: Expr) -> Expr {
            amount / quantity
        }
    }

    #[node(with_columns(cols, columns_to_pass = ["amount", "qty"], select = ["ration"]))]
    pub fn framed(raw: &DataFrame) -> DataFrame {
        raw.clone()
    }
}

#[test]
fn unknown_columns_and_dependencies_are_build_errors() {
    let e = match Builder::new()
        .with_modules(weft::modules![crate::typo])
        .build()
    {
        Ok(_) => panic!("the build should fail"),
        Err(e) => e.to_string(),
    };
    // A dependency that is neither a passed column nor a column node.
    assert!(e.contains("`ratio`") && e.contains("`quantity`"), "{e}");
    assert!(e.contains("neither a column"), "{e}");
    // A selected column no column node makes.
    assert!(
        e.contains("`ration`") && e.contains("did you mean `ratio`"),
        "{e}"
    );
}

pub mod missing {
    use weft::frames::polars::prelude::*;
    use weft::prelude::*;

    pub mod cols {
        use weft::frames::polars::prelude::*;

        #[weft::column]
        pub fn twice(amout: Expr) -> Expr {
            amout * lit(2)
        }
    }

    #[node(with_columns(cols, columns_to_pass = ["amout"]))]
    pub fn framed(raw: &DataFrame) -> LazyFrame {
        raw.clone().lazy()
    }
}

#[test]
fn a_column_the_frame_does_not_have_is_named_before_anything_runs() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::missing])
        .build()
        .unwrap();
    let e = dr
        .execute(&["framed"], inputs! { "raw" => sales() })
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`amout`") && e.contains("did you mean `amount`"),
        "{e}"
    );
    assert!(e.contains("framed.with_columns"), "{e}");
}
