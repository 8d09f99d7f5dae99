//! Writes the allocation instances under `datasets/instances/` in MiniMalloc's CSV format: the problem of every
//! zoo network (default schedule, TFLM's scratch, 16-byte alignment), a few generated perfect packings (with
//! the solution they were cut from) and DNN-like instances.
//!
//! `cargo run -p arenaplan-strategies --example export_instances`

use std::fs;

use arenaplan_datasets as datasets;
use arenaplan_planner::minimalloc_csv::write_csv;
use arenaplan_planner::{lower, Graph, PlanRequest};
use arenaplan_strategies::instances::{dnn_like, perfect_packing};

/// The generated instances: (buffers, seed) of perfect packings, (operators, seed) of DNN-like ones.
const PERFECT: [(usize, u64); 6] = [(50, 1), (150, 1), (150, 2), (300, 1), (450, 1), (450, 2)];
const DNN: [(usize, u64); 2] = [(100, 1), (400, 2)];

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
    for (n, seed) in PERFECT {
        let pp = perfect_packing(n, seed);
        write(format!("perfect_{n}_s{seed}.csv"), write_csv(&pp.problem, None))?;
        write(format!("perfect_{n}_s{seed}.solution.csv"), write_csv(&pp.problem, Some(&pp.offsets)))?;
    }
    for (ops, seed) in DNN {
        write(format!("dnn_{ops}_s{seed}.csv"), write_csv(&dnn_like(ops, seed), None))?;
    }
    for name in &written {
        println!("wrote datasets/instances/{name}");
    }
    Ok(())
}
