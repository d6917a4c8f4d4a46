//! A flow as a command line: one line of `main` gives it `build`, `list`, `viz`, `explain`,
//! `cache …` and `completions`.
//!
//! ```sh
//! cargo run --example flow_cli -- --help
//! cargo run --example flow_cli -- list
//! cargo run --example flow_cli -- build report --input spend=10 --input signups=4 --input target_cost=2
//! cargo run --example flow_cli -- build --inputs inputs.json --output json --executor async
//! cargo run --example flow_cli -- build report --input spend=10 --input signups=0 --input target_cost=2   # exit 1
//! cargo run --example flow_cli -- cache show
//! cargo run --example flow_cli -- viz report -o report.svg
//! ```
//!
//! The end-to-end tests of `weft-cli` (`cli/tests/`) run this example as their fixture.

mod nodes {
    use std::collections::BTreeMap;

    use weft::prelude::*;

    #[derive(Debug, thiserror::Error)]
    #[error("no signups: cannot divide spend by zero")]
    pub struct NoSignups;

    /// Spend per signup; fails when there are no signups.
    #[node(tags(owner = "growth"))]
    pub fn spend_per_signup(spend: &f64, signups: &u64) -> Result<f64, NoSignups> {
        if *signups == 0 {
            return Err(NoSignups);
        }
        Ok(spend / *signups as f64)
    }

    /// Cost per signup, relative to the target cost.
    #[node(tags(owner = "growth"))]
    pub fn cost_ratio(spend_per_signup: &f64, target_cost: &f64) -> f64 {
        spend_per_signup / target_cost
    }

    /// A one-line report for a region (all regions when none is given).
    #[node(tags(owner = "growth", stage = "prod"))]
    pub fn report(cost_ratio: &f64, region: Option<&str>) -> String {
        let region = region.unwrap_or("all regions");
        format!(
            "{region}: {:.0}% of target cost per signup",
            cost_ratio * 100.0
        )
    }

    /// The report as a headline: an `async fn` node (as one that calls a service would be).
    #[node]
    pub async fn headline(report: &str) -> String {
        report.to_uppercase()
    }

    /// The spend split evenly over the channels (a JSON list on the command line).
    #[node]
    pub fn budget_split(spend: &f64, channels: &[String]) -> BTreeMap<String, f64> {
        let share = spend / channels.len().max(1) as f64;
        channels.iter().map(|c| (c.clone(), share)).collect()
    }
}

fn main() {
    weft_cli::main(weft::modules![crate::nodes])
}
