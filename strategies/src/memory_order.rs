//! Memory-aware operator order: among the topological orders of a graph with branches, the one whose peak of
//! live bytes is lowest, then packed.
//!
//! The peak of live bytes is the lower bound of every placement, and it depends on the order: running a long
//! branch first holds the other branch's input while it runs. [`MemoryOrder`] searches the orders by dynamic
//! programming over the sets of operators already run (each state is a *downset* of the graph, a set closed
//! under predecessors; two orders that ran the same set leave the same tensors live, so only the best peak per
//! set matters). The live bytes follow the lowering exactly ([`arenaplan_planner::lower`]): a tensor is live
//! from the step of its producer (from the start for a model input or a tensor nothing writes) to the step of
//! its last consumer (to the end for a model output), and an operator's scratch buffers during its own step.
//! The search is exact while each layer of the search (the sets of `k` operators) holds at most
//! [`MemoryOrder::max_states`] sets; beyond that it keeps the best of them (a beam search) and says so in the
//! plan's parameters (`order_exact`). The order found is then lowered and packed by the wrapped packer, and the
//! plan goes through the packer contract like any other.

use std::collections::{BTreeMap, HashMap};

use arenaplan_planner::lowering::{kernel_variant, scratch_bytes};
use arenaplan_planner::problem::round_up;
use arenaplan_planner::{
    lower, pack_checked_within, Graph, OpId, PackLimits, Packer, Plan, PlanMeta, PlanRequest, Strategy, StrategyError,
    TensorId,
};

use crate::ExactPacker;

/// A strategy that picks the operator order with the lowest peak of live bytes, then packs it.
pub struct MemoryOrder {
    /// The packer that places the buffers of the chosen order.
    pub packer: Box<dyn Packer>,
    /// Most sets of operators kept per layer of the search; past it the search keeps the best and is no longer
    /// exact.
    pub max_states: usize,
}

impl Default for MemoryOrder {
    fn default() -> Self {
        MemoryOrder { packer: Box::new(ExactPacker::default()), max_states: 50_000 }
    }
}

/// The order a search found, and what it knows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSearch {
    /// The operators in execution order.
    pub schedule: Vec<OpId>,
    /// Its peak of live bytes, as the search counts them.
    pub peak_bytes: u64,
    /// Whether no order has a lower peak (false when the beam dropped sets).
    pub exact: bool,
    /// Sets of operators the search visited.
    pub states: usize,
}

/// The per-operator and per-tensor facts the search needs, in bytes rounded as the lowering rounds them.
#[derive(Debug, Clone)]
struct Facts {
    /// Operators that must run before each operator.
    preds: Vec<Vec<usize>>,
    /// Planned tensors each operator reads (once each).
    reads: Vec<Vec<usize>>,
    /// Planned tensors each operator writes.
    writes: Vec<Vec<usize>>,
    /// Scratch bytes of each operator.
    scratch: Vec<u64>,
    /// Bytes of each tensor (0 when not planned).
    size: Vec<u64>,
    /// Consumers of each tensor.
    consumers: Vec<Vec<usize>>,
    /// Whether each tensor is a model output (live to the end).
    is_output: Vec<bool>,
    /// Bytes live before any operator runs: model inputs and tensors nothing writes.
    initial_live: u64,
}

impl Facts {
    fn new(graph: &Graph<'_>, request: &PlanRequest) -> Facts {
        let align = request.alignment_bytes.max(1);
        let n_ops = graph.op_count();
        let n_tensors = graph.tensor_count();
        let size: Vec<u64> = (0..n_tensors)
            .map(|t| {
                let id = TensorId(t as u32);
                if graph.is_planned(id) {
                    round_up(graph.tensor(id).byte_size as u64, align)
                } else {
                    0
                }
            })
            .collect();
        let mut is_output = vec![false; n_tensors];
        for &t in &graph.model().outputs {
            if let Some(slot) = is_output.get_mut(t) {
                *slot = true;
            }
        }
        let planned = |t: usize| size[t] > 0;
        let mut reads = Vec::with_capacity(n_ops);
        let mut writes = Vec::with_capacity(n_ops);
        let mut preds = Vec::with_capacity(n_ops);
        let mut scratch = Vec::with_capacity(n_ops);
        for i in 0..n_ops {
            let op = OpId(i as u32);
            let mut r: Vec<usize> = graph.op(op).inputs.iter().flatten().copied().filter(|&t| planned(t)).collect();
            r.sort_unstable();
            r.dedup();
            reads.push(r);
            writes.push(graph.op(op).outputs.iter().copied().filter(|&t| planned(t)).collect());
            preds.push(graph.predecessors(op).into_iter().map(|p| p.0 as usize).collect());
            let variant = kernel_variant(graph, op, request.kernels_for(op.0));
            scratch.push(
                scratch_bytes(graph, op, variant).into_iter().filter(|&b| b > 0).map(|b| round_up(b, align)).sum(),
            );
        }
        let consumers: Vec<Vec<usize>> = (0..n_tensors)
            .map(|t| graph.consumers(TensorId(t as u32)).iter().map(|op| op.0 as usize).collect())
            .collect();
        let initial_live = (0..n_tensors)
            .filter(|&t| planned(t) && graph.producer(TensorId(t as u32)).is_none())
            .map(|t| size[t])
            .sum();
        Facts { preds, reads, writes, scratch, size, consumers, is_output, initial_live }
    }
}

/// A set of operators already run, as a bitset.
type Done = Vec<u64>;

fn has(done: &Done, op: usize) -> bool {
    done[op / 64] >> (op % 64) & 1 == 1
}

/// The search's record of one set: the best peak reaching it, the bytes live after it, and how it was reached.
#[derive(Clone)]
struct State {
    peak: u64,
    live: u64,
    /// Index of the previous state in the previous layer, and the operator run from it.
    parent: Option<(usize, usize)>,
}

/// Search the operator orders of `graph` for the lowest peak of live bytes under `request`'s alignment and
/// kernel set, keeping at most `max_states` sets per layer.
pub fn search_order(graph: &Graph<'_>, request: &PlanRequest, max_states: usize) -> OrderSearch {
    search(&Facts::new(graph, request), max_states)
}

/// The dynamic programme over sets of operators already run (see the module documentation).
fn search(facts: &Facts, max_states: usize) -> OrderSearch {
    let n = facts.preds.len();
    let words = n.div_ceil(64).max(1);
    let mut layers: Vec<(Vec<Done>, Vec<State>)> = Vec::with_capacity(n + 1);
    layers
        .push((vec![vec![0; words]], vec![State { peak: facts.initial_live, live: facts.initial_live, parent: None }]));
    let mut exact = true;
    let mut states = 1;
    for _ in 0..n {
        let (sets, records) = layers.last().expect("the first layer");
        let mut index: HashMap<Done, usize> = HashMap::new();
        let mut next_sets: Vec<Done> = Vec::new();
        let mut next: Vec<State> = Vec::new();
        for (from, (done, record)) in sets.iter().zip(records).enumerate() {
            for op in (0..n).filter(|&op| !has(done, op) && facts.preds[op].iter().all(|&p| has(done, p))) {
                let produced: u64 = facts.writes[op].iter().map(|&t| facts.size[t]).sum();
                let during = record.live + produced + facts.scratch[op];
                let mut after = done.clone();
                after[op / 64] |= 1 << (op % 64);
                // Inputs whose every consumer has now run end here (model outputs live to the end); outputs
                // nothing reads end with their producer's step.
                let freed: u64 = facts.reads[op]
                    .iter()
                    .chain(&facts.writes[op])
                    .filter(|&&t| !facts.is_output[t] && facts.consumers[t].iter().all(|&c| has(&after, c)))
                    .map(|&t| facts.size[t])
                    .sum();
                let candidate = State {
                    peak: record.peak.max(during),
                    live: record.live + produced - freed,
                    parent: Some((from, op)),
                };
                match index.get(&after) {
                    Some(&i) if next[i].peak <= candidate.peak => {}
                    Some(&i) => next[i] = candidate,
                    None => {
                        index.insert(after.clone(), next.len());
                        next_sets.push(after);
                        next.push(candidate);
                    }
                }
            }
        }
        states += next.len();
        if next.len() > max_states {
            exact = false;
            let mut order: Vec<usize> = (0..next.len()).collect();
            order.sort_by_key(|&i| (next[i].peak, next[i].live));
            order.truncate(max_states);
            next_sets = order.iter().map(|&i| next_sets[i].clone()).collect();
            next = order.iter().map(|&i| next[i].clone()).collect();
        }
        layers.push((next_sets, next));
    }
    let (_, last) = layers.last().expect("the last layer");
    let best = (0..last.len()).min_by_key(|&i| last[i].peak).expect("a DAG has an order");
    let peak_bytes = last[best].peak;
    let mut schedule = Vec::with_capacity(n);
    let mut at = best;
    for layer in (1..layers.len()).rev() {
        let (from, op) = layers[layer].1[at].parent.expect("every state past the first has a parent");
        schedule.push(OpId(op as u32));
        at = from;
    }
    schedule.reverse();
    OrderSearch { schedule, peak_bytes, exact, states }
}

impl Strategy for MemoryOrder {
    fn name(&self) -> String {
        format!("memory-order+{}", self.packer.name())
    }

    fn plan(&self, graph: &Graph<'_>, request: &PlanRequest) -> Result<Plan, StrategyError> {
        let started = std::time::Instant::now();
        let found = search_order(graph, request, self.max_states);
        let lowering = lower(graph, &found.schedule, request)?;
        let (packing, _) = pack_checked_within(
            self.packer.as_ref(),
            &lowering.problem,
            &PackLimits::from_request(request),
            &request.limits,
        )?;
        let mut params = BTreeMap::new();
        params.insert("order_exact".to_owned(), found.exact.to_string());
        params.insert("order_states".to_owned(), found.states.to_string());
        params.insert("order_max_states".to_owned(), self.max_states.to_string());
        params.insert("order_peak_bytes".to_owned(), found.peak_bytes.to_string());
        let meta = PlanMeta {
            strategy: self.name(),
            params,
            status: packing.status,
            lower_bound_bytes: packing.lower_bound_bytes,
            estimated_cycles: None,
            solve_seconds: started.elapsed().as_secs_f64(),
            request: request.clone(),
        };
        Ok(Plan::assemble(lowering, packing, meta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{any, prop_assert_eq, proptest, Just};
    use proptest::strategy::Strategy as _;

    /// Every topological order of a small graph, by brute force.
    fn all_orders(graph: &Graph<'_>) -> Vec<Vec<OpId>> {
        fn extend(graph: &Graph<'_>, prefix: &mut Vec<OpId>, out: &mut Vec<Vec<OpId>>) {
            let n = graph.op_count();
            if prefix.len() == n {
                out.push(prefix.clone());
                return;
            }
            for i in 0..n {
                let op = OpId(i as u32);
                if prefix.contains(&op) || !graph.predecessors(op).iter().all(|p| prefix.contains(p)) {
                    continue;
                }
                prefix.push(op);
                extend(graph, prefix, out);
                prefix.pop();
            }
        }
        let mut out = Vec::new();
        extend(graph, &mut Vec::new(), &mut out);
        out
    }

    #[test]
    fn the_search_counts_peaks_as_the_lowering_does_and_finds_the_best_order() {
        for name in ["op_concat", "op_add_broadcast", "op_split", "op_unpack", "ds_cnn_49x10"] {
            let bytes = arenaplan_datasets::model_bytes(name).unwrap();
            let graph = Graph::from_bytes(&bytes).unwrap();
            let request = PlanRequest::default();
            let found = search_order(&graph, &request, usize::MAX);
            assert!(found.exact);
            let lowered = lower(&graph, &found.schedule, &request).unwrap().problem.lower_bound();
            assert_eq!(found.peak_bytes, lowered, "{name}: the search's peak is the lowering's");
            if graph.op_count() <= 8 {
                let best = all_orders(&graph)
                    .iter()
                    .map(|order| lower(&graph, order, &request).unwrap().problem.lower_bound())
                    .min()
                    .unwrap();
                assert_eq!(found.peak_bytes, best, "{name}: no order has a lower peak");
            }
        }
    }

    #[test]
    fn on_branching_networks_the_order_is_never_worse_than_the_files() {
        for name in ["squeezenet_mini", "resnet8_32", "mobilenet_v2_030_80_1000"] {
            let bytes = arenaplan_datasets::model_bytes(name).unwrap();
            let graph = Graph::from_bytes(&bytes).unwrap();
            let request = PlanRequest::default();
            let found = search_order(&graph, &request, 50_000);
            let file = lower(&graph, &graph.default_schedule(), &request).unwrap().problem.lower_bound();
            let lowered = lower(&graph, &found.schedule, &request).unwrap().problem.lower_bound();
            assert_eq!(found.peak_bytes, lowered, "{name}");
            assert!(lowered <= file, "{name}: {lowered} > {file}");
        }
    }

    /// The peak of an order computed directly from lifetimes, as the lowering defines them (independent of
    /// the search's incremental bookkeeping).
    fn peak_by_lifetimes(facts: &Facts, order: &[usize]) -> u64 {
        let n = order.len();
        let mut step = vec![0usize; n];
        for (pos, &op) in order.iter().enumerate() {
            step[op] = pos;
        }
        let mut live = vec![0u64; n];
        for t in 0..facts.size.len() {
            let producer = (0..n).find(|&op| facts.writes[op].contains(&t));
            let first = producer.map_or(0, |p| step[p]);
            let mut last = facts.consumers[t].iter().map(|&c| step[c]).max().unwrap_or(first).max(first);
            if facts.is_output[t] {
                last = n - 1;
            }
            (first..=last).for_each(|k| live[k] += facts.size[t]);
        }
        order.iter().enumerate().map(|(k, &op)| live[k] + facts.scratch[op]).max().unwrap_or(facts.initial_live)
    }

    /// Every topological order of the operators of `facts`.
    fn orders_of(facts: &Facts) -> Vec<Vec<usize>> {
        fn extend(facts: &Facts, prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
            let n = facts.preds.len();
            if prefix.len() == n {
                out.push(prefix.clone());
                return;
            }
            for op in 0..n {
                if !prefix.contains(&op) && facts.preds[op].iter().all(|p| prefix.contains(p)) {
                    prefix.push(op);
                    extend(facts, prefix, out);
                    prefix.pop();
                }
            }
        }
        let mut out = Vec::new();
        extend(facts, &mut Vec::new(), &mut out);
        out
    }

    /// A random DAG: tensor 0 is the model input; operator `i` writes tensor `i + 1` and reads one or two
    /// tensors written earlier (or the input); the last operator's tensor and maybe another are outputs.
    fn random_facts() -> impl proptest::strategy::Strategy<Value = Facts> {
        (2usize..8)
            .prop_flat_map(|n| {
                (
                    Just(n),
                    proptest::collection::vec((any::<usize>(), any::<usize>(), any::<bool>()), n),
                    proptest::collection::vec(1u64..64, n + 1),
                    proptest::collection::vec(0u64..8, n),
                    any::<usize>(),
                )
            })
            .prop_map(|(n, picks, sizes, scratch, extra_output)| {
                let mut reads = Vec::new();
                for (i, &(a, b, two)) in picks.iter().enumerate() {
                    let mut r = vec![a % (i + 1)];
                    if two {
                        r.push(b % (i + 1));
                    }
                    r.sort_unstable();
                    r.dedup();
                    reads.push(r);
                }
                let writes: Vec<Vec<usize>> = (0..n).map(|i| vec![i + 1]).collect();
                let mut consumers = vec![Vec::new(); n + 1];
                for (op, r) in reads.iter().enumerate() {
                    r.iter().for_each(|&t| consumers[t].push(op));
                }
                let preds = reads.iter().map(|r| r.iter().filter(|&&t| t > 0).map(|&t| t - 1).collect()).collect();
                let mut is_output = vec![false; n + 1];
                is_output[n] = true;
                is_output[1 + extra_output % n] = true;
                Facts {
                    preds,
                    reads,
                    writes,
                    scratch: scratch.iter().map(|s| s * 16).collect(),
                    size: sizes.iter().map(|s| s * 16).collect(),
                    consumers,
                    is_output,
                    initial_live: sizes[0] * 16,
                }
            })
    }

    proptest! {
        #[test]
        fn on_random_graphs_the_search_finds_the_lowest_peak_of_every_order(facts in random_facts()) {
            let found = search(&facts, usize::MAX);
            let order: Vec<usize> = found.schedule.iter().map(|op| op.0 as usize).collect();
            prop_assert_eq!(found.peak_bytes, peak_by_lifetimes(&facts, &order));
            let best = orders_of(&facts).iter().map(|o| peak_by_lifetimes(&facts, o)).min().unwrap();
            prop_assert_eq!(found.peak_bytes, best);
        }
    }

    #[test]
    fn a_tiny_beam_is_reported_as_not_exact_and_still_gives_a_valid_order() {
        let bytes = arenaplan_datasets::model_bytes("squeezenet_mini").unwrap();
        let graph = Graph::from_bytes(&bytes).unwrap();
        let found = search_order(&graph, &PlanRequest::default(), 1);
        assert!(!found.exact);
        assert!(graph.is_valid_schedule(&found.schedule));
    }
}
