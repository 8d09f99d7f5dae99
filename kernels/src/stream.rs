//! Row-streamed fused segments: a chain of steps run row by row, each intermediate tensor held as a ring
//! buffer of the few rows its consumer still needs, so a block such as 1x1 expand -> 3x3 depthwise -> 1x1
//! project (+ residual ADD) never holds its wide intermediate tensors whole.
//!
//! A segment is a [`KernelId::RowStreamS8`] header followed by its member steps. The members are ordinary
//! steps with two differences: each member after the first reads the previous member's output (its *streamed*
//! input), and the output slice of every member but the last is a ring of `k` rows (`k` = the slice's length
//! over the output's row bytes; row `y` lives in ring row `y mod k`). Members are the reference CONV_2D,
//! DEPTHWISE_CONV_2D, AVERAGE_POOL_2D and MAX_POOL_2D and ADD of equal shapes (its other input, such as a
//! residual, held whole), batch 1.
//!
//! [`drive`] fixes the order: the last member's rows are computed in order, and before a member computes row
//! `y` it pulls, in order, the rows of the previous member that row's window needs. Every row of every member
//! is computed at most once (no extra MACs), with the same per-element loop as a whole run
//! ([`conv2d_s8_rows`](crate::reference::conv2d_s8::conv2d_s8_rows)), so the outputs are bit-identical. A ring
//! too small for the window it must hold is refused, never read stale. The segment's output may overlap its
//! input by the lead [`crate::memory::stream_lead_bytes`] declares (derived from this same order).

use crate::interpreter::blob;
use crate::program::{AddParams, KernelId, Operand, Program, Slice, Step, StepParams, Variant, MAX_STREAM_MEMBERS};
use crate::reference::access::{ArenaCells, ByteSink, ByteSource};
use crate::reference::aliased::{binary_chunked_range, flat};
use crate::reference::{conv2d_s8, elementwise_s8, pool2d_s8};
use crate::KernelError;

/// The row geometry of one member: how its output rows depend on the rows of its streamed input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemberRows {
    /// Output rows.
    pub out_rows: usize,
    /// Bytes of one output row (width x channels).
    pub out_row_bytes: usize,
    /// Rows of the streamed input.
    pub in_rows: usize,
    /// Bytes of one streamed-input row.
    pub in_row_bytes: usize,
    /// Vertical stride.
    pub stride: usize,
    /// Padding above.
    pub pad: usize,
    /// Input rows one output row's window spans: `(filter height - 1) x dilation + 1`.
    pub span: usize,
}

impl MemberRows {
    /// The first streamed-input row that output row `y` reads.
    pub fn first_needed(&self, y: usize) -> usize {
        (y * self.stride).saturating_sub(self.pad)
    }

    /// One past the last streamed-input row that output row `y` reads (clipped to the image).
    pub fn needed_end(&self, y: usize) -> usize {
        (y * self.stride + self.span).saturating_sub(self.pad).min(self.in_rows)
    }
}

/// The row geometry of `step` as a segment member, or `None` when the step cannot be one (another kernel, the
/// optimized variant of a convolution, a batch other than 1, zero strides or dilations, an ADD whose shapes
/// differ).
pub fn member_rows(step: &Step) -> Option<MemberRows> {
    let rows = |input: [u32; 4], output: [u32; 4], stride: u32, pad: u32, span: u32| {
        (input[0] == 1 && output[0] == 1 && stride > 0 && span > 0).then_some(MemberRows {
            out_rows: output[1] as usize,
            out_row_bytes: output[2] as usize * output[3] as usize,
            in_rows: input[1] as usize,
            in_row_bytes: input[2] as usize * input[3] as usize,
            stride: stride as usize,
            pad: pad as usize,
            span: span as usize,
        })
    };
    match (step.kernel, &step.params) {
        (KernelId::Conv2dS8 | KernelId::DepthwiseConv2dS8, StepParams::Conv(p))
            if step.variant == Variant::Reference =>
        {
            if p.dilation_h == 0 || p.filter_h == 0 {
                return None;
            }
            rows(p.input, p.output, p.stride_h, p.pad_h, (p.filter_h - 1) * p.dilation_h + 1)
        }
        (KernelId::AvgPool2dS8 | KernelId::MaxPool2dS8, StepParams::Pool(p)) if p.filter_h > 0 => {
            rows(p.input, p.output, p.stride_h, p.pad_h, p.filter_h)
        }
        (KernelId::AddS8, StepParams::Add(p)) if p.input1 == p.output && p.input2 == p.output => {
            rows(p.output, p.output, 1, 0, 1)
        }
        _ => None,
    }
}

/// Whether consecutive members fit together: each member's streamed input has the rows and row bytes of the
/// previous member's output.
pub fn chain_fits(members: &[MemberRows]) -> bool {
    members.windows(2).all(|w| w[1].in_rows == w[0].out_rows && w[1].in_row_bytes == w[0].out_row_bytes)
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
    if n == 0 || n > MAX_STREAM_MEMBERS || held.len() != n || !chain_fits(members) {
        return Err(KernelError::BadOperand { step });
    }
    let mut produced = [0usize; MAX_STREAM_MEMBERS];
    for y in 0..members[n - 1].out_rows {
        produce(members, held, &mut produced, n - 1, y, step, &mut row)?;
    }
    Ok(())
}

/// Compute row `y` of member `j`, first pulling the rows of member `j - 1` its window needs.
fn produce(
    members: &[MemberRows],
    held: &[usize],
    produced: &mut [usize; MAX_STREAM_MEMBERS],
    j: usize,
    y: usize,
    step: usize,
    row: &mut impl FnMut(usize, usize) -> Result<(), KernelError>,
) -> Result<(), KernelError> {
    if j > 0 {
        let m = &members[j];
        let (first, end) = (m.first_needed(y), m.needed_end(y));
        while produced[j - 1] < end {
            let next = produced[j - 1];
            produce(members, held, produced, j - 1, next, step, row)?;
        }
        // The ring keeps rows produced - held .. produced: the window must lie inside it.
        if first < end && first + held[j - 1] < produced[j - 1] {
            return Err(KernelError::BadOperand { step });
        }
    }
    row(j, y)?;
    produced[j] = y + 1;
    Ok(())
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

/// Which input of a member is its streamed one: the previous member's output (for the first member, its
/// input 0); `None` when no input is.
pub(crate) fn streamed_input(members: &[Step], j: usize) -> Option<usize> {
    if j == 0 {
        return Some(0);
    }
    let previous = Operand::Arena(members[j - 1].output);
    let candidates = if members[j].kernel == KernelId::AddS8 { 2 } else { 1 };
    (0..candidates).find(|&k| members[j].inputs[k] == previous)
}

/// Whether two slices share a byte.
fn slices_overlap(a: &Slice, b: &Slice) -> bool {
    let (a0, b0) = (a.offset as u64, b.offset as u64);
    a.len > 0 && b.len > 0 && a0 < b0 + b.len as u64 && b0 < a0 + a.len as u64
}

/// Check the segment whose header is step `index` and return its members, their geometry, streamed inputs and
/// held rows; [`KernelError::BadOperand`] for a malformed segment, [`KernelError::Overlap`] for slices that
/// overlap other than as the declared lead allows.
#[allow(clippy::type_complexity)]
fn checked_segment<'p>(
    program: &Program<'p>,
    index: usize,
) -> Result<
    (&'p [Step], [MemberRows; MAX_STREAM_MEMBERS], [usize; MAX_STREAM_MEMBERS], [usize; MAX_STREAM_MEMBERS]),
    KernelError,
> {
    let bad = KernelError::BadOperand { step: index };
    let overlap = KernelError::Overlap { step: index };
    let header = &program.steps[index];
    let StepParams::Stream(params) = header.params else { return Err(bad) };
    let n = params.members as usize;
    if !(2..=MAX_STREAM_MEMBERS).contains(&n) || index + 1 + n > program.steps.len() {
        return Err(bad);
    }
    let members = &program.steps[index + 1..index + 1 + n];
    let (mut rows, mut streamed, mut held) =
        ([MemberRows::default(); MAX_STREAM_MEMBERS], [0; MAX_STREAM_MEMBERS], [0; MAX_STREAM_MEMBERS]);
    for (j, step) in members.iter().enumerate() {
        rows[j] = member_rows(step).ok_or(bad)?;
        streamed[j] = streamed_input(members, j).ok_or(bad)?;
        let (rb, len) = (rows[j].out_row_bytes, step.output.len as usize);
        held[j] = len.checked_div(rb).unwrap_or(0);
        let whole = rows[j].out_rows * rb;
        let fits = if j + 1 == n { len == whole } else { rb > 0 && len % rb == 0 && held[j] >= 1 && len <= whole };
        if !fits || step.scratch.is_some_and(|s| s.len > 0) {
            return Err(bad);
        }
    }
    if !chain_fits(&rows[..n]) || header.inputs[0] != members[0].inputs[0] || header.output != members[n - 1].output {
        return Err(bad);
    }
    // Rings: disjoint from each other, from the output and from every input of the segment.
    let rings = &members[..n - 1];
    let output = members[n - 1].output;
    for (a, ring) in rings.iter().enumerate() {
        let clash = rings[a + 1..].iter().any(|other| slices_overlap(&ring.output, &other.output))
            || slices_overlap(&ring.output, &output);
        if clash {
            return Err(overlap);
        }
    }
    let Operand::Arena(segment_input) = header.inputs[0] else { return Err(bad) };
    for (j, step) in members.iter().enumerate() {
        for (k, operand) in step.inputs.iter().enumerate() {
            let Operand::Arena(s) = operand else { continue };
            if j > 0 && k == streamed[j] {
                continue;
            }
            if rings.iter().any(|ring| slices_overlap(&ring.output, s)) {
                return Err(overlap);
            }
            if slices_overlap(&output, s) {
                // Only the segment's own input may overlap the output, by the declared lead.
                let lead = crate::memory::stream_lead_bytes(members).ok_or(overlap)?;
                if *s != segment_input || (output.offset as u64).saturating_add(lead) > segment_input.offset as u64 {
                    return Err(overlap);
                }
            }
        }
    }
    Ok((members, rows, streamed, held))
}

/// Run the row-streamed segment whose [`KernelId::RowStreamS8`] header is step `index` of `program` over
/// `arena`; returns how many member steps it ran (the caller skips them).
pub(crate) fn run_segment(program: &Program<'_>, arena: &mut [u8], index: usize) -> Result<usize, KernelError> {
    let (members, rows, streamed, held) = checked_segment(program, index)?;
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
            let Operand::Arena(s) = step.inputs[k] else { return Err(KernelError::BadOperand { step: index }) };
            // The streamed input is the previous member's ring; any other arena input is held whole.
            let full = if k == streamed[j] { m.in_rows * m.in_row_bytes } else { s.len as usize };
            view(s, full, m.in_row_bytes)
        };
        match (step.kernel, &step.params) {
            (KernelId::Conv2dS8 | KernelId::DepthwiseConv2dS8, StepParams::Conv(p)) => {
                let input = arena_input(0)?;
                let [w, b, mult, shift] = [1, 2, 3, 4].map(|k| constant(step.inputs[k]));
                let depthwise = step.kernel == KernelId::DepthwiseConv2dS8;
                conv2d_s8::conv2d_s8_rows(p, depthwise, &input, w?, b?, mult?, shift?, &mut out, y..y + 1)
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
            _ => Err(KernelError::BadOperand { step: index }),
        }
    })?;
    Ok(n)
}
