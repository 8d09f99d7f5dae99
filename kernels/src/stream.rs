//! Row-streamed fused segments: a few steps run row by row, each intermediate tensor held as a ring buffer of
//! the rows its consumers still need, so a block such as 1x1 expand -> 3x3 depthwise -> 1x1 project (+ the
//! residual ADD), or a residual block with its 1x1 shortcut, never holds its intermediate tensors whole.
//!
//! A segment is a [`KernelId::RowStreamS8`] header followed by its member steps. The members are ordinary
//! steps; each arena input of a member is either the output of an earlier member (held as a *ring*: the output
//! slice of every member but the last is `k` rows long, `k` = the slice's length over the output's row bytes,
//! and row `y` lives in ring row `y mod k`) or a tensor held whole (the segment's input, which is the first
//! member's input 0, or any other tensor alive around the segment). Only the last member's output is whole.
//! Members are the reference CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D and ADD of equal shapes,
//! batch 1, and, as the first member only, [`KernelId::InputRowsS8`]: a model input read from the caller row by
//! row into its ring ([`crate::run_streaming`]), so the input never sits whole in the arena.
//!
//! [`drive`] fixes the order: the last member's rows are computed in order, and before a member computes row
//! `y` it pulls, in order, the rows of the earlier members its windows need. Every row of every member is
//! computed at most once (no extra MACs), with the same per-element loop as a whole run
//! ([`conv2d_s8_rows`](crate::reference::conv2d_s8::conv2d_s8_rows)), so the outputs are bit-identical.
//! [`ring_rows`] sizes each ring by following that order; a ring too small for a window it must hold is
//! refused, never read stale. The segment's output may overlap its input by the lead
//! [`crate::memory::stream_lead_bytes`] declares (derived from the same order).

use crate::interpreter::blob;
use crate::interpreter::RowSource;
use crate::program::{AddParams, KernelId, Operand, Program, Slice, Step, StepParams, Variant, MAX_STREAM_MEMBERS};
use crate::reference::access::{ArenaCells, ByteSink, ByteSource};
use crate::reference::aliased::{binary_chunked_range, flat, CHUNK_BYTES};
use crate::reference::{conv2d_s8, elementwise_s8, pool2d_s8};
use crate::KernelError;

/// Arena inputs a member reads at most (ADD reads two).
pub const MEMBER_INPUTS: usize = 2;

/// Where a member's arena input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// A tensor held whole (the segment's input, or another tensor alive around the segment).
    #[default]
    Whole,
    /// The ring of an earlier member's output.
    Member(usize),
}

/// How one output row of a member depends on the rows of one of its arena inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InputRows {
    /// Rows of the input.
    pub rows: usize,
    /// Bytes of one input row (width x channels).
    pub row_bytes: usize,
    /// Vertical stride.
    pub stride: usize,
    /// Padding above.
    pub pad: usize,
    /// Input rows one output row's window spans: `(filter height - 1) x dilation + 1`.
    pub span: usize,
    /// Where the input comes from.
    pub source: Source,
}

impl InputRows {
    /// The first input row that output row `y` reads.
    pub fn first_needed(&self, y: usize) -> usize {
        (y * self.stride).saturating_sub(self.pad)
    }

    /// One past the last input row that output row `y` reads (clipped to the image).
    pub fn needed_end(&self, y: usize) -> usize {
        (y * self.stride + self.span).saturating_sub(self.pad).min(self.rows)
    }
}

/// The row geometry of one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemberRows {
    /// Output rows.
    pub out_rows: usize,
    /// Bytes of one output row (width x channels).
    pub out_row_bytes: usize,
    /// Its arena inputs (`inputs[k]` for step input `k`), `None` past the last.
    pub inputs: [Option<InputRows>; MEMBER_INPUTS],
}

/// The row geometry of `step` as a segment member, every input [`Source::Whole`] (see [`segment_rows`]), or
/// `None` when the step cannot be one (another kernel, the optimized variant of a convolution, a batch other
/// than 1, zero strides or dilations, an ADD whose shapes differ).
pub fn member_rows(step: &Step) -> Option<MemberRows> {
    let window = |input: [u32; 4], stride: u32, pad: u32, span: u32| InputRows {
        rows: input[1] as usize,
        row_bytes: input[2] as usize * input[3] as usize,
        stride: stride as usize,
        pad: pad as usize,
        span: span as usize,
        source: Source::Whole,
    };
    let member = |input: [u32; 4], output: [u32; 4], inputs: [Option<InputRows>; MEMBER_INPUTS]| {
        (input[0] == 1 && output[0] == 1).then_some(MemberRows {
            out_rows: output[1] as usize,
            out_row_bytes: output[2] as usize * output[3] as usize,
            inputs,
        })
    };
    match (step.kernel, &step.params) {
        (KernelId::Conv2dS8 | KernelId::DepthwiseConv2dS8, StepParams::Conv(p))
            if step.variant == Variant::Reference =>
        {
            if p.dilation_h == 0 || p.filter_h == 0 || p.stride_h == 0 {
                return None;
            }
            let input = window(p.input, p.stride_h, p.pad_h, (p.filter_h - 1) * p.dilation_h + 1);
            member(p.input, p.output, [Some(input), None])
        }
        (KernelId::AvgPool2dS8 | KernelId::MaxPool2dS8, StepParams::Pool(p)) if p.filter_h > 0 && p.stride_h > 0 => {
            member(p.input, p.output, [Some(window(p.input, p.stride_h, p.pad_h, p.filter_h)), None])
        }
        (KernelId::AddS8, StepParams::Add(p)) if p.input1 == p.output && p.input2 == p.output => {
            let row = window(p.output, 1, 0, 1);
            member(p.output, p.output, [Some(row), Some(row)])
        }
        (KernelId::InputRowsS8, StepParams::InputRows(p)) => member(p.shape, p.shape, [None, None]),
        _ => None,
    }
}

/// The geometry of every member of a segment, each input's [`Source`] found: input `k` of member `j` is
/// [`Source::Member`]`(i)` when it is the arena slice of an earlier member `i`'s output, with the rows and
/// row bytes of that output; any other slice is held whole. `None` when a member cannot be one or an input
/// disagrees with the output it reads.
pub fn segment_rows(members: &[Step]) -> Option<[MemberRows; MAX_STREAM_MEMBERS]> {
    if members.len() > MAX_STREAM_MEMBERS {
        return None;
    }
    let mut rows = [MemberRows::default(); MAX_STREAM_MEMBERS];
    for (j, step) in members.iter().enumerate() {
        rows[j] = member_rows(step)?;
        for k in 0..MEMBER_INPUTS {
            let Some(input) = rows[j].inputs[k].as_mut() else { continue };
            let Operand::Arena(slice) = step.inputs[k] else { return None };
            // The last earlier member writing exactly that slice (rings of members alive together never share
            // bytes; the interpreter checks that).
            if let Some(i) = members[..j].iter().rposition(|m| m.output == slice) {
                if input.rows != rows[i].out_rows || input.row_bytes != rows[i].out_row_bytes {
                    return None;
                }
                input.source = Source::Member(i);
            }
        }
    }
    Some(rows)
}

/// Run the segment's rows in its one order, calling `row(member, y)` to compute row `y` of member `member`.
/// `held[j]` is how many rows member `j`'s output keeps (its ring; the last member's output is whole). Fails
/// with [`KernelError::BadOperand`] naming `step` when a ring is too small for a window it must hold, and
/// passes on the first error of `row`.
pub fn drive(
    members: &[MemberRows],
    held: &[usize],
    step: usize,
    mut row: impl FnMut(usize, usize) -> Result<(), KernelError>,
) -> Result<(), KernelError> {
    let n = members.len();
    if n == 0 || n > MAX_STREAM_MEMBERS || held.len() != n {
        return Err(KernelError::BadOperand { step });
    }
    let mut produced = [0usize; MAX_STREAM_MEMBERS];
    for y in 0..members[n - 1].out_rows {
        produce(members, &mut produced, n - 1, y, &mut |j, y, produced: &[usize; MAX_STREAM_MEMBERS]| {
            // Every window must lie inside the rows its ring keeps: produced - held .. produced.
            if ring_reads(&members[j], y).any(|(i, first)| first + held[i] < produced[i]) {
                return Err(KernelError::BadOperand { step });
            }
            row(j, y)
        })?;
    }
    Ok(())
}

/// The rings row `y` of `member` reads: each producing member with the first row its window reads (windows
/// that read no row are left out).
fn ring_reads(member: &MemberRows, y: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    member.inputs.iter().flatten().filter_map(move |input| match input.source {
        Source::Member(i) if input.first_needed(y) < input.needed_end(y) => Some((i, input.first_needed(y))),
        _ => None,
    })
}

/// Compute row `y` of member `j`, first pulling the rows of the earlier members its windows need; `row` sees
/// how many rows each member has produced when it is called.
fn produce(
    members: &[MemberRows],
    produced: &mut [usize; MAX_STREAM_MEMBERS],
    j: usize,
    y: usize,
    row: &mut impl FnMut(usize, usize, &[usize; MAX_STREAM_MEMBERS]) -> Result<(), KernelError>,
) -> Result<(), KernelError> {
    for input in members[j].inputs.iter().flatten() {
        if let Source::Member(i) = input.source {
            while produced[i] < input.needed_end(y) {
                let next = produced[i];
                produce(members, produced, i, next, row)?;
            }
        }
    }
    row(j, y, produced)?;
    produced[j] = y + 1;
    Ok(())
}

/// The rows each member's ring must keep for [`drive`]'s order (at least 1; the last member's output is
/// whole): the most rows between the oldest row a window reads and the newest row produced, over the run.
pub fn ring_rows(members: &[MemberRows]) -> Option<[usize; MAX_STREAM_MEMBERS]> {
    let n = members.len();
    if n == 0 || n > MAX_STREAM_MEMBERS {
        return None;
    }
    let mut need = [1usize; MAX_STREAM_MEMBERS];
    let whole: [usize; MAX_STREAM_MEMBERS] = core::array::from_fn(|j| members.get(j).map_or(1, |m| m.out_rows));
    let mut produced = [0usize; MAX_STREAM_MEMBERS];
    for y in 0..members[n - 1].out_rows {
        produce(members, &mut produced, n - 1, y, &mut |j, y, produced: &[usize; MAX_STREAM_MEMBERS]| {
            for (i, first) in ring_reads(&members[j], y) {
                need[i] = need[i].max(produced[i].saturating_sub(first));
            }
            Ok(())
        })
        .ok()?;
    }
    need[n - 1] = whole[n - 1];
    Some(core::array::from_fn(|j| need[j].min(whole[j].max(1))))
}

/// A tensor of the arena seen through its ring of rows: byte `i` of the whole tensor lives at `i mod ring`
/// (row `y` in ring row `y mod k`). A tensor held whole is a ring as long as itself.
#[derive(Clone, Copy)]
struct RowRing<'a> {
    cells: ArenaCells<'a>,
    full_len: usize,
    /// Rows the ring holds (`cells.len()` over the row bytes; the tensor's height when held whole).
    held_rows: usize,
}

impl RowRing<'_> {
    #[inline(always)]
    fn at(&self, i: usize) -> usize {
        let ring = self.cells.0.len();
        if i < ring {
            i
        } else {
            i % ring
        }
    }
}

impl ByteSource for RowRing<'_> {
    #[inline(always)]
    fn byte_len(&self) -> usize {
        self.full_len
    }
    #[inline(always)]
    fn byte(&self, i: usize) -> u8 {
        self.cells.0[self.at(i)].get()
    }
    #[inline(always)]
    fn row_start(&self, y: usize, row_bytes: usize) -> usize {
        (y % self.held_rows) * row_bytes
    }
}

impl ByteSink for RowRing<'_> {
    #[inline(always)]
    fn byte_len(&self) -> usize {
        self.full_len
    }
    #[inline(always)]
    fn set_byte(&mut self, i: usize, value: u8) {
        self.cells.0[self.at(i)].set(value);
    }
    #[inline(always)]
    fn out_row_start(&self, y: usize, row_bytes: usize) -> usize {
        (y % self.held_rows) * row_bytes
    }
}

/// Whether two slices share a byte.
fn slices_overlap(a: &Slice, b: &Slice) -> bool {
    let (a0, b0) = (a.offset as u64, b.offset as u64);
    a.len > 0 && b.len > 0 && a0 < b0 + b.len as u64 && b0 < a0 + a.len as u64
}

/// A checked segment: its members, their geometry and the rows each output keeps.
struct Segment<'p> {
    members: &'p [Step],
    rows: [MemberRows; MAX_STREAM_MEMBERS],
    held: [usize; MAX_STREAM_MEMBERS],
}

/// Check the segment whose header is step `index`: [`KernelError::BadOperand`] for a malformed segment,
/// [`KernelError::Overlap`] for slices that overlap other than as the declared lead allows.
fn checked_segment<'p>(program: &Program<'p>, index: usize) -> Result<Segment<'p>, KernelError> {
    let bad = KernelError::BadOperand { step: index };
    let overlap = KernelError::Overlap { step: index };
    let header = &program.steps[index];
    let StepParams::Stream(params) = header.params else { return Err(bad) };
    let n = params.members as usize;
    if !(2..=MAX_STREAM_MEMBERS).contains(&n) || index + 1 + n > program.steps.len() {
        return Err(bad);
    }
    let members = &program.steps[index + 1..index + 1 + n];
    let rows = segment_rows(members).ok_or(bad)?;
    let mut held = [0; MAX_STREAM_MEMBERS];
    for (j, step) in members.iter().enumerate() {
        let (rb, len) = (rows[j].out_row_bytes, step.output.len as usize);
        held[j] = len.checked_div(rb).unwrap_or(0);
        let whole = rows[j].out_rows * rb;
        let fits = if j + 1 == n { len == whole } else { rb > 0 && len % rb == 0 && held[j] >= 1 && len <= whole };
        if !fits || step.scratch.is_some_and(|s| s.len > 0) {
            return Err(bad);
        }
    }
    if header.inputs[0] != members[0].inputs[0] || header.output != members[n - 1].output {
        return Err(bad);
    }
    // Only a segment's first member may read a model input row by row.
    if members[1..].iter().any(|m| m.kernel == KernelId::InputRowsS8) {
        return Err(bad);
    }
    // Rings: disjoint from each other, from the output and from every whole input.
    let rings = &members[..n - 1];
    let output = members[n - 1].output;
    for (a, ring) in rings.iter().enumerate() {
        let clash = rings[a + 1..].iter().any(|other| slices_overlap(&ring.output, &other.output))
            || slices_overlap(&ring.output, &output);
        if clash {
            return Err(overlap);
        }
    }
    // A segment that streams its input from the caller has no input in the arena.
    let segment_input = match header.inputs[0] {
        Operand::Arena(s) => Some(s),
        Operand::Unused if members[0].kernel == KernelId::InputRowsS8 => None,
        _ => return Err(bad),
    };
    for (j, step) in members.iter().enumerate() {
        for (k, input) in rows[j].inputs.iter().enumerate() {
            let (Some(input), Operand::Arena(s)) = (input, step.inputs[k]) else { continue };
            if input.source != Source::Whole {
                continue;
            }
            if rings.iter().any(|ring| slices_overlap(&ring.output, &s)) {
                return Err(overlap);
            }
            if slices_overlap(&output, &s) {
                // Only the segment's own input may overlap the output, by the declared lead.
                let lead = crate::memory::stream_lead_bytes(members).ok_or(overlap)?;
                let Some(segment_input) = segment_input.filter(|&input| input == s) else { return Err(overlap) };
                if (output.offset as u64).saturating_add(lead) > segment_input.offset as u64 {
                    return Err(overlap);
                }
            }
        }
    }
    Ok(Segment { members, rows, held })
}

/// Run the row-streamed segment whose [`KernelId::RowStreamS8`] header is step `index` of `program` over
/// `arena`; returns how many member steps it ran (the caller skips them).
pub(crate) fn run_segment(
    program: &Program<'_>,
    arena: &mut [u8],
    index: usize,
    rows_in: &mut impl RowSource,
) -> Result<usize, KernelError> {
    let Segment { members, rows, held } = checked_segment(program, index)?;
    let n = members.len();
    let cells = ArenaCells::new(arena);
    let view = |slice: Slice, full_len: usize, row_bytes: usize| -> Result<RowRing<'_>, KernelError> {
        let cells = slice.range().and_then(|r| cells.window(r)).ok_or(KernelError::OutOfRange { step: index })?;
        let held_rows = cells.0.len().checked_div(row_bytes).unwrap_or(0).max(1);
        Ok(RowRing { cells, full_len, held_rows })
    };
    let constant = |operand: Operand| blob(program, &[], operand, index);
    drive(&rows[..n], &held[..n], index, |j, y| {
        let step = &members[j];
        let m = &rows[j];
        let mut out = view(step.output, m.out_rows * m.out_row_bytes, m.out_row_bytes)?;
        let arena_input = |k: usize| -> Result<RowRing<'_>, KernelError> {
            let (Some(input), Operand::Arena(s)) = (m.inputs[k], step.inputs[k]) else {
                return Err(KernelError::BadOperand { step: index });
            };
            view(s, input.rows * input.row_bytes, input.row_bytes)
        };
        match (step.kernel, &step.params) {
            (KernelId::Conv2dS8 | KernelId::DepthwiseConv2dS8, StepParams::Conv(p)) => {
                let input = arena_input(0)?;
                let [w, b, mult, shift] = [1, 2, 3, 4].map(|k| constant(step.inputs[k]));
                if step.kernel == KernelId::DepthwiseConv2dS8 {
                    conv2d_s8::conv2d_s8_rows(p, true, &input, w?, b?, mult?, shift?, &mut out, y..y + 1)
                } else {
                    conv2d_s8::conv2d_s8_rows_gathered(p, &input, w?, b?, mult?, shift?, &mut out, y..y + 1)
                }
            }
            (KernelId::AvgPool2dS8 | KernelId::MaxPool2dS8, StepParams::Pool(p)) => {
                let input = arena_input(0)?;
                pool2d_s8::pool2d_s8_rows(p, step.kernel == KernelId::AvgPool2dS8, &input, &mut out, y..y + 1)
            }
            (KernelId::AddS8, StepParams::Add(p)) => {
                let (a, b) = (arena_input(0)?, arena_input(1)?);
                let whole = m.out_rows * m.out_row_bytes;
                if a.full_len != whole || b.full_len != whole {
                    return Err(KernelError::BadLength { kernel: "add_s8" });
                }
                let bytes = y * m.out_row_bytes..(y + 1) * m.out_row_bytes;
                binary_chunked_range(&a, &b, &mut out, bytes, |len, x, z, o| {
                    let q = AddParams { input1: flat(len), input2: flat(len), output: flat(len), ..*p };
                    elementwise_s8::add_s8(&q, x, z, o)
                })
            }
            (KernelId::InputRowsS8, StepParams::InputRows(p)) => {
                // The caller's row, chunk by chunk through the stack, into the ring.
                let (input, base) = (p.input as usize, out.out_row_start(y, m.out_row_bytes));
                let mut chunk = [0u8; CHUNK_BYTES];
                let mut at = 0;
                while at < m.out_row_bytes {
                    let n = CHUNK_BYTES.min(m.out_row_bytes - at);
                    if !rows_in.read_row(input, y, at, &mut chunk[..n]) {
                        return Err(KernelError::NoInputRows { input, row: y });
                    }
                    (0..n).for_each(|k| out.set_byte(base + at + k, chunk[k]));
                    at += n;
                }
                Ok(())
            }
            _ => Err(KernelError::BadOperand { step: index }),
        }
    })?;
    Ok(n)
}
