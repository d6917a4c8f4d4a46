//! Errors from Spark and about it: a bad column fails the node that names it (or the one that
//! wrote the frame a reader fails over), a wrong session type, no server.

use super::*;

mod typo {
    use weft::prelude::*;
    use weft::spark::{col, lit, DataFrame};

    #[node]
    pub fn raw_data(spark_session: &weft::spark::SparkSession) -> DataFrame {
        spark_session.range(10).unwrap()
    }

    #[node]
    pub fn filtered_data(raw_data: &DataFrame) -> DataFrame {
        raw_data.filter(col("agee").gt(lit(18)))
    }

    /// Written for the cache: Spark analyzes it as it writes.
    #[node(tags(spark = "cache"))]
    pub fn kept_adults(raw_data: &DataFrame) -> DataFrame {
        raw_data.filter(col("agee").gt(lit(18)))
    }

    /// Reads `filtered_data`, whose check is left to it when `filtered_data` is not requested.
    #[node]
    pub fn ids(filtered_data: &DataFrame) -> DataFrame {
        filtered_data.select([col("id")])
    }

    /// Two frames down from the bad column: the failure names `filtered_data`, not `ids`.
    #[node]
    pub fn counted(ids: &DataFrame) -> DataFrame {
        ids.group_by(["id"]).count()
    }

    /// Not a Spark node: it collects the frame it reads.
    #[node]
    pub fn how_many(filtered_data: &DataFrame) -> Result<usize, String> {
        let batches = weft::spark::to_arrow(filtered_data).map_err(|e| e.to_string())?;
        Ok(batches.iter().map(|b| b.num_rows()).sum())
    }
}

/// Runs `node` of the `typo` flow with `adapter`: the node that failed, and the error's text.
fn typo_failure(node: &str, adapter: SparkAdapter) -> (String, String) {
    let spark = weft::spark::connect(&remote()).expect("server");
    let dr = Builder::new()
        .with_modules(weft::modules![crate::errors::typo])
        .with_adapter(adapter)
        .build()
        .unwrap();
    let err = dr
        .execute(&[node], inputs! { "spark_session" => spark })
        .unwrap_err();
    match &err {
        ExecuteError::NodeFailed { node, .. } => (node.clone(), format!("{err} {err:?}")),
        other => panic!("expected {node} to fail, got {other}"),
    }
}

#[test]
fn a_bad_column_fails_the_node_that_names_it() {
    let (node, text) = typo_failure("filtered_data", SparkAdapter::new());
    assert_eq!(node, "filtered_data");
    assert!(
        text.contains("cannot analyze") && text.contains("agee"),
        "{text}"
    );
}

/// `filtered_data` is not requested: its check is left to the nodes that read it (no request
/// of its own), and the reader that fails names it.
#[test]
fn a_bad_column_in_a_frame_only_other_nodes_read_fails_the_reader_naming_the_node_that_wrote_it() {
    for reader in ["counted", "how_many"] {
        let (node, text) = typo_failure(reader, SparkAdapter::new());
        assert_eq!(node, reader, "{text}");
        assert!(
            text.contains("cannot analyze")
                && text.contains("agee")
                && text.contains("the frame of `filtered_data`"),
            "{text}"
        );
        assert!(!text.contains("`ids`"), "{text}");
    }
}

#[test]
fn a_bad_column_in_a_frame_written_for_the_cache_fails_that_node_as_spark_cannot_analyze_it() {
    let dir = weft_tests::temp_dir("spark", "typo-kept");
    let adapter = SparkAdapter::new().cache_at(dir.join("spark").to_string_lossy());
    let (node, text) = typo_failure("kept_adults", adapter);
    assert_eq!(node, "kept_adults");
    assert!(
        text.contains("cannot analyze") && text.contains("agee"),
        "{text}"
    );
    // Nothing was written.
    let written = std::fs::read_dir(dir.join("spark")).map_or(0, |d| d.count());
    assert_eq!(written, 0);
}

#[test]
fn a_wrong_session_type_is_an_input_error() {
    let (_dir, path) = csv("wrong-input", 5);
    let dr = seed_driver(vec![]);
    let err = dr
        .execute(
            &["aggregated_stats"],
            inputs! { "spark_session" => "sc://nowhere".to_string(), "people_csv" => path },
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("spark_session") && err.contains("SparkSession"),
        "{err}"
    );
}

#[test]
fn no_server_fails_fast_naming_the_address_and_how_to_start_one() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("sc://127.0.0.1:{port}");
    let err = match weft::spark::connect(&address) {
        Ok(_) => panic!("connected to {address}, where nothing listens"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains(&address), "{err}");
    assert!(err.contains("bash tests/services/spark.sh start"), "{err}");
}
