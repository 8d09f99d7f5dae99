//! Planning time of every registered packer on every zoo network and on generated perfect packings of 50, 150
//! and 450 buffers. Bench ids are `strategy/instance`. Searches (`ilp`, `exact`, `hill-climb`) run with a 1 s
//! limit, so a bench that times out measures the limit.

use std::time::Duration;

use arenaplan_benches::strategies::{instances, InstanceKind};
use arenaplan_planner::PackLimits;
use arenaplan_strategies::packers;
use criterion::{criterion_group, criterion_main, Criterion};

fn strategies(c: &mut Criterion) {
    let all = instances().expect("zoo models load");
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|i| {
            i.kind == InstanceKind::Zoo
                || ["perfect_50_s1", "perfect_150_s1", "perfect_450_s1"].contains(&i.name.as_str())
        })
        .collect();
    let limits = PackLimits { time_limit: Duration::from_secs(1), seed: 0 };
    for packer in packers() {
        let mut group = c.benchmark_group(packer.name());
        group.sample_size(10).warm_up_time(Duration::from_millis(200)).measurement_time(Duration::from_secs(2));
        for inst in &chosen {
            group.bench_function(inst.name.as_str(), |b| b.iter(|| packer.pack(&inst.problem, &limits)));
        }
        group.finish();
    }
}

criterion_group!(benches, strategies);
criterion_main!(benches);
