//! The timing model: cycles per instruction class per core, from `datasets/boards/timing.json` (embedded at
//! build time; sources and assumptions in the README there). Estimated cycles of a segment = the sum over the
//! plugin's columns of count x cycles, times the core's issue factor.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::BoardError;

const TIMING_JSON: &str = include_str!("../../datasets/boards/timing.json");

/// The cycle costs of one core.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CoreTiming {
    /// A factor applied to the sum (below 1 for a dual-issue core).
    pub issue_factor: f64,
    /// Cycles per count of each column of the plugin's output (instruction classes, registers moved, branch
    /// outcomes).
    pub cycles: BTreeMap<String, f64>,
}

#[derive(Debug, Deserialize)]
struct File {
    cores: BTreeMap<String, CoreTiming>,
}

/// The timing of `core` (e.g. `cortex-m4`).
pub fn core_timing(core: &str) -> Result<CoreTiming, BoardError> {
    let file: File =
        serde_json::from_str(TIMING_JSON).map_err(|e| BoardError::Data(format!("datasets/boards/timing.json: {e}")))?;
    file.cores.get(core).cloned().ok_or_else(|| BoardError::Data(format!("no timing for core `{core}`")))
}

impl CoreTiming {
    /// Estimated cycles of a segment's counts (column name to count). Every column must have a cost.
    pub fn cycles(&self, counts: &BTreeMap<String, u64>) -> Result<f64, BoardError> {
        let mut sum = 0.0;
        for (class, &n) in counts {
            let cost = self
                .cycles
                .get(class)
                .ok_or_else(|| BoardError::Data(format!("the timing model has no cost for class `{class}`")))?;
            sum += cost * n as f64;
        }
        Ok(sum * self.issue_factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_of_the_boards_has_a_timing_and_costs_add_up() {
        for board in super::super::profiles::boards().unwrap() {
            let t = core_timing(&board.core).unwrap();
            assert!(t.issue_factor > 0.0 && t.issue_factor <= 1.0);
        }
        let m4 = core_timing("cortex-m4").unwrap();
        let counts: BTreeMap<String, u64> = [
            ("load".to_owned(), 3),
            ("load_pipelined".to_owned(), 2),
            ("ldm".to_owned(), 1),
            ("ldm_regs".to_owned(), 4),
        ]
        .into_iter()
        .collect();
        // LDR 2 cycles, pipelined LDR 1, LDM 1 + N: 3*2 + 2*1 + (1 + 4).
        assert_eq!(m4.cycles(&counts).unwrap(), 13.0);
        let unknown: BTreeMap<String, u64> = [("teleport".to_owned(), 1)].into_iter().collect();
        assert!(m4.cycles(&unknown).is_err());
    }
}
