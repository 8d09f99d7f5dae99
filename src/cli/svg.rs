//! Writing layout pictures for `arenaplan plan --svg` and `arenaplan compare --svg`.

use std::path::Path;

use arenaplan_planner::export::svg::{layout_svg, Panel};
use arenaplan_planner::Plan;

use super::export::write_atomically;

/// Draw `plans` (side by side when several, on one address scale) under `heading` into `path`.
pub fn write_layout(path: &Path, heading: &str, plans: &[&Plan]) -> anyhow::Result<()> {
    let panels: Vec<Panel<'_>> = plans.iter().map(|plan| Panel { title: &plan.meta.strategy, plan }).collect();
    write_atomically(path, layout_svg(heading, &panels).as_bytes())?;
    errln!("layout of {} plan(s) drawn to {}", plans.len(), path.display());
    Ok(())
}
