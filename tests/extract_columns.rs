//! `#[node(extract_columns(..))]` (feature `polars`): each named column of a node's
//! `DataFrame` is a node of its own, a `Series`, that other nodes depend on by name.

use weft::frames::polars::prelude::*;
use weft::prelude::*;
use weft::ExecuteError;

mod flow {
    use weft::frames::polars::prelude::*;
    use weft::prelude::*;

    /// Sales with a computed column.
    #[node(extract_columns("region", "amount", "amount_eur"))]
    pub fn sales(raw: &DataFrame, rate: &f64) -> Result<DataFrame, PolarsError> {
        raw.clone()
            .lazy()
            .with_columns([(col("amount") * lit(*rate)).alias("amount_eur")])
            .collect()
    }

    #[node]
    pub fn total_eur(amount_eur: &Series) -> Result<f64, PolarsError> {
        amount_eur.sum::<f64>()
    }

    #[node]
    pub fn regions(region: &Series) -> Result<usize, PolarsError> {
        region.n_unique()
    }
}

mod misspelt {
    use weft::frames::polars::prelude::*;
    use weft::prelude::*;

    #[node(extract_columns("amout"))]
    pub fn sales(raw: &DataFrame) -> DataFrame {
        raw.clone()
    }
}

fn raw() -> DataFrame {
    df!("region" => ["eu", "us", "eu"], "amount" => [10.0f64, 20.0, 30.0]).unwrap()
}

#[test]
fn each_extracted_column_is_a_node_others_depend_on() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::flow])
        .build()
        .unwrap();
    for name in ["region", "amount", "amount_eur"] {
        let node = dr
            .graph()
            .node(name)
            .unwrap_or_else(|| panic!("no node `{name}`"));
        assert!(node.spec().unwrap().doc().contains("sales"));
    }
    let out = dr
        .execute(
            &["total_eur", "regions", "amount", "sales"],
            inputs! { "raw" => raw(), "rate" => 0.5f64 },
        )
        .unwrap();
    assert_eq!(*out.get::<f64>("total_eur").unwrap(), 30.0);
    assert_eq!(*out.get::<usize>("regions").unwrap(), 2);
    let amount = out.get::<Series>("amount").unwrap();
    assert_eq!(amount.name().as_str(), "amount");
    assert_eq!(amount.f64().unwrap().get(1), Some(20.0));
    // The frame is still a node.
    assert_eq!(out.get::<DataFrame>("sales").unwrap().width(), 3);
}

#[test]
fn a_column_the_frame_lacks_names_the_node_and_the_column() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::misspelt])
        .build()
        .unwrap();
    let err = dr
        .execute(&["amout"], inputs! { "raw" => raw() })
        .unwrap_err();
    let ExecuteError::NodeFailed { node, source, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(node, "amout");
    let message = source.to_string();
    assert!(
        message.contains("`sales` has no column `amout`"),
        "{message}"
    );
    assert!(message.contains("did you mean `amount`?"), "{message}");
}
