//! Criterion: one inference of every runnable zoo network with the reference and with the optimized kernels,
//! in one arena planned by `greedy-by-size`. Ids: `reference/MODEL`, `optimized/MODEL`.

use arenaplan_benches::execution::runnable_networks;
use arenaplan_planner::KernelVariant;
use criterion::{criterion_group, criterion_main, Criterion};

fn models(c: &mut Criterion) {
    for kernels in [KernelVariant::Reference, KernelVariant::Optimized] {
        let (ready, skipped) = runnable_networks("greedy-by-size", kernels).expect("the zoo loads");
        for (name, why) in &skipped {
            eprintln!("models bench: {name} not run: {why}");
        }
        let mut group = c.benchmark_group(kernels.name());
        group.sample_size(10);
        for r in &ready {
            let mut arena = vec![0u8; r.compiled.arena_bytes as usize];
            group.bench_function(&r.name, |b| b.iter(|| r.infer(&mut arena).expect("runs")));
        }
        group.finish();
    }
}

criterion_group!(benches, models);
criterion_main!(benches);
