//! weft quickstart: three nodes, one run, one incremental rerun, and a picture of the DAG.
//!
//! Run with `cargo run --example quickstart`.

use weft::prelude::*;

mod marketing {
    use weft::prelude::*;

    #[derive(Debug, thiserror::Error)]
    #[error("no signups: cannot divide spend by zero")]
    pub struct NoSignups;

    /// Spend per signup.
    #[node]
    pub fn spend_per_signup(spend: &f64, signups: &u64) -> Result<f64, NoSignups> {
        if *signups == 0 {
            return Err(NoSignups);
        }
        Ok(spend / *signups as f64)
    }

    /// Cost per signup, relative to a target.
    #[node(tags(owner = "growth"))]
    pub fn cost_ratio(spend_per_signup: &f64, target_cost: &f64) -> f64 {
        spend_per_signup / target_cost
    }

    /// A one-line report for a region (all regions when none is given).
    #[node(tags(owner = "growth"))]
    pub fn report(cost_ratio: &f64, region: Option<&String>) -> String {
        let region = region.map_or("all regions", |r| r.as_str());
        format!(
            "{region}: {:.0}% of target cost per signup",
            cost_ratio * 100.0
        )
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::marketing])
        .with_config(inputs! { "target_cost" => 2.0 })
        .build()?;

    let inputs = || inputs! { "spend" => 10.0, "signups" => 4u64, "region" => "EU".to_string() };
    let (out, run) = dr.execute_recorded(&["report"], inputs(), Inputs::new())?;
    println!("{}", out.get::<String>("report")?);
    println!("first run executed: {:?}", run.executed);

    let (_, run) = dr.execute_recorded(&["report"], inputs(), Inputs::new())?;
    println!(
        "same inputs again executed: {:?} (reused {})",
        run.executed,
        run.reused.len()
    );

    // 20/8 is still 2.5 per signup: only spend_per_signup reruns, the rest is cut off early.
    let more = inputs! { "spend" => 20.0, "signups" => 8u64, "region" => "EU".to_string() };
    let (_, run) = dr.execute_recorded(&["report"], more, Inputs::new())?;
    println!("doubled spend and signups executed: {:?}", run.executed);

    match dr.execute(&["report"], inputs! { "spend" => 1.0, "signups" => 0u64 }) {
        Ok(_) => unreachable!("zero signups fails"),
        Err(e) => println!("error, as expected: {e}"),
    }

    let path = std::env::temp_dir().join("weft-quickstart-dag.svg");
    dr.visualize_execution(&["report"], &[])?.write(&path)?;
    println!("DAG picture written to {}", path.display());
    Ok(())
}
