//! The program blob: a compiled program as one versioned little-endian byte string
//! (`arenaplan_kernels::encoding` documents the layout), which the kernels crate decodes and runs without
//! allocation (`arenaplan_kernels::run_blob`) and the C API runs from C. It holds the steps, the precomputed
//! constants, the input and output places, the arena size and the length and checksum of the model file whose
//! weights the steps read; the model bytes themselves stay outside.

use arenaplan_kernels::encoding::{model_checksum, seal, BlobHeader, HEADER_BYTES, MAX_COUNT};
use arenaplan_kernels::program::Slice;

use super::ExportError;
use crate::check::check_plan;
use crate::graph::Graph;
use crate::plan::Plan;
use crate::program::{compile_checked, CompiledProgram};

fn unsupported(reason: String) -> ExportError {
    ExportError::Unsupported { format: "program blob", reason }
}

fn u32_of(value: usize, what: &str) -> Result<u32, ExportError> {
    u32::try_from(value).map_err(|_| unsupported(format!("{what} {value} does not fit 32 bits")))
}

fn count_of(value: usize, what: &str) -> Result<u32, ExportError> {
    let count = u32_of(value, what)?;
    if count > MAX_COUNT {
        return Err(unsupported(format!("{count} {what} exceed the format's {MAX_COUNT}")));
    }
    Ok(count)
}

/// Encode a compiled program of the model file `model` as a program blob.
pub fn encode(compiled: &CompiledProgram, model: &[u8]) -> Result<Vec<u8>, ExportError> {
    let mut steps = Vec::new();
    for step in &compiled.steps {
        let record = postcard::to_allocvec(step).map_err(|e| unsupported(format!("cannot encode a step: {e}")))?;
        steps.extend_from_slice(&record);
    }
    let header = BlobHeader {
        arena_bytes: compiled.arena_bytes,
        model_len: u32_of(model.len(), "model length")?,
        model_checksum: model_checksum(model),
        step_count: count_of(compiled.steps.len(), "steps")?,
        input_count: count_of(compiled.inputs.len(), "inputs")?,
        output_count: count_of(compiled.outputs.len(), "outputs")?,
        precomputed_len: u32_of(compiled.precomputed.len(), "precomputed length")?,
        steps_len: u32_of(steps.len(), "step records length")?,
    };
    let places: Vec<Slice> = compiled.inputs.iter().chain(&compiled.outputs).copied().collect();
    let mut blob = Vec::with_capacity(HEADER_BYTES + places.len() * 8 + compiled.precomputed.len() + steps.len());
    blob.extend_from_slice(&header.to_bytes());
    for place in places {
        blob.extend_from_slice(&place.offset.to_le_bytes());
        blob.extend_from_slice(&place.len.to_le_bytes());
    }
    blob.extend_from_slice(&compiled.precomputed);
    blob.extend_from_slice(&steps);
    u32_of(blob.len(), "blob length")?;
    seal(&mut blob);
    Ok(blob)
}

/// The compiled program of a plan and its blob, after the independent validator accepted the plan.
pub fn compile_to_blob(graph: &Graph<'_>, plan: &Plan) -> Result<(CompiledProgram, Vec<u8>), ExportError> {
    let checked = check_plan(graph, plan)?;
    super::refuse_streamed_input(&checked, "program blob")?;
    let compiled = compile_checked(graph, plan, &checked).map_err(|e| unsupported(e.to_string()))?;
    let blob = encode(&compiled, graph.model().bytes)?;
    Ok((compiled, blob))
}

/// The program blob of a plan, after the independent validator accepted it.
pub fn to_program_blob(graph: &Graph<'_>, plan: &Plan) -> Result<Vec<u8>, ExportError> {
    Ok(compile_to_blob(graph, plan)?.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lowering::lower;
    use crate::plan::PlanMeta;
    use crate::request::PlanRequest;
    use crate::strategy::Packing;
    use crate::Status;
    use arenaplan_datasets as datasets;
    use arenaplan_kernels::encoding::ProgramBlob;
    use arenaplan_kernels::{run, run_blob, BlobRunError};
    use proptest::prelude::*;

    /// A plan made here without any strategy: every buffer after the previous one.
    fn no_reuse_plan(graph: &Graph<'_>) -> Plan {
        let request = PlanRequest::default();
        let lowering = lower(graph, &graph.default_schedule(), &request).unwrap();
        let mut offsets = Vec::new();
        let mut next = 0;
        for b in &lowering.problem.buffers {
            offsets.push(next);
            next += b.size_bytes.next_multiple_of(16);
        }
        let bound = lowering.problem.lower_bound();
        let (packing, _) =
            Packing::from_offsets("no-reuse", &lowering.problem, offsets, Status::Heuristic, bound).unwrap();
        let meta = PlanMeta {
            strategy: "no-reuse (test)".to_owned(),
            params: Default::default(),
            status: Status::Heuristic,
            lower_bound_bytes: bound,
            estimated_cycles: None,
            solve_seconds: 0.0,
            request,
        };
        Plan::assemble(lowering, packing, meta)
    }

    fn inputs_from_seed(blob: &ProgramBlob<'_>, arena: &mut [u8], seed: u32) {
        for i in 0..blob.header().input_count {
            let r = blob.input(i).unwrap().range().unwrap();
            for (k, b) in arena[r].iter_mut().enumerate() {
                *b = (k as u32).wrapping_mul(2_654_435_761).wrapping_add(seed).rotate_right(13) as u8;
            }
        }
    }

    #[test]
    fn every_network_round_trips_and_runs_as_its_program() {
        for name in datasets::network_names() {
            let model = datasets::model_bytes(&name).unwrap();
            let graph = Graph::from_bytes(&model).unwrap();
            let plan = no_reuse_plan(&graph);
            let (compiled, bytes) = compile_to_blob(&graph, &plan).unwrap();
            let blob = ProgramBlob::parse(&bytes).unwrap();
            let decoded: Vec<_> = blob.steps().collect::<Result<_, _>>().unwrap();
            assert_eq!(decoded, compiled.steps, "{name}: decoded steps differ");
            assert_eq!(blob.precomputed(), &compiled.precomputed[..], "{name}");
            assert_eq!(blob.header().arena_bytes, compiled.arena_bytes, "{name}");
            for (i, s) in compiled.inputs.iter().enumerate() {
                assert_eq!(blob.input(i as u32), Some(*s), "{name}: input {i}");
            }
            for (j, s) in compiled.outputs.iter().enumerate() {
                assert_eq!(blob.output(j as u32), Some(*s), "{name}: output {j}");
            }
            let mut by_program = vec![0u8; compiled.arena_bytes as usize];
            inputs_from_seed(&blob, &mut by_program, 7);
            let mut by_blob = by_program.clone();
            run(&compiled.program(&model), &mut by_program).unwrap();
            run_blob(&bytes, &model, &mut by_blob).unwrap();
            for j in 0..blob.header().output_count {
                let r = blob.output(j).unwrap().range().unwrap();
                assert_eq!(by_blob[r.clone()], by_program[r], "{name}: output {j} differs");
            }
        }
    }

    #[test]
    fn a_wrong_model_or_small_arena_is_refused() {
        let model = datasets::model_bytes("fc_autoencoder_640").unwrap();
        let graph = Graph::from_bytes(&model).unwrap();
        let bytes = to_program_blob(&graph, &no_reuse_plan(&graph)).unwrap();
        let arena_bytes = ProgramBlob::parse(&bytes).unwrap().header().arena_bytes as usize;
        let mut arena = vec![0u8; arena_bytes];
        assert!(matches!(run_blob(&bytes, &model[1..], &mut arena), Err(BlobRunError::ModelLength { .. })));
        assert!(matches!(
            run_blob(&bytes, &model, &mut arena[1..]),
            Err(BlobRunError::Kernel(arenaplan_kernels::KernelError::ArenaTooSmall { .. }))
        ));
        let mut other = model.clone();
        *other.last_mut().unwrap() ^= 1;
        assert_eq!(arenaplan_kernels::check_model(&bytes, &other), Err(BlobRunError::ModelChecksum));
        assert_eq!(arenaplan_kernels::check_model(&bytes, &model), Ok(()));
    }

    thread_local! {
        /// The model and blob the mutation tests start from.
        static FIXTURE: (Vec<u8>, Vec<u8>) = {
            let model = datasets::model_bytes("fc_autoencoder_640").unwrap();
            let graph = Graph::from_bytes(&model).unwrap();
            let blob = to_program_blob(&graph, &no_reuse_plan(&graph)).unwrap();
            (model, blob)
        };
    }

    /// `blob` with bytes overwritten, then cut (mode 0), extended (mode 1) or left at its length.
    fn mutated(blob: &[u8], edits: &[(prop::sample::Index, u8)], cut: prop::sample::Index, mode: u8) -> Vec<u8> {
        let mut bytes = blob.to_vec();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = *value;
        }
        match mode {
            0 => bytes.truncate(cut.index(bytes.len())),
            1 => bytes.extend_from_slice(&[0u8; 3]),
            _ => {}
        }
        bytes
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// A blob with bytes overwritten, cut or extended is refused before any step runs (its checksum no
        /// longer matches); nothing panics.
        #[test]
        fn corrupted_blobs_are_refused_before_running(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
            mode in 0u8..3,
        ) {
            FIXTURE.with(|(model, blob)| {
                let bytes = mutated(blob, &edits, cut, mode);
                let arena_bytes = ProgramBlob::parse(blob).unwrap().header().arena_bytes as usize;
                let mut arena = vec![0u8; arena_bytes];
                let result = run_blob(&bytes, model, &mut arena);
                if bytes == *blob {
                    prop_assert!(result.is_ok());
                } else {
                    prop_assert!(result.is_err(), "a corrupted blob ran");
                    prop_assert!(arena.iter().all(|&b| b == 0), "a corrupted blob wrote into the arena");
                }
                Ok(())
            })?;
        }

        /// The same mutations with the checksum written again (a blob crafted to pass it): the decoder and
        /// the pre-run checks return an answer for every one, never a panic.
        #[test]
        fn resealed_mutations_never_panic_the_decoder(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
            mode in 0u8..3,
        ) {
            FIXTURE.with(|(model, blob)| {
                let mut bytes = mutated(blob, &edits, cut, mode);
                arenaplan_kernels::encoding::seal(&mut bytes);
                let _ = arenaplan_kernels::check_blob(&bytes, model, 1 << 16);
            });
        }
    }
}
