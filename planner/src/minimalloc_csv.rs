//! MiniMalloc's CSV format for allocation instances and solutions.
//!
//! Header `id,lower,upper,size`, optionally `alignment` and (for solutions) `offset` columns, in any order.
//! Lifetimes are half-open `[lower, upper)`. Reading and writing this format lets anyone run our packers on
//! public instances, and public solvers on ours.

use std::fmt::Write as _;

use std::collections::HashMap;

use crate::limits::{check, LimitError, Limits};
use crate::problem::{Buffer, BufferProblem};

/// A malformed CSV instance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    /// The header lacks a required column.
    #[error("CSV header lacks the `{0}` column (need id,lower,upper,size)")]
    MissingColumn(&'static str),
    /// The file is empty.
    #[error("CSV instance is empty (no header line)")]
    Empty,
    /// A line has the wrong number of fields.
    #[error("CSV line {line}: expected {expected} fields, found {found}")]
    FieldCount {
        /// 1-based line number.
        line: usize,
        /// Fields in the header.
        expected: usize,
        /// Fields on the line.
        found: usize,
    },
    /// A field is not a non-negative integer.
    #[error("CSV line {line}: `{column}` is not a non-negative integer: `{value}`")]
    BadNumber {
        /// 1-based line number.
        line: usize,
        /// The column name.
        column: &'static str,
        /// The text found.
        value: String,
    },
    /// An empty lifetime (`upper <= lower`), or an alignment that is 0 or not a power of two.
    #[error("CSV line {line}: {what}")]
    BadBuffer {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// Two lines have the same `id`.
    #[error("CSV line {line}: id `{id}` was already used on line {first_line}")]
    DuplicateId {
        /// 1-based line number of the second use.
        line: usize,
        /// The id.
        id: String,
        /// 1-based line number of the first use.
        first_line: usize,
    },
    /// A value exceeds a resource limit of [`crate::limits`].
    #[error("CSV line {line}: {source}")]
    Limit {
        /// 1-based line number.
        line: usize,
        /// The limit exceeded.
        source: LimitError,
    },
}

/// An instance read from CSV, with the offsets when the file was a solution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvInstance {
    /// The problem (buffer names are the `id` column).
    pub problem: BufferProblem,
    /// One offset per buffer, when the file has an `offset` column.
    pub offsets: Option<Vec<u64>>,
}

/// Parse a MiniMalloc CSV instance or solution.
///
/// Strict: ids must be unique, lifetimes non-empty (`lower < upper <= u32::MAX`), alignments powers of two
/// (1 when the column is absent), and sizes, alignments and the number of buffers within [`crate::limits`].
/// A UTF-8 byte-order mark before the header is skipped.
pub fn read_csv(text: &str) -> Result<CsvInstance, CsvError> {
    read_csv_within(text, &Limits::default())
}

/// [`read_csv`] under the resource limits `limits` (raised by a user; the packers refuse limits above
/// [`Limits::CEILING`](crate::limits::Limits::CEILING)).
pub fn read_csv_within(text: &str, limits: &Limits) -> Result<CsvInstance, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or(CsvError::Empty)?;
    let columns: Vec<&str> = header.split(',').map(str::trim).collect();
    let find = |name: &'static str| columns.iter().position(|c| *c == name);
    let need = |name: &'static str| find(name).ok_or(CsvError::MissingColumn(name));
    let (id_col, lower_col, upper_col, size_col) = (need("id")?, need("lower")?, need("upper")?, need("size")?);
    let (align_col, offset_col) = (find("alignment"), find("offset"));

    let mut buffers = Vec::new();
    let mut offsets = Vec::new();
    let mut first_line_of: HashMap<&str, usize> = HashMap::new();
    for (index, line) in lines {
        let line_no = index + 1;
        let limit = |source| CsvError::Limit { line: line_no, source };
        check(|| "the number of buffers".to_owned(), buffers.len() as u64 + 1, limits.buffers, "MAX_BUFFERS")
            .map_err(limit)?;
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != columns.len() {
            return Err(CsvError::FieldCount { line: line_no, expected: columns.len(), found: fields.len() });
        }
        let number = |col: usize, column: &'static str| {
            fields[col].parse::<u64>().map_err(|_| CsvError::BadNumber {
                line: line_no,
                column,
                value: fields[col].to_owned(),
            })
        };
        let lower = number(lower_col, "lower")?;
        let upper = number(upper_col, "upper")?;
        let size_bytes = number(size_col, "size")?;
        let align_bytes = match align_col {
            Some(col) => number(col, "alignment")?,
            None => 1,
        };
        if upper <= lower || upper > u32::MAX as u64 {
            return Err(CsvError::BadBuffer {
                line: line_no,
                what: format!("lifetime [{lower}, {upper}) is not valid (need lower < upper <= {})", u32::MAX),
            });
        }
        check(
            || format!("size of `{}`", fields[id_col]),
            size_bytes,
            limits.instance_buffer_bytes,
            "MAX_INSTANCE_BUFFER_BYTES",
        )
        .map_err(limit)?;
        check(|| format!("alignment of `{}`", fields[id_col]), align_bytes, limits.align_bytes, "MAX_ALIGN_BYTES")
            .map_err(limit)?;
        if !align_bytes.is_power_of_two() {
            return Err(CsvError::BadBuffer {
                line: line_no,
                what: format!("alignment {align_bytes} is not a power of two"),
            });
        }
        if let Some(&first_line) = first_line_of.get(fields[id_col]) {
            return Err(CsvError::DuplicateId { line: line_no, id: fields[id_col].to_owned(), first_line });
        }
        first_line_of.insert(fields[id_col], line_no);
        if let Some(col) = offset_col {
            offsets.push(number(col, "offset")?);
        }
        buffers.push(Buffer::instance(fields[id_col], size_bytes, align_bytes, lower as u32..upper as u32));
    }
    Ok(CsvInstance { problem: BufferProblem::new(buffers), offsets: offset_col.map(|_| offsets) })
}

/// Write a problem (and, when given, a solution's offsets) in MiniMalloc's CSV format.
///
/// The `id` column holds the buffer names when all are non-empty, unique and comma-free, else the indices.
pub fn write_csv(problem: &BufferProblem, offsets: Option<&[u64]>) -> String {
    let names_usable = {
        let mut seen = std::collections::BTreeSet::new();
        problem.buffers.iter().all(|b| !b.name.is_empty() && !b.name.contains([',', '\n']) && seen.insert(&b.name))
    };
    let with_alignment = problem.buffers.iter().any(|b| b.align_bytes > 1);
    let mut out = String::from("id,lower,upper,size");
    if with_alignment {
        out.push_str(",alignment");
    }
    if offsets.is_some() {
        out.push_str(",offset");
    }
    out.push('\n');
    for (i, b) in problem.buffers.iter().enumerate() {
        if names_usable {
            out.push_str(&b.name);
        } else {
            write!(out, "{i}").unwrap();
        }
        write!(out, ",{},{},{}", b.live.start, b.live.end, b.size_bytes).unwrap();
        if with_alignment {
            write!(out, ",{}", b.align_bytes).unwrap();
        }
        if let Some(offsets) = offsets {
            write!(out, ",{}", offsets.get(i).copied().unwrap_or(0)).unwrap();
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_problem_and_solution() {
        let text = "id,lower,upper,size,offset\nb0,0,2,16,0\nb1,1,3,32,16\n";
        let inst = read_csv(text).unwrap();
        assert_eq!(inst.problem.buffers.len(), 2);
        assert_eq!(inst.problem.buffers[1].live, 1..3);
        assert_eq!(inst.problem.buffers[1].size_bytes, 32);
        assert_eq!(inst.offsets, Some(vec![0, 16]));
        assert_eq!(write_csv(&inst.problem, inst.offsets.as_deref()), text);
    }

    #[test]
    fn columns_may_come_in_any_order() {
        let inst = read_csv("size,id,upper,lower\n8,x,5,3\n").unwrap();
        assert_eq!(inst.problem.buffers[0].live, 3..5);
        assert_eq!(inst.problem.buffers[0].size_bytes, 8);
        assert_eq!(inst.offsets, None);
    }

    #[test]
    fn malformed_lines_are_errors_naming_the_line() {
        assert_eq!(read_csv(""), Err(CsvError::Empty));
        assert_eq!(read_csv("id,lower,size\n"), Err(CsvError::MissingColumn("upper")));
        assert!(matches!(read_csv("id,lower,upper,size\n0,1,2\n"), Err(CsvError::FieldCount { line: 2, .. })));
        assert!(matches!(
            read_csv("id,lower,upper,size\n0,1,2,-4\n"),
            Err(CsvError::BadNumber { line: 2, column: "size", .. })
        ));
        assert!(matches!(read_csv("id,lower,upper,size\n0,3,2,4\n"), Err(CsvError::BadBuffer { line: 2, .. })));
    }

    #[test]
    fn duplicate_ids_are_refused() {
        assert_eq!(
            read_csv("id,lower,upper,size\na,0,2,16\nb,1,3,16\na,2,4,16\n"),
            Err(CsvError::DuplicateId { line: 4, id: "a".to_owned(), first_line: 2 })
        );
    }

    #[test]
    fn empty_lifetimes_are_refused() {
        assert!(matches!(read_csv("id,lower,upper,size\na,3,3,16\n"), Err(CsvError::BadBuffer { line: 2, .. })));
        assert!(read_csv("id,lower,upper,size\na,3,4,16\n").is_ok());
    }

    #[test]
    fn alignment_zero_is_refused() {
        assert!(matches!(
            read_csv("id,lower,upper,size,alignment\na,0,1,16,0\n"),
            Err(CsvError::BadBuffer { line: 2, .. })
        ));
        assert!(matches!(
            read_csv("id,lower,upper,size,alignment\na,0,1,16,3\n"),
            Err(CsvError::BadBuffer { line: 2, .. })
        ));
    }

    #[test]
    fn a_byte_order_mark_before_the_header_is_skipped() {
        let inst = read_csv("\u{feff}id,lower,upper,size\na,0,2,16\n").unwrap();
        assert_eq!(inst.problem.buffers.len(), 1);
        assert_eq!(inst.problem.buffers[0].name, "a");
    }

    #[test]
    fn sizes_are_bounded_at_the_door() {
        let huge = format!("id,lower,upper,size\na,0,2,{}\nb,0,2,{}\n", u64::MAX, u64::MAX);
        match read_csv(&huge) {
            Err(CsvError::Limit { line: 2, source }) => assert_eq!(source.name, "MAX_INSTANCE_BUFFER_BYTES"),
            other => panic!("expected a limit error, got {other:?}"),
        }
        let wide_align = "id,lower,upper,size,alignment\na,0,2,16,4294967296\n";
        assert!(matches!(read_csv(wide_align), Err(CsvError::Limit { line: 2, .. })));
        let mut many = String::from("id,lower,upper,size\n");
        (0..=crate::limits::MAX_BUFFERS).for_each(|i| many.push_str(&format!("b{i},{i},{},16\n", i + 1)));
        match read_csv(&many) {
            Err(CsvError::Limit { source, .. }) => assert_eq!(source.name, "MAX_BUFFERS"),
            other => panic!("expected the buffer-count limit, got {other:?}"),
        }
    }
}
