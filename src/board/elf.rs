//! Just enough of ELF32 (little-endian, as Arm firmware is) to read section sizes and symbol addresses.

use std::collections::BTreeMap;

/// A parsed ELF32 file: allocated sections by name, and symbols by name.
#[derive(Debug, Clone, Default)]
pub struct Elf {
    /// Size in bytes of every section, by name.
    pub sections: BTreeMap<String, u64>,
    /// Value of every named symbol (for Thumb functions, the address with bit 0 set).
    pub symbols: BTreeMap<String, u64>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn name_at(strtab: &[u8], at: usize) -> String {
    let bytes = strtab.get(at..).unwrap_or(&[]);
    let end = bytes.iter().position(|&c| c == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

struct Header {
    name: u32,
    kind: u32,
    offset: usize,
    size: usize,
    link: usize,
    entry_size: usize,
}

/// Parse `bytes` as an ELF32 little-endian file; `None` if it is not one or is truncated.
pub fn parse(bytes: &[u8]) -> Option<Elf> {
    if bytes.get(0..4)? != b"\x7fELF" || *bytes.get(4)? != 1 || *bytes.get(5)? != 1 {
        return None;
    }
    let shoff = u32_at(bytes, 0x20)? as usize;
    let shentsize = u16_at(bytes, 0x2E)? as usize;
    let shnum = u16_at(bytes, 0x30)? as usize;
    let shstrndx = u16_at(bytes, 0x32)? as usize;
    let headers: Vec<Header> = (0..shnum)
        .map(|i| {
            let at = shoff + i * shentsize;
            Some(Header {
                name: u32_at(bytes, at)?,
                kind: u32_at(bytes, at + 4)?,
                offset: u32_at(bytes, at + 16)? as usize,
                size: u32_at(bytes, at + 20)? as usize,
                link: u32_at(bytes, at + 24)? as usize,
                entry_size: u32_at(bytes, at + 36)? as usize,
            })
        })
        .collect::<Option<_>>()?;
    let data = |h: &Header| bytes.get(h.offset..h.offset + h.size);
    let shstr = data(headers.get(shstrndx)?)?;
    let mut elf = Elf::default();
    for h in &headers {
        elf.sections.insert(name_at(shstr, h.name as usize), h.size as u64);
        const SYMTAB: u32 = 2;
        if h.kind == SYMTAB && h.entry_size >= 16 {
            let strtab = data(headers.get(h.link)?)?;
            let table = data(h)?;
            for entry in table.chunks_exact(h.entry_size) {
                let name = name_at(strtab, u32_at(entry, 0)? as usize);
                if !name.is_empty() {
                    elf.symbols.insert(name, u32_at(entry, 4)? as u64);
                }
            }
        }
    }
    Some(elf)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rejects_what_is_not_elf32() {
        assert!(super::parse(b"not an elf file at all, just text").is_none());
        assert!(super::parse(b"\x7fELF\x02\x01").is_none());
    }
}
