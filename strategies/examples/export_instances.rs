//! Writes the allocation instances under `datasets/instances/` in MiniMalloc's CSV format: the problem of every
//! zoo network (default schedule, TFLM's scratch, 16-byte alignment) and the hard-instance suite
//! (`arenaplan_strategies::instances::hard_suite`: zero-slack perfect packings, with the solution they were cut
//! from, and DNN-like instances, 50 to 1,000 buffers, realistic time values).
//!
//! `cargo run -p arenaplan-strategies --example export_instances`

use std::fs;

use arenaplan_datasets as datasets;
use arenaplan_planner::minimalloc_csv::write_csv;
use arenaplan_planner::{lower, Graph, PlanRequest};
use arenaplan_strategies::instances::hard_suite;

fn main() -> anyhow::Result<()> {
    let dir = datasets::root().join("instances");
    fs::create_dir_all(&dir)?;
    let mut written = Vec::new();
    let mut write = |name: String, text: String| -> anyhow::Result<()> {
        fs::write(dir.join(&name), text)?;
        written.push(name);
        Ok(())
    };
    for name in datasets::network_names() {
        let bytes = datasets::model_bytes(&name)?;
        let graph = Graph::from_bytes(&bytes)?;
        let problem = lower(&graph, &graph.default_schedule(), &PlanRequest::default())?.problem;
        write(format!("zoo_{name}.csv"), write_csv(&problem, None))?;
    }
    for instance in hard_suite() {
        write(format!("{}.csv", instance.name), write_csv(&instance.problem, None))?;
        if let Some(solution) = &instance.solution {
            write(format!("{}.solution.csv", instance.name), write_csv(&instance.problem, Some(solution)))?;
        }
    }
    for name in &written {
        println!("wrote datasets/instances/{name}");
    }
    Ok(())
}
