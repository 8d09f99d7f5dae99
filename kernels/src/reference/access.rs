//! Byte access for kernels that may run over one arena with overlapping input and output.
//!
//! Rust cannot hold `&[u8]` and `&mut [u8]` to overlapping bytes, so the kernels that may write their output
//! over their input (convolutions, pooling) read through [`ByteSource`] and write through [`ByteSink`]. Plain
//! slices implement both (the disjoint case, monomorphised to plain indexing: no slowdown); [`ArenaCells`]
//! implements both over a `&[Cell<u8>]` view of the one arena, so an input and an output may share bytes
//! without `unsafe`. Which overlaps are correct is declared in [`crate::memory`].

use core::cell::Cell;

/// Bytes a kernel reads by index.
pub trait ByteSource {
    /// Number of bytes.
    fn byte_len(&self) -> usize;
    /// The byte at `i` (panics past the end, as slice indexing does; kernels check lengths first).
    fn byte(&self, i: usize) -> u8;
    /// An index of the first byte of row `y` (rows of `row_bytes` bytes) that reads the same byte as
    /// `y * row_bytes`: that, for a tensor held whole; a ring of rows returns the cheaper index of the row in
    /// the ring.
    #[inline(always)]
    fn row_start(&self, y: usize, row_bytes: usize) -> usize {
        y * row_bytes
    }
}

/// Bytes a kernel writes by index.
pub trait ByteSink {
    /// Number of bytes.
    fn byte_len(&self) -> usize;
    /// Write `value` at `i` (panics past the end, as slice indexing does; kernels check lengths first).
    fn set_byte(&mut self, i: usize, value: u8);
    /// [`ByteSource::row_start`] for writes.
    #[inline(always)]
    fn out_row_start(&self, y: usize, row_bytes: usize) -> usize {
        y * row_bytes
    }
}

impl ByteSource for [u8] {
    #[inline(always)]
    fn byte_len(&self) -> usize {
        self.len()
    }
    #[inline(always)]
    fn byte(&self, i: usize) -> u8 {
        self[i]
    }
}

impl ByteSink for [u8] {
    #[inline(always)]
    fn byte_len(&self) -> usize {
        self.len()
    }
    #[inline(always)]
    fn set_byte(&mut self, i: usize, value: u8) {
        self[i] = value;
    }
}

/// A window of the arena seen as cells: reads and writes through a shared reference, so the same bytes may
/// be an input of a kernel and its output at once.
#[derive(Clone, Copy)]
pub struct ArenaCells<'a>(pub &'a [Cell<u8>]);

impl<'a> ArenaCells<'a> {
    /// The whole arena as cells.
    pub fn new(arena: &'a mut [u8]) -> Self {
        ArenaCells(Cell::from_mut(arena).as_slice_of_cells())
    }

    /// The sub-window `range`, or `None` when it lies outside.
    pub fn window(&self, range: core::ops::Range<usize>) -> Option<ArenaCells<'a>> {
        self.0.get(range).map(ArenaCells)
    }
}

impl ByteSource for ArenaCells<'_> {
    #[inline(always)]
    fn byte_len(&self) -> usize {
        self.0.len()
    }
    #[inline(always)]
    fn byte(&self, i: usize) -> u8 {
        self.0[i].get()
    }
}

impl ByteSink for ArenaCells<'_> {
    #[inline(always)]
    fn byte_len(&self) -> usize {
        self.0.len()
    }
    #[inline(always)]
    fn set_byte(&mut self, i: usize, value: u8) {
        self.0[i].set(value);
    }
}
