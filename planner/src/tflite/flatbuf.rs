//! A minimal, bounds-checked reader of FlatBuffers tables, vectors and strings.
//!
//! Every access checks its offsets against the buffer and returns an error instead of panicking, so reading
//! a model is its own verification: a malformed file can only produce a [`ReadError`], never an
//! out-of-bounds read. Nothing is copied: strings and byte vectors borrow from the buffer.

use super::error::ReadError;

/// A FlatBuffers table at a known position of the buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table<'a> {
    buf: &'a [u8],
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

fn bytes<const N: usize>(buf: &[u8], pos: usize, what: &'static str) -> Result<[u8; N], ReadError> {
    pos.checked_add(N)
        .and_then(|end| buf.get(pos..end))
        .map(|s| s.try_into().expect("slice of length N"))
        .ok_or(ReadError::Truncated { what, offset: pos })
}

pub(crate) fn read_u32(buf: &[u8], pos: usize, what: &'static str) -> Result<u32, ReadError> {
    bytes::<4>(buf, pos, what).map(u32::from_le_bytes)
}

fn read_u16(buf: &[u8], pos: usize, what: &'static str) -> Result<u16, ReadError> {
    bytes::<2>(buf, pos, what).map(u16::from_le_bytes)
}

/// Follow the unsigned offset stored at `pos` (offsets are relative to where they are stored).
fn follow(buf: &[u8], pos: usize, what: &'static str) -> Result<usize, ReadError> {
    let rel = read_u32(buf, pos, what)? as usize;
    let target = pos.checked_add(rel).ok_or(ReadError::Truncated { what, offset: pos })?;
    if target >= buf.len() {
        return Err(ReadError::Truncated { what, offset: target });
    }
    Ok(target)
}

impl<'a> Table<'a> {
    /// The table at `pos`.
    pub(crate) fn at(buf: &'a [u8], pos: usize, what: &'static str) -> Result<Self, ReadError> {
        let soffset = i32::from_le_bytes(bytes::<4>(buf, pos, what)?) as i64;
        let vtable = pos as i64 - soffset;
        if vtable < 0 || vtable as usize >= buf.len() {
            return Err(ReadError::Truncated { what, offset: pos });
        }
        let vtable = vtable as usize;
        let vtable_len = read_u16(buf, vtable, what)? as usize;
        if vtable_len < 4 || vtable.checked_add(vtable_len).is_none_or(|end| end > buf.len()) {
            return Err(ReadError::Truncated { what, offset: vtable });
        }
        Ok(Table { buf, pos, vtable, vtable_len })
    }

    /// The root table of a buffer.
    pub(crate) fn root(buf: &'a [u8]) -> Result<Self, ReadError> {
        Table::at(buf, follow(buf, 0, "root offset")?, "root table")
    }

    /// Position of field `id`, or `None` when absent (default value).
    fn field(&self, id: usize, what: &'static str) -> Result<Option<usize>, ReadError> {
        let slot = 4 + 2 * id;
        if slot + 2 > self.vtable_len {
            return Ok(None);
        }
        let rel = read_u16(self.buf, self.vtable + slot, what)? as usize;
        Ok(if rel == 0 { None } else { Some(self.pos + rel) })
    }

    /// A little-endian scalar field of `N` bytes.
    fn scalar<const N: usize>(&self, id: usize, what: &'static str) -> Result<Option<[u8; N]>, ReadError> {
        self.field(id, what)?.map(|p| bytes::<N>(self.buf, p, what)).transpose()
    }

    pub(crate) fn u8(&self, id: usize, default: u8, what: &'static str) -> Result<u8, ReadError> {
        Ok(self.scalar::<1>(id, what)?.map(|b| b[0]).unwrap_or(default))
    }

    pub(crate) fn i8(&self, id: usize, default: i8, what: &'static str) -> Result<i8, ReadError> {
        Ok(self.scalar::<1>(id, what)?.map(|b| b[0] as i8).unwrap_or(default))
    }

    pub(crate) fn bool(&self, id: usize, what: &'static str) -> Result<bool, ReadError> {
        Ok(self.u8(id, 0, what)? != 0)
    }

    pub(crate) fn i32(&self, id: usize, default: i32, what: &'static str) -> Result<i32, ReadError> {
        Ok(self.scalar::<4>(id, what)?.map(i32::from_le_bytes).unwrap_or(default))
    }

    pub(crate) fn u32(&self, id: usize, default: u32, what: &'static str) -> Result<u32, ReadError> {
        Ok(self.scalar::<4>(id, what)?.map(u32::from_le_bytes).unwrap_or(default))
    }

    pub(crate) fn u64(&self, id: usize, default: u64, what: &'static str) -> Result<u64, ReadError> {
        Ok(self.scalar::<8>(id, what)?.map(u64::from_le_bytes).unwrap_or(default))
    }

    pub(crate) fn f32(&self, id: usize, default: f32, what: &'static str) -> Result<f32, ReadError> {
        Ok(self.scalar::<4>(id, what)?.map(f32::from_le_bytes).unwrap_or(default))
    }

    /// A sub-table field.
    pub(crate) fn table(&self, id: usize, what: &'static str) -> Result<Option<Table<'a>>, ReadError> {
        match self.field(id, what)? {
            Some(p) => Ok(Some(Table::at(self.buf, follow(self.buf, p, what)?, what)?)),
            None => Ok(None),
        }
    }

    /// A vector field: (position of the first element, length).
    fn vector(&self, id: usize, elem: usize, what: &'static str) -> Result<Option<(usize, usize)>, ReadError> {
        let Some(p) = self.field(id, what)? else { return Ok(None) };
        let start = follow(self.buf, p, what)?;
        let len = read_u32(self.buf, start, what)? as usize;
        let body = start + 4;
        let end = len.checked_mul(elem).and_then(|n| n.checked_add(body));
        match end {
            Some(end) if end <= self.buf.len() => Ok(Some((body, len))),
            _ => Err(ReadError::Truncated { what, offset: start }),
        }
    }

    /// A `[ubyte]` field, borrowed.
    pub(crate) fn bytes(&self, id: usize, what: &'static str) -> Result<Option<&'a [u8]>, ReadError> {
        Ok(self.vector(id, 1, what)?.map(|(body, len)| &self.buf[body..body + len]))
    }

    /// A string field, borrowed (invalid UTF-8 is an error).
    pub(crate) fn str(&self, id: usize, what: &'static str) -> Result<Option<&'a str>, ReadError> {
        match self.bytes(id, what)? {
            Some(b) => std::str::from_utf8(b).map(Some).map_err(|_| ReadError::BadString { what }),
            None => Ok(None),
        }
    }

    /// A vector of 4-byte scalars decoded with `decode`.
    fn vec4<T>(&self, id: usize, what: &'static str, decode: fn([u8; 4]) -> T) -> Result<Vec<T>, ReadError> {
        let Some((body, len)) = self.vector(id, 4, what)? else { return Ok(Vec::new()) };
        (0..len).map(|i| bytes::<4>(self.buf, body + 4 * i, what).map(decode)).collect()
    }

    pub(crate) fn vec_i32(&self, id: usize, what: &'static str) -> Result<Vec<i32>, ReadError> {
        self.vec4(id, what, i32::from_le_bytes)
    }

    pub(crate) fn vec_f32(&self, id: usize, what: &'static str) -> Result<Vec<f32>, ReadError> {
        self.vec4(id, what, f32::from_le_bytes)
    }

    pub(crate) fn vec_i64(&self, id: usize, what: &'static str) -> Result<Vec<i64>, ReadError> {
        let Some((body, len)) = self.vector(id, 8, what)? else { return Ok(Vec::new()) };
        (0..len).map(|i| bytes::<8>(self.buf, body + 8 * i, what).map(i64::from_le_bytes)).collect()
    }

    /// A vector of tables.
    pub(crate) fn tables(&self, id: usize, what: &'static str) -> Result<Vec<Table<'a>>, ReadError> {
        let Some((body, len)) = self.vector(id, 4, what)? else { return Ok(Vec::new()) };
        (0..len).map(|i| Table::at(self.buf, follow(self.buf, body + 4 * i, what)?, what)).collect()
    }
}
