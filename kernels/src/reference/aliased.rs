//! The reference kernels run over one arena whose output overlaps an input: the execution side of the
//! memory behaviours declared in [`crate::memory`].
//!
//! Window kernels (CONV_2D, DEPTHWISE_CONV_2D, pooling) run their own loop over [`ArenaCells`]; elementwise
//! kernels run chunk by chunk: [`CHUNK_BYTES`] input bytes are read into the stack, the kernel computes the
//! chunk's output from them, and only then is the chunk written (so an output at or before its input never
//! overwrites a byte not yet read). This function does not check the overlap: the interpreter checks it
//! against [`crate::memory::output_lead_bytes`] before calling it.

use super::access::{ArenaCells, ByteSink, ByteSource};
use super::{activation_s8, binary_s8, conv2d_s8, elementwise_s8, hard_swish_s8, logistic_s8, pool2d_s8, tanh_s8};
use crate::program::{KernelId, Step, StepParams, MAX_OPERANDS};
use crate::KernelError;

/// Bytes of an elementwise chunk held on the stack.
pub const CHUNK_BYTES: usize = 64;

/// One operand of an aliased step: a read-only blob (model, precomputed constants) or a window of the arena.
#[derive(Clone, Copy)]
pub enum OperandBytes<'a> {
    /// Bytes outside the arena.
    Blob(&'a [u8]),
    /// Bytes of the arena, possibly shared with the output.
    Arena(ArenaCells<'a>),
}

impl<'a> OperandBytes<'a> {
    fn blob(self, step: usize) -> Result<&'a [u8], KernelError> {
        match self {
            OperandBytes::Blob(b) => Ok(b),
            // Weights, biases and multipliers are constants; an arena operand here cannot run aliased.
            OperandBytes::Arena(_) => Err(KernelError::BadOperand { step }),
        }
    }
}

impl ByteSource for OperandBytes<'_> {
    fn byte_len(&self) -> usize {
        match self {
            OperandBytes::Blob(b) => b.len(),
            OperandBytes::Arena(c) => c.0.len(),
        }
    }
    fn byte(&self, i: usize) -> u8 {
        match self {
            OperandBytes::Blob(b) => b[i],
            OperandBytes::Arena(c) => c.byte(i),
        }
    }
}

/// Run a unary elementwise kernel `f` chunk by chunk from `input` into `output` (equal lengths).
fn unary_chunked(
    kernel: &'static str,
    input: &OperandBytes<'_>,
    output: &mut ArenaCells<'_>,
    f: impl Fn(&[u8], &mut [u8]) -> Result<(), KernelError>,
) -> Result<(), KernelError> {
    let len = output.0.len();
    if input.byte_len() != len {
        return Err(KernelError::BadLength { kernel });
    }
    let (mut a, mut out) = ([0u8; CHUNK_BYTES], [0u8; CHUNK_BYTES]);
    let mut at = 0;
    while at < len {
        let n = CHUNK_BYTES.min(len - at);
        (0..n).for_each(|k| a[k] = input.byte(at + k));
        f(&a[..n], &mut out[..n])?;
        (0..n).for_each(|k| output.set_byte(at + k, out[k]));
        at += n;
    }
    Ok(())
}

/// Run a binary elementwise kernel `f` chunk by chunk (no broadcasting: both inputs as long as the output).
/// `f` gets the chunk length, to set the shapes of its parameters.
fn binary_chunked(
    kernel: &'static str,
    a: &OperandBytes<'_>,
    b: &OperandBytes<'_>,
    output: &mut ArenaCells<'_>,
    f: impl Fn(u32, &[u8], &[u8], &mut [u8]) -> Result<(), KernelError>,
) -> Result<(), KernelError> {
    let len = output.0.len();
    if a.byte_len() != len || b.byte_len() != len {
        return Err(KernelError::BadLength { kernel });
    }
    binary_chunked_range(a, b, output, 0..len, f)
}

/// [`binary_chunked`] over the bytes `bytes` only (every operand at least that long: the caller checks), through
/// any byte views: row-streamed segments ([`crate::stream`]) run their elementwise members one row at a time.
pub(crate) fn binary_chunked_range<A: ByteSource + ?Sized, B: ByteSource + ?Sized, O: ByteSink + ?Sized>(
    a: &A,
    b: &B,
    output: &mut O,
    bytes: core::ops::Range<usize>,
    f: impl Fn(u32, &[u8], &[u8], &mut [u8]) -> Result<(), KernelError>,
) -> Result<(), KernelError> {
    let (mut x, mut y, mut out) = ([0u8; CHUNK_BYTES], [0u8; CHUNK_BYTES], [0u8; CHUNK_BYTES]);
    let (mut at, len) = (bytes.start, bytes.end);
    while at < len {
        let n = CHUNK_BYTES.min(len - at);
        (0..n).for_each(|k| {
            x[k] = a.byte(at + k);
            y[k] = b.byte(at + k);
        });
        f(n as u32, &x[..n], &y[..n], &mut out[..n])?;
        (0..n).for_each(|k| output.set_byte(at + k, out[k]));
        at += n;
    }
    Ok(())
}

/// The flat shape of a chunk of `n` elements.
pub(crate) fn flat(n: u32) -> [u32; 4] {
    [1, 1, 1, n]
}

/// Run `step` (number `index`) with its operands as given and its output in `output`, which may overlap
/// arena operands. Kernels without a declared memory behaviour are refused ([`KernelError::Overlap`]), as are
/// binary ops whose shapes broadcast.
pub fn run_aliased(
    step: &Step,
    index: usize,
    operands: &[OperandBytes<'_>; MAX_OPERANDS],
    mut output: ArenaCells<'_>,
) -> Result<(), KernelError> {
    let [a, b, c, d, e] = operands;
    let out = &mut output;
    let refused = Err(KernelError::Overlap { step: index });
    let same = |shapes: [[u32; 4]; 3]| shapes[0] == shapes[2] && shapes[1] == shapes[2];
    match (step.kernel, &step.params) {
        (KernelId::Conv2dS8 | KernelId::DepthwiseConv2dS8, StepParams::Conv(p)) => {
            let depthwise = step.kernel == KernelId::DepthwiseConv2dS8;
            let (w, bias, m, s) = (b.blob(index)?, c.blob(index)?, d.blob(index)?, e.blob(index)?);
            conv2d_s8::conv2d_s8_over(p, depthwise, a, w, bias, m, s, out)
        }
        (KernelId::AvgPool2dS8 | KernelId::MaxPool2dS8, StepParams::Pool(p)) => {
            pool2d_s8::pool2d_s8_over(p, step.kernel == KernelId::AvgPool2dS8, a, out)
        }
        (KernelId::CopyS8, _) => unary_chunked("copy_s8", a, out, elementwise_s8::copy_s8),
        (KernelId::ReluS8, StepParams::Relu(p)) => {
            unary_chunked("relu_s8", a, out, |x, y| activation_s8::relu_s8(p, x, y))
        }
        (KernelId::Relu6S8, StepParams::Clamp(p)) => {
            unary_chunked("relu6_s8", a, out, |x, y| activation_s8::relu6_s8(p, x, y))
        }
        (KernelId::LeakyReluS8, StepParams::LeakyRelu(p)) => {
            unary_chunked("leaky_relu_s8", a, out, |x, y| activation_s8::leaky_relu_s8(p, x, y))
        }
        (KernelId::HardSwishS8, StepParams::HardSwish(p)) => {
            unary_chunked("hard_swish_s8", a, out, |x, y| hard_swish_s8::hard_swish_s8(p, x, y))
        }
        (KernelId::LogisticS8, StepParams::Logistic(p)) => {
            unary_chunked("logistic_s8", a, out, |x, y| logistic_s8::logistic_s8(p, x, y))
        }
        (KernelId::TanhS8, StepParams::Tanh(p)) => unary_chunked("tanh_s8", a, out, |x, y| tanh_s8::tanh_s8(p, x, y)),
        (KernelId::QuantizeS8, StepParams::Quantize(p)) => {
            unary_chunked("quantize_s8", a, out, |x, y| elementwise_s8::quantize_s8(p, x, y))
        }
        (KernelId::AddS8 | KernelId::SubS8, StepParams::Add(p)) if same([p.input1, p.input2, p.output]) => {
            let add = step.kernel == KernelId::AddS8;
            binary_chunked("add_s8", a, b, out, |n, x, y, o| {
                let q = crate::program::AddParams { input1: flat(n), input2: flat(n), output: flat(n), ..*p };
                if add {
                    elementwise_s8::add_s8(&q, x, y, o)
                } else {
                    binary_s8::sub_s8(&q, x, y, o)
                }
            })
        }
        (KernelId::MulS8, StepParams::Mul(p)) if same([p.input1, p.input2, p.output]) => {
            binary_chunked("mul_s8", a, b, out, |n, x, y, o| {
                let q = crate::program::MulParams { input1: flat(n), input2: flat(n), output: flat(n), ..*p };
                elementwise_s8::mul_s8(&q, x, y, o)
            })
        }
        (KernelId::MaximumS8 | KernelId::MinimumS8, StepParams::Broadcast(p))
            if same([p.input1, p.input2, p.output]) =>
        {
            let max = step.kernel == KernelId::MaximumS8;
            binary_chunked("maximum_minimum_s8", a, b, out, |n, x, y, o| {
                let q = crate::program::BroadcastParams { input1: flat(n), input2: flat(n), output: flat(n) };
                if max {
                    binary_s8::maximum_s8(&q, x, y, o)
                } else {
                    binary_s8::minimum_s8(&q, x, y, o)
                }
            })
        }
        _ => refused,
    }
}
