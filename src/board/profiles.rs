//! Board profiles and emulated machines, read from `datasets/boards/boards.json` (embedded at build time).

use serde::Deserialize;

use super::BoardError;

/// The profiles file, as committed.
const BOARDS_JSON: &str = include_str!("../../datasets/boards/boards.json");

/// A QEMU machine the firmware runs on, and how firmware is built for it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Machine {
    /// The core it emulates (a key of the timing model).
    pub core: String,
    /// `-machine` of `qemu-system-arm`.
    pub qemu_machine: String,
    /// `-cpu` of `qemu-system-arm`.
    pub qemu_cpu: String,
    /// The Rust target triple of its firmware.
    pub rust_target: String,
    /// `-C target-cpu` of its firmware.
    pub target_cpu: String,
}

/// A real or emulated board: its core, clock and memories, and the machine its code is counted on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Board {
    /// The name `--board` takes.
    pub name: String,
    /// What it is.
    pub description: String,
    /// The core (a key of the timing model).
    pub core: String,
    /// Core clock in hertz.
    pub clock_hz: u64,
    /// Flash (code and constants) in bytes.
    pub flash_bytes: u64,
    /// RAM the firmware may use, in bytes (see `ram_counted`).
    pub ram_bytes: u64,
    /// Which RAM `ram_bytes` counts.
    pub ram_counted: String,
    /// The emulated machine its instructions are counted on (a key of `machines`).
    pub machine: String,
}

#[derive(Debug, Deserialize)]
struct File {
    machines: std::collections::BTreeMap<String, Machine>,
    boards: Vec<Board>,
}

fn file() -> Result<File, BoardError> {
    serde_json::from_str(BOARDS_JSON).map_err(|e| BoardError::Data(format!("datasets/boards/boards.json: {e}")))
}

/// Every board of the profiles file, in file order.
pub fn boards() -> Result<Vec<Board>, BoardError> {
    Ok(file()?.boards)
}

/// The board named `name` and the machine it is counted on.
pub fn board(name: &str) -> Result<(Board, Machine), BoardError> {
    let file = file()?;
    let Some(board) = file.boards.iter().find(|b| b.name == name).cloned() else {
        let names: Vec<&str> = file.boards.iter().map(|b| b.name.as_str()).collect();
        return Err(BoardError::UnknownBoard { name: name.to_owned(), known: names.join(", ") });
    };
    let machine = file
        .machines
        .get(&board.machine)
        .cloned()
        .ok_or_else(|| BoardError::Data(format!("board `{name}` names an unknown machine `{}`", board.machine)))?;
    if machine.core != board.core {
        return Err(BoardError::Data(format!(
            "board `{name}` has a {} but is counted on {}, a {}",
            board.core, board.machine, machine.core
        )));
    }
    Ok((board, machine))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_board_resolves_to_a_machine_of_its_core() {
        let all = boards().unwrap();
        assert!(all.len() >= 7);
        for b in &all {
            let (board, machine) = board(&b.name).unwrap();
            assert_eq!(board.core, machine.core);
            assert!(board.clock_hz > 0 && board.flash_bytes > 0 && board.ram_bytes > 0);
        }
        assert!(matches!(board("no-such-board"), Err(BoardError::UnknownBoard { .. })));
    }
}
