//! The TFLM export: a copy of the `.tflite` file carrying the plan as an `OfflineMemoryAllocation` metadata
//! entry, which unmodified TFLM honours.
//!
//! # The offline plan
//!
//! TFLM reads a model metadata entry named `OfflineMemoryAllocation` whose buffer holds little-endian int32
//! words `[1, subgraph_count, n, offset_0, .., offset_{n-1}]`, `n` being the number of tensors over all
//! subgraphs (subgraph 0 first). An offset is relative to the start of TFLM's planned (head) section; `-1`
//! means "plan this one online". We write our offset for every tensor buffer of the plan and `-1` for
//! everything else: constants, variables, tensors nobody writes, tensors of other subgraphs. Scratch buffers
//! have no entry in the format: TFLM places them online, first fit, around the offline tensors, so its head can
//! exceed our arena when our plan put scratch where TFLM's own placement does not ([`predicted_tflm_head`]
//! computes what TFLM will do).
//!
//! # How the file is rewritten without a schema
//!
//! FlatBuffers offsets (`uoffset`) are unsigned and point forward, and a table finds its vtable by a signed
//! offset. So the new file is a short *prefix* followed by the original file, untouched, at a 64-byte aligned
//! position (which keeps every 16-byte `force_align` of the original). The prefix holds a new root `Model`
//! table, a new `buffers` vector (the old entries plus one new `Buffer` with the plan words) and a new
//! `metadata` vector (the old entries, less any old `OfflineMemoryAllocation`, plus the new entry). Every
//! other field of the new `Model` points forward into the original bytes. Models that use the large-model
//! `Buffer.offset`/`size` fields (absolute file offsets, which the prefix would shift) are refused.
//!
//! Field ids used (TFLite schema): `Model` version 0, operator_codes 1, subgraphs 2, description 3,
//! buffers 4, metadata_buffer 5, metadata 6, signature_defs 7, external_buffer_groups 8,
//! external_buffers 9; `Buffer` data 0, offset 1, size 2; `Metadata` name 0, buffer 1.

use crate::graph::Graph;
use crate::plan::Plan;
use crate::problem::{BufferOrigin, BufferProblem};

use super::ExportError;

/// The metadata name TFLM looks for.
pub const OFFLINE_PLAN_METADATA: &str = "OfflineMemoryAllocation";

/// The version word of the offline plan format TFLM's own tests use.
pub const OFFLINE_PLAN_VERSION: i32 = 1;

/// TFLM's arena alignment: every planned size is rounded up to it, and our offsets must be multiples of it.
pub const TFLM_ALIGNMENT_BYTES: u64 = 16;

/// Where the original file starts inside the exported one is a multiple of this.
const ORIGINAL_ALIGN: usize = 64;

/// Highest `Model` field id this writer knows the type of.
const MODEL_LAST_KNOWN_FIELD: usize = 9;
const MODEL_VERSION: usize = 0;
const MODEL_BUFFERS: usize = 4;
const MODEL_METADATA: usize = 6;
const BUFFER_DATA: usize = 0;
const BUFFER_OFFSET: usize = 1;
const METADATA_NAME: usize = 0;
const METADATA_BUFFER: usize = 1;

/// Export `plan` for TFLM: the model's bytes with the plan's tensor offsets as an offline memory plan.
///
/// The plan is validated against a fresh lowering of `graph` first. It must keep the file's operator order
/// (TFLM runs operators in file order, so a reordered schedule's lifetimes would not be TFLM's) and use
/// offsets and sizes aligned to TFLM's 16 bytes.
pub fn to_tflm(graph: &Graph<'_>, plan: &Plan) -> Result<Vec<u8>, ExportError> {
    let checked = crate::check::check_plan(graph, plan)?;
    if !checked.lowering.segments.is_empty() {
        return Err(ExportError::Unsupported {
            format: "tflm",
            reason: format!(
                "the plan runs {} row-streamed fused segments (operators computed row by row with their \
                 intermediate tensors in rings), which TFLM's interpreter and offline plan cannot express; export \
                 it as Rust, C or JSON, or plan without segments for TFLM",
                checked.lowering.segments.len()
            ),
        });
    }
    if checked.uses_overlaps {
        return Err(ExportError::Unsupported {
            format: "tflm",
            reason: "the plan writes an operator's output over an input it reads (an overlap arenaplan's kernels \
                     declare safe), which TFLM's kernels and offline plan cannot express; export it as Rust, C or \
                     JSON, or plan with a strategy that keeps tensors disjoint for TFLM"
                .to_owned(),
        });
    }
    let problem = checked.lowering.problem;
    let default_order: Vec<u32> = graph.default_schedule().iter().map(|op| op.0).collect();
    if plan.schedule != default_order {
        return Err(ExportError::Unsupported {
            format: "tflm",
            reason: "the plan reorders operators, but TFLM runs them in file order (export it as C, JSON or Rust)"
                .to_owned(),
        });
    }
    if plan.kernels.iter().any(|&k| k != crate::plan::KernelVariant::Reference) {
        return Err(ExportError::Unsupported {
            format: "tflm",
            reason: "the plan uses arenaplan's optimized kernels and their scratch, but TFLM runs its own kernels; \
                     plan with `--kernels reference` for TFLM (or export this plan as Rust, C or JSON)"
                .to_owned(),
        });
    }
    if plan.meta.request.alignment_bytes % TFLM_ALIGNMENT_BYTES != 0 {
        return Err(ExportError::Unsupported {
            format: "tflm",
            reason: format!(
                "the plan is aligned to {} bytes; TFLM needs offsets and sizes in multiples of {TFLM_ALIGNMENT_BYTES}",
                plan.meta.request.alignment_bytes
            ),
        });
    }
    let model = graph.model();
    let words = offline_plan_words(&problem, &plan.offsets, model.subgraph_count, model.total_tensor_count)?;
    with_offline_plan(model.bytes, &words)
}

/// The offline plan words `[1, subgraph_count, n, offset_0, ..]` for a plan of subgraph 0: the offset of every
/// tensor buffer, `-1` for every other tensor of the model.
pub fn offline_plan_words(
    problem: &BufferProblem,
    offsets: &[u64],
    subgraph_count: usize,
    total_tensor_count: usize,
) -> Result<Vec<i32>, ExportError> {
    let too_big = |what: &str, value: usize| ExportError::Tflm(format!("{what} {value} does not fit an int32"));
    let mut words = vec![
        OFFLINE_PLAN_VERSION,
        i32::try_from(subgraph_count).map_err(|_| too_big("subgraph count", subgraph_count))?,
        i32::try_from(total_tensor_count).map_err(|_| too_big("tensor count", total_tensor_count))?,
    ];
    words.resize(3 + total_tensor_count, -1);
    for (buffer, &offset) in problem.buffers.iter().zip(offsets) {
        if let BufferOrigin::Tensor(t) = buffer.origin {
            let slot = words.get_mut(3 + t as usize).ok_or_else(|| {
                ExportError::Tflm(format!("tensor {t} is past the model's {total_tensor_count} tensors"))
            })?;
            *slot = i32::try_from(offset).map_err(|_| too_big("offset", offset as usize))?;
        }
    }
    Ok(words)
}

/// What TFLM's head section will measure when it runs the exported model: our tensor buffers fixed at their
/// offsets, then every scratch buffer placed online by TFLM's greedy rule (largest first, later-added first
/// among equal sizes; each at the lowest offset where it meets no buffer alive at a common step).
///
/// Equal to the plan's arena when TFLM's rule puts the scratch buffers where the plan did, or nowhere higher.
pub fn predicted_tflm_head(problem: &BufferProblem, offsets: &[u64]) -> u64 {
    let fixed: Vec<Option<u64>> = problem
        .buffers
        .iter()
        .zip(offsets)
        .map(|(b, &o)| matches!(b.origin, BufferOrigin::Tensor(_)).then_some(o))
        .collect();
    arena_of_tflm_placement(problem, &fixed)
}

/// TFLM's placement: the buffers with a `fixed` offset (an offline plan's) stay there; every other buffer is
/// placed online by TFLM's greedy rule (largest first, later-added first among equal sizes; each at the lowest
/// offset where it meets no placed buffer alive at a common step). Returns the offsets.
pub fn tflm_placement(problem: &BufferProblem, fixed: &[Option<u64>]) -> Vec<u64> {
    let buffers = &problem.buffers;
    let mut offsets = vec![0u64; buffers.len()];
    let mut placed: Vec<usize> = Vec::new();
    let mut online: Vec<usize> = Vec::new();
    for (i, slot) in offsets.iter_mut().enumerate() {
        match fixed.get(i).copied().flatten() {
            Some(offset) => {
                *slot = offset;
                placed.push(i);
            }
            None => online.push(i),
        }
    }
    // TFLM: a stable sort by size, descending, of the reversed insertion order.
    online.reverse();
    online.sort_by(|&a, &b| buffers[b].size_bytes.cmp(&buffers[a].size_bytes));
    for i in online {
        let b = &buffers[i];
        let mut conflicts: Vec<(u64, u64)> = placed
            .iter()
            .filter(|&&j| buffers[j].overlaps_in_time(b))
            .map(|&j| (offsets[j], offsets[j].saturating_add(buffers[j].size_bytes)))
            .collect();
        conflicts.sort_unstable();
        let mut candidate = 0u64;
        for (start, end) in conflicts {
            if start >= candidate.saturating_add(b.size_bytes) {
                break;
            }
            candidate = candidate.max(end);
        }
        offsets[i] = candidate;
        placed.push(i);
    }
    offsets
}

fn arena_of_tflm_placement(problem: &BufferProblem, fixed: &[Option<u64>]) -> u64 {
    crate::plan::arena_bytes_of(problem, &tflm_placement(problem, fixed))
}

/// What TFLM does with a model that already carries an offline plan ([`read_offline_plan`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedPlan {
    /// Planned tensors of subgraph 0 the embedded plan fixes (offset other than -1).
    pub fixed_tensors: usize,
    /// Planned tensors (and scratch buffers) TFLM places online around them.
    pub online_buffers: usize,
    /// TFLM's head for the model: the fixed tensors at their offsets, the rest by TFLM's greedy rule.
    pub head_bytes: u64,
}

/// If `graph`'s model carries an `OfflineMemoryAllocation` entry, what TFLM makes of it for the reference
/// kernels' buffers `problem` (the model lowered in file order with TFLM's 16-byte alignment): TFLM fixes
/// every planned tensor whose offset is not -1 and places everything else online around them. `Ok(None)`
/// when the model has no offline plan; an error when the entry is malformed (TFLM refuses such a model too).
pub fn embedded_plan(graph: &Graph<'_>, problem: &BufferProblem) -> Result<Option<EmbeddedPlan>, ExportError> {
    let model = graph.model();
    let Some(words) = read_offline_plan(model.bytes)? else { return Ok(None) };
    if words.len() < 3 {
        return Err(ExportError::Tflm(format!("the embedded offline plan has {} words, not a header", words.len())));
    }
    let n = words[2];
    if n < 0 || n as usize != model.total_tensor_count || words.len() < 3 + n as usize {
        return Err(ExportError::Tflm(format!(
            "the embedded offline plan lists {n} tensors (in {} words) but the model has {}; TFLM refuses it",
            words.len(),
            model.total_tensor_count
        )));
    }
    let fixed: Vec<Option<u64>> = problem
        .buffers
        .iter()
        .map(|b| match b.origin {
            BufferOrigin::Tensor(t) => {
                let word = words[3 + t as usize];
                (word >= 0).then_some(word as u64)
            }
            _ => None,
        })
        .collect();
    let fixed_tensors = fixed.iter().filter(|f| f.is_some()).count();
    Ok(Some(EmbeddedPlan {
        fixed_tensors,
        online_buffers: fixed.len() - fixed_tensors,
        head_bytes: arena_of_tflm_placement(problem, &fixed),
    }))
}

/// A bounds-checked view of FlatBuffers data inside a byte slice.
struct Fb<'a>(&'a [u8]);

/// A table: its position and its vtable's.
#[derive(Clone, Copy)]
struct Table {
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

impl<'a> Fb<'a> {
    fn err(what: &str, pos: usize) -> ExportError {
        ExportError::Tflm(format!("malformed flatbuffer: {what} at byte {pos}"))
    }

    fn bytes<const N: usize>(&self, pos: usize) -> Result<[u8; N], ExportError> {
        pos.checked_add(N)
            .and_then(|end| self.0.get(pos..end))
            .map(|s| s.try_into().expect("slice of N bytes"))
            .ok_or_else(|| Self::err("read past the end", pos))
    }

    fn u16(&self, pos: usize) -> Result<u16, ExportError> {
        Ok(u16::from_le_bytes(self.bytes(pos)?))
    }

    fn u32(&self, pos: usize) -> Result<u32, ExportError> {
        Ok(u32::from_le_bytes(self.bytes(pos)?))
    }

    fn u64(&self, pos: usize) -> Result<u64, ExportError> {
        Ok(u64::from_le_bytes(self.bytes(pos)?))
    }

    /// Follow the uoffset stored at `pos`.
    fn follow(&self, pos: usize) -> Result<usize, ExportError> {
        let target = pos.checked_add(self.u32(pos)? as usize).ok_or_else(|| Self::err("offset overflow", pos))?;
        if target >= self.0.len() {
            return Err(Self::err("offset past the end", pos));
        }
        Ok(target)
    }

    fn table(&self, pos: usize) -> Result<Table, ExportError> {
        let soffset = i32::from_le_bytes(self.bytes(pos)?) as i64;
        let vtable = pos as i64 - soffset;
        if vtable < 0 || vtable as usize >= self.0.len() {
            return Err(Self::err("vtable outside the file", pos));
        }
        let vtable = vtable as usize;
        let vtable_len = self.u16(vtable)? as usize;
        if vtable_len < 4 || vtable_len % 2 != 0 {
            return Err(Self::err("bad vtable length", vtable));
        }
        Ok(Table { pos, vtable, vtable_len })
    }

    /// Number of field slots in the table's vtable.
    fn field_slots(&self, table: Table) -> usize {
        (table.vtable_len - 4) / 2
    }

    /// Absolute position of a field's value, `None` when absent.
    fn field(&self, table: Table, id: usize) -> Result<Option<usize>, ExportError> {
        let slot = 4 + 2 * id;
        if slot + 2 > table.vtable_len {
            return Ok(None);
        }
        match self.u16(table.vtable + slot)? {
            0 => Ok(None),
            off => Ok(Some(table.pos + off as usize)),
        }
    }

    /// Positions of the elements of a vector of tables (each element's target).
    fn table_vector(&self, vector: usize) -> Result<Vec<usize>, ExportError> {
        let len = self.u32(vector)? as usize;
        if len > self.0.len() / 4 {
            return Err(Self::err("vector longer than the file", vector));
        }
        (0..len).map(|i| self.follow(vector + 4 + 4 * i)).collect()
    }

    fn string(&self, pos: usize) -> Result<&'a [u8], ExportError> {
        let len = self.u32(pos)? as usize;
        pos.checked_add(4)
            .and_then(|start| self.0.get(start..start.checked_add(len)?))
            .ok_or_else(|| Self::err("string past the end", pos))
    }
}

/// Where a uoffset of the prefix points.
#[derive(Clone, Copy)]
enum Target {
    /// A position in the original file.
    Original(usize),
    /// An object of the prefix, by the index [`Prefix::reserve`] gave it.
    Object(usize),
}

/// The prefix under construction: bytes, object positions, and uoffsets to patch once positions are known.
#[derive(Default)]
struct Prefix {
    bytes: Vec<u8>,
    objects: Vec<Option<usize>>,
    fixups: Vec<(usize, Target)>,
}

impl Prefix {
    fn align(&mut self, align: usize, phase: usize) {
        while self.bytes.len() % align != phase % align {
            self.bytes.push(0);
        }
    }

    fn u16(&mut self, v: u16) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    /// A uoffset to `target`, patched in [`Prefix::finish`].
    fn uoffset(&mut self, target: Target) {
        self.fixups.push((self.bytes.len(), target));
        self.u32(0);
    }

    fn reserve(&mut self) -> usize {
        self.objects.push(None);
        self.objects.len() - 1
    }

    fn here(&mut self, object: usize) {
        self.objects[object] = Some(self.bytes.len());
    }

    /// A table whose fields are all 4 bytes wide: `fields[i] = (field id, value)`; its vtable comes first.
    fn table(&mut self, object: usize, fields: &[(usize, Field)]) {
        let slots = fields.iter().map(|(id, _)| id + 1).max().unwrap_or(0);
        self.align(4, 0);
        let vtable = self.bytes.len();
        self.u16((4 + 2 * slots) as u16);
        self.u16((4 + 4 * fields.len()) as u16);
        for id in 0..slots {
            let position = fields.iter().position(|(f, _)| *f == id);
            self.u16(position.map(|p| 4 + 4 * p as u16).unwrap_or(0));
        }
        self.align(4, 0);
        self.here(object);
        let table = self.bytes.len();
        self.u32((table - vtable) as u32); // soffset: the vtable is this many bytes before the table
        for (_, field) in fields {
            match *field {
                Field::Scalar(v) => self.u32(v),
                Field::Offset(target) => self.uoffset(target),
            }
        }
    }

    /// A vector of uoffsets.
    fn offset_vector(&mut self, object: usize, targets: &[Target]) {
        self.align(4, 0);
        self.here(object);
        self.u32(targets.len() as u32);
        for &t in targets {
            self.uoffset(t);
        }
    }

    /// Append the original file at an aligned position and resolve every uoffset.
    fn finish(mut self, original: &[u8]) -> Result<Vec<u8>, ExportError> {
        self.align(ORIGINAL_ALIGN, 0);
        let base = self.bytes.len();
        for &(at, target) in &self.fixups {
            let to = match target {
                Target::Original(pos) => base + pos,
                Target::Object(o) => self.objects[o].expect("every reserved object was written"),
            };
            let delta = to
                .checked_sub(at)
                .filter(|&d| d > 0 && d <= u32::MAX as usize)
                .ok_or_else(|| ExportError::Tflm(format!("internal error: uoffset at {at} cannot point to {to}")))?;
            self.bytes[at..at + 4].copy_from_slice(&(delta as u32).to_le_bytes());
        }
        self.bytes.extend_from_slice(original);
        Ok(self.bytes)
    }
}

/// A 4-byte table field.
#[derive(Clone, Copy)]
enum Field {
    Scalar(u32),
    Offset(Target),
}

/// The `.tflite` file `model` with an `OfflineMemoryAllocation` metadata entry holding `words`; every other
/// byte of the original is kept (it follows a new root table). An older offline plan is replaced.
pub fn with_offline_plan(model: &[u8], words: &[i32]) -> Result<Vec<u8>, ExportError> {
    let fb = Fb(model);
    if model.get(4..8) != Some(b"TFL3".as_slice()) {
        return Err(ExportError::Tflm("not a TFLite flatbuffer (no `TFL3` identifier)".to_owned()));
    }
    let root = fb.table(fb.follow(0)?)?;
    if let Some(id) =
        (MODEL_LAST_KNOWN_FIELD + 1..fb.field_slots(root)).find(|&id| fb.field(root, id).ok().flatten().is_some())
    {
        return Err(ExportError::Tflm(format!("the Model table has field {id}, newer than this writer knows")));
    }
    let mut fields: Vec<(usize, Field)> = Vec::new();
    let mut old_buffers = Vec::new();
    let mut old_metadata = Vec::new();
    for id in 0..=MODEL_LAST_KNOWN_FIELD {
        let Some(at) = fb.field(root, id)? else { continue };
        match id {
            MODEL_VERSION => fields.push((id, Field::Scalar(fb.u32(at)?))),
            MODEL_BUFFERS => old_buffers = fb.table_vector(fb.follow(at)?)?,
            MODEL_METADATA => old_metadata = fb.table_vector(fb.follow(at)?)?,
            _ => fields.push((id, Field::Offset(Target::Original(fb.follow(at)?)))),
        }
    }
    for (index, &pos) in old_buffers.iter().enumerate() {
        if let Some(at) = fb.field(fb.table(pos)?, BUFFER_OFFSET)? {
            if fb.u64(at)? > 1 {
                return Err(ExportError::Tflm(format!(
                    "buffer {index} is stored outside the flatbuffer (large-model `offset` field); such models are \
                     not supported"
                )));
            }
        }
    }
    let mut kept_metadata = Vec::new();
    for &pos in &old_metadata {
        let table = fb.table(pos)?;
        let name = match fb.field(table, METADATA_NAME)? {
            Some(at) => fb.string(fb.follow(at)?)?,
            None => b"".as_slice(),
        };
        if name != OFFLINE_PLAN_METADATA.as_bytes() {
            kept_metadata.push(pos);
        }
    }
    let new_buffer_index =
        u32::try_from(old_buffers.len()).map_err(|_| ExportError::Tflm("too many buffers".to_owned()))?;

    let mut p = Prefix::default();
    let (model_obj, buffers_obj, metadata_obj, entry_obj, name_obj, buffer_obj, data_obj) =
        (p.reserve(), p.reserve(), p.reserve(), p.reserve(), p.reserve(), p.reserve(), p.reserve());
    fields.push((MODEL_BUFFERS, Field::Offset(Target::Object(buffers_obj))));
    fields.push((MODEL_METADATA, Field::Offset(Target::Object(metadata_obj))));
    fields.sort_by_key(|(id, _)| *id);

    // Header: root uoffset and file identifier.
    p.uoffset(Target::Object(model_obj));
    p.bytes.extend_from_slice(b"TFL3");
    p.table(model_obj, &fields);
    let mut buffer_targets: Vec<Target> = old_buffers.iter().map(|&pos| Target::Original(pos)).collect();
    buffer_targets.push(Target::Object(buffer_obj));
    p.offset_vector(buffers_obj, &buffer_targets);
    let mut metadata_targets: Vec<Target> = kept_metadata.iter().map(|&pos| Target::Original(pos)).collect();
    metadata_targets.push(Target::Object(entry_obj));
    p.offset_vector(metadata_obj, &metadata_targets);
    p.table(
        entry_obj,
        &[(METADATA_NAME, Field::Offset(Target::Object(name_obj))), (METADATA_BUFFER, Field::Scalar(new_buffer_index))],
    );
    p.align(4, 0);
    p.here(name_obj);
    p.u32(OFFLINE_PLAN_METADATA.len() as u32);
    p.bytes.extend_from_slice(OFFLINE_PLAN_METADATA.as_bytes());
    p.bytes.push(0);
    p.table(buffer_obj, &[(BUFFER_DATA, Field::Offset(Target::Object(data_obj)))]);
    // The data vector's contents 16-byte aligned (the schema's force_align), so its length word sits at 12 mod 16.
    p.align(16, 12);
    p.here(data_obj);
    p.u32((words.len() * 4) as u32);
    for w in words {
        p.bytes.extend_from_slice(&w.to_le_bytes());
    }
    p.finish(model)
}

/// The offline plan words a `.tflite` file carries, if it has an `OfflineMemoryAllocation` entry (the last one
/// wins, as in TFLM).
pub fn read_offline_plan(model: &[u8]) -> Result<Option<Vec<i32>>, ExportError> {
    let fb = Fb(model);
    let root = fb.table(fb.follow(0)?)?;
    let Some(metadata_at) = fb.field(root, MODEL_METADATA)? else { return Ok(None) };
    let Some(buffers_at) = fb.field(root, MODEL_BUFFERS)? else { return Ok(None) };
    let buffers = fb.table_vector(fb.follow(buffers_at)?)?;
    let mut found = None;
    for pos in fb.table_vector(fb.follow(metadata_at)?)? {
        let table = fb.table(pos)?;
        let Some(name_at) = fb.field(table, METADATA_NAME)? else { continue };
        if fb.string(fb.follow(name_at)?)? != OFFLINE_PLAN_METADATA.as_bytes() {
            continue;
        }
        let index = match fb.field(table, METADATA_BUFFER)? {
            Some(at) => fb.u32(at)? as usize,
            None => 0,
        };
        let buffer = fb.table(*buffers.get(index).ok_or_else(|| Fb::err("metadata buffer index", pos))?)?;
        let Some(data_at) = fb.field(buffer, BUFFER_DATA)? else { continue };
        let data = fb.string(fb.follow(data_at)?)?;
        found = Some(data.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().expect("4 bytes"))).collect());
    }
    Ok(found)
}

/// `Model` field id of `subgraphs`.
const MODEL_SUBGRAPHS: usize = 2;
/// `SubGraph` field ids: tensors 0, inputs 1, outputs 2, operators 3, name 4, debug_metadata_index 5.
const SUBGRAPH_OUTPUTS: usize = 2;
const SUBGRAPH_OPERATORS: usize = 3;
const SUBGRAPH_DEBUG_METADATA: usize = 5;
const SUBGRAPH_LAST_KNOWN_FIELD: usize = 5;
/// `Operator` field id of `outputs`.
const OPERATOR_OUTPUTS: usize = 2;

/// The `.tflite` file `model` cut after operator `op` of subgraph 0: the operators after it are dropped and
/// the subgraph's outputs become `op`'s outputs, while every tensor, buffer and metadata entry stays in the
/// file (so the tensors of the dropped operators are still there, used by no operator). Written as
/// [`with_offline_plan`] writes: a new root `Model` and `SubGraph` in front of the original bytes.
///
/// This is what tools that cut a network produce; TFLM still allocates the tensors nobody uses.
pub fn cut_after(model: &[u8], op: usize) -> Result<Vec<u8>, ExportError> {
    let fb = Fb(model);
    if model.get(4..8) != Some(b"TFL3".as_slice()) {
        return Err(ExportError::Tflm("not a TFLite flatbuffer (no `TFL3` identifier)".to_owned()));
    }
    let root = fb.table(fb.follow(0)?)?;
    if let Some(id) =
        (MODEL_LAST_KNOWN_FIELD + 1..fb.field_slots(root)).find(|&id| fb.field(root, id).ok().flatten().is_some())
    {
        return Err(ExportError::Tflm(format!("the Model table has field {id}, newer than this writer knows")));
    }
    let subgraphs_at = fb.field(root, MODEL_SUBGRAPHS)?.ok_or_else(|| Fb::err("no subgraphs", root.pos))?;
    let subgraphs = fb.table_vector(fb.follow(subgraphs_at)?)?;
    let first = fb.table(*subgraphs.first().ok_or_else(|| Fb::err("no subgraph", subgraphs_at))?)?;
    if let Some(id) =
        (SUBGRAPH_LAST_KNOWN_FIELD + 1..fb.field_slots(first)).find(|&id| fb.field(first, id).ok().flatten().is_some())
    {
        return Err(ExportError::Tflm(format!("the SubGraph table has field {id}, newer than this writer knows")));
    }
    let operators_at = fb.field(first, SUBGRAPH_OPERATORS)?.ok_or_else(|| Fb::err("no operators", first.pos))?;
    let operators = fb.table_vector(fb.follow(operators_at)?)?;
    let cut = fb.table(*operators.get(op).ok_or_else(|| {
        ExportError::Tflm(format!("operator {op} is past the subgraph's {} operators", operators.len()))
    })?)?;
    let outputs_at = fb.field(cut, OPERATOR_OUTPUTS)?.ok_or_else(|| Fb::err("operator without outputs", cut.pos))?;
    let outputs_vec = fb.follow(outputs_at)?;
    let count = fb.u32(outputs_vec)? as usize;
    let outputs: Vec<u32> =
        (0..count.min(model.len() / 4)).map(|k| fb.u32(outputs_vec + 4 + 4 * k)).collect::<Result<_, _>>()?;

    let mut p = Prefix::default();
    let (model_obj, subgraphs_obj, subgraph_obj, outputs_obj, operators_obj) =
        (p.reserve(), p.reserve(), p.reserve(), p.reserve(), p.reserve());
    let mut model_fields: Vec<(usize, Field)> = Vec::new();
    for id in 0..=MODEL_LAST_KNOWN_FIELD {
        let Some(at) = fb.field(root, id)? else { continue };
        model_fields.push(match id {
            MODEL_VERSION => (id, Field::Scalar(fb.u32(at)?)),
            MODEL_SUBGRAPHS => (id, Field::Offset(Target::Object(subgraphs_obj))),
            _ => (id, Field::Offset(Target::Original(fb.follow(at)?))),
        });
    }
    let mut subgraph_fields: Vec<(usize, Field)> = Vec::new();
    for id in 0..=SUBGRAPH_LAST_KNOWN_FIELD {
        match id {
            SUBGRAPH_OUTPUTS => subgraph_fields.push((id, Field::Offset(Target::Object(outputs_obj)))),
            SUBGRAPH_OPERATORS => subgraph_fields.push((id, Field::Offset(Target::Object(operators_obj)))),
            _ => {
                let Some(at) = fb.field(first, id)? else { continue };
                let value = if id == SUBGRAPH_DEBUG_METADATA {
                    Field::Scalar(fb.u32(at)?)
                } else {
                    Field::Offset(Target::Original(fb.follow(at)?))
                };
                subgraph_fields.push((id, value));
            }
        }
    }
    p.uoffset(Target::Object(model_obj));
    p.bytes.extend_from_slice(b"TFL3");
    p.table(model_obj, &model_fields);
    let mut subgraph_targets = vec![Target::Object(subgraph_obj)];
    subgraph_targets.extend(subgraphs[1..].iter().map(|&pos| Target::Original(pos)));
    p.offset_vector(subgraphs_obj, &subgraph_targets);
    p.table(subgraph_obj, &subgraph_fields);
    p.align(4, 0);
    p.here(outputs_obj);
    p.u32(outputs.len() as u32);
    for t in outputs {
        p.u32(t);
    }
    let kept: Vec<Target> = operators[..=op].iter().map(|&pos| Target::Original(pos)).collect();
    p.offset_vector(operators_obj, &kept);
    p.finish(model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::{Buffer, BufferId};

    fn buf(origin: BufferOrigin, size: u64, live: std::ops::Range<u32>) -> Buffer {
        Buffer { id: BufferId(0), origin, name: String::new(), size_bytes: size, align_bytes: 16, live }
    }

    #[test]
    fn plan_words_hold_tensor_offsets_and_minus_one_elsewhere() {
        let problem = BufferProblem::new(vec![
            buf(BufferOrigin::Tensor(0), 32, 0..2),
            buf(BufferOrigin::Tensor(3), 16, 1..3),
            buf(BufferOrigin::Scratch(1), 16, 1..2),
        ]);
        let words = offline_plan_words(&problem, &[0, 32, 48], 2, 6).unwrap();
        assert_eq!(words, vec![1, 2, 6, 0, -1, -1, 32, -1, -1]);
    }

    #[test]
    fn predicted_head_places_scratch_first_fit_around_fixed_tensors() {
        // Tensor a [0,32) during steps 0..2, tensor b [64,80) during 1..3; scratch of 32 at step 1 fits in the
        // gap [32,64) whatever offset the plan gave it.
        let problem = BufferProblem::new(vec![
            buf(BufferOrigin::Tensor(0), 32, 0..2),
            buf(BufferOrigin::Tensor(1), 16, 1..3),
            buf(BufferOrigin::Scratch(0), 32, 1..2),
        ]);
        assert_eq!(predicted_tflm_head(&problem, &[0, 64, 80]), 80);
        // A scratch of 48 does not fit the gap: it goes after b.
        let mut bigger = problem.clone();
        bigger.buffers[2].size_bytes = 48;
        assert_eq!(predicted_tflm_head(&bigger, &[0, 64, 80]), 128);
    }

    /// A tiny model built with the flatbuffers builder: version 3, a description, two buffers (the second with
    /// 16 bytes of data), and metadata entries `keep` and an old `OfflineMemoryAllocation`.
    fn tiny_model() -> Vec<u8> {
        use flatbuffers::{FlatBufferBuilder, WIPOffset};
        let mut b = FlatBufferBuilder::new();
        let table_with = |b: &mut FlatBufferBuilder, slots: &[(u16, WIPOffset<flatbuffers::UnionWIPOffset>)]| {
            let start = b.start_table();
            for &(slot, value) in slots {
                b.push_slot_always(slot, value);
            }
            b.end_table(start)
        };
        let data = b.create_vector(&[7u8; 16]);
        let empty = table_with(&mut b, &[]);
        let full = table_with(&mut b, &[(4, data.as_union_value())]);
        let buffers = b.create_vector(&[empty, full]);
        let name_keep = b.create_string("keep");
        let name_old = b.create_string(OFFLINE_PLAN_METADATA);
        let entry = |b: &mut FlatBufferBuilder, name: WIPOffset<&str>, buffer: u32| {
            let start = b.start_table();
            b.push_slot_always(4, name);
            b.push_slot::<u32>(6, buffer, 0);
            b.end_table(start)
        };
        let keep = entry(&mut b, name_keep, 1);
        let old = entry(&mut b, name_old, 1);
        let metadata = b.create_vector(&[keep, old]);
        let description = b.create_string("tiny");
        let start = b.start_table();
        b.push_slot::<u32>(4, 3, 0);
        b.push_slot_always(10, description);
        b.push_slot_always(12, buffers);
        b.push_slot_always(16, metadata);
        let root = b.end_table(start);
        b.finish(root, Some("TFL3"));
        b.finished_data().to_vec()
    }

    #[test]
    fn offline_plan_round_trips_and_keeps_every_other_field() {
        let model = tiny_model();
        let fb = Fb(&model);
        assert_eq!(read_offline_plan(&model).unwrap(), Some(vec![0x0707_0707; 4]));
        let out = with_offline_plan(&model, &[1, 1, 2, 0, -1]).unwrap();
        assert_eq!(&out[4..8], b"TFL3");
        assert_eq!(read_offline_plan(&out).unwrap(), Some(vec![1, 1, 2, 0, -1]));
        let fb_out = Fb(&out);
        let root = fb_out.table(fb_out.follow(0).unwrap()).unwrap();
        assert_eq!(fb_out.u32(fb_out.field(root, MODEL_VERSION).unwrap().unwrap()).unwrap(), 3);
        let description = fb_out.follow(fb_out.field(root, 3).unwrap().unwrap()).unwrap();
        assert_eq!(fb_out.string(description).unwrap(), b"tiny");
        // Old buffers kept, one added; the old offline entry dropped, the other metadata kept.
        let buffers =
            fb_out.table_vector(fb_out.follow(fb_out.field(root, MODEL_BUFFERS).unwrap().unwrap()).unwrap()).unwrap();
        assert_eq!(buffers.len(), 3);
        let metadata =
            fb_out.table_vector(fb_out.follow(fb_out.field(root, MODEL_METADATA).unwrap().unwrap()).unwrap()).unwrap();
        let names: Vec<&[u8]> = metadata
            .iter()
            .map(|&m| {
                let t = fb_out.table(m).unwrap();
                fb_out.string(fb_out.follow(fb_out.field(t, METADATA_NAME).unwrap().unwrap()).unwrap()).unwrap()
            })
            .collect();
        assert_eq!(names, vec![b"keep".as_slice(), OFFLINE_PLAN_METADATA.as_bytes()]);
        // The original follows, byte for byte, at an aligned position.
        let base = out.len() - model.len();
        assert_eq!(base % ORIGINAL_ALIGN, 0);
        assert_eq!(&out[base..], &model[..]);
        // The new plan data are 16-byte aligned.
        let root_in = fb.table(fb.follow(0).unwrap()).unwrap();
        assert!(fb.field(root_in, MODEL_BUFFERS).unwrap().is_some());
        let new_buffer = fb_out.table(buffers[2]).unwrap();
        let data = fb_out.follow(fb_out.field(new_buffer, BUFFER_DATA).unwrap().unwrap()).unwrap();
        assert_eq!((data + 4) % 16, 0);
    }

    #[test]
    fn large_model_buffers_are_refused() {
        use flatbuffers::FlatBufferBuilder;
        let mut b = FlatBufferBuilder::new();
        let start = b.start_table();
        b.push_slot::<u64>(6, 4096, 0);
        b.push_slot::<u64>(8, 64, 0);
        let buffer = b.end_table(start);
        let buffers = b.create_vector(&[buffer]);
        let start = b.start_table();
        b.push_slot_always(12, buffers);
        let root = b.end_table(start);
        b.finish(root, Some("TFL3"));
        let err = with_offline_plan(b.finished_data(), &[1, 1, 0]).unwrap_err();
        assert!(err.to_string().contains("large-model"), "{err}");
    }

    #[test]
    fn not_a_tflite_file_is_refused() {
        assert!(matches!(with_offline_plan(b"hello world, not a model", &[1]), Err(ExportError::Tflm(_))));
        assert!(matches!(with_offline_plan(&[], &[1]), Err(ExportError::Tflm(_))));
    }
}
