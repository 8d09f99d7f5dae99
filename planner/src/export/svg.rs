//! Pictures of plans: schedule steps across, arena addresses up, one rectangle per buffer.
//!
//! Each buffer is drawn over its half-open lifetime and its address range, labelled with its (shortened) name
//! where the label fits inside it (a tooltip always carries the full name, size, offset and lifetime); tensors
//! are coloured, scratch buffers grey and dashed. The lower bound is a dashed red line, the arena a solid black
//! one. Several plans side by side ([`layout_svg`] with several panels) share one address scale, so heights
//! compare directly.

use std::fmt::Write as _;

use svg::node::element::{Group, Line, Rectangle, Text, Title};
use svg::Document;

use crate::plan::{gap_percent, Plan};
use crate::problem::BufferOrigin;

/// One plan to draw, with its heading (e.g. the strategy's name).
#[derive(Debug, Clone, Copy)]
pub struct Panel<'a> {
    /// The heading above the panel.
    pub title: &'a str,
    /// The plan.
    pub plan: &'a Plan,
}

const FONT: f64 = 10.0;
/// Width of one character of the 10 px sans-serif labels, rounded up (for fitting labels).
const CHAR_W: f64 = 6.2;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 100.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 44.0;
const PLOT_H: f64 = 520.0;

/// `96000` -> `96,000`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A short label for a tensor name: the layer it comes from. Converters name tensors `model/layer/op/..`, with
/// fused ops joined by `;`: keep the part before the first `;`, then its second `/`-separated part when there
/// are three or more (`mobilenet/block_1_expand_relu/Relu6` -> `block_1_expand_relu`), else its first.
pub fn short_name(name: &str) -> String {
    let first = name.split(';').next().unwrap_or(name);
    let parts: Vec<&str> = first.split('/').filter(|p| !p.is_empty()).collect();
    match parts.len() {
        0 => first.to_owned(),
        1 | 2 => parts[0].to_owned(),
        _ => parts[1].to_owned(),
    }
}

/// A byte count for an axis: `48 KiB` or `512 B`.
fn bytes_label(value: u64) -> String {
    if value >= 1024 && value % 1024 == 0 {
        format!("{} KiB", value / 1024)
    } else {
        format!("{value} B")
    }
}

/// The smallest power of two (bytes) that cuts `0..max` into at most 10 ticks.
fn tick_step(max: u64) -> u64 {
    let mut step = 1u64;
    while max / step > 10 {
        step *= 2;
    }
    step
}

/// The smallest 1-2-5 step that cuts `0..steps` into at most 16 ticks.
fn step_tick(steps: u32) -> u32 {
    let mut base = 1u32;
    loop {
        for m in [1, 2, 5] {
            if steps / (base * m) <= 16 {
                return base * m;
            }
        }
        base *= 10;
    }
}

/// A fill colour per buffer: hues by the golden angle, light enough for black labels.
fn fill(index: usize) -> String {
    let hue = (index as f64 * 137.508) % 360.0;
    format!("hsl({hue:.0},65%,72%)")
}

fn text(content: impl Into<String>, x: f64, y: f64) -> Text {
    Text::new(content).set("x", round(x)).set("y", round(y))
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Draw one or more plans side by side, sharing one address scale, under a heading. Returns SVG text.
pub fn layout_svg(heading: &str, panels: &[Panel<'_>]) -> String {
    let single = panels.len() <= 1;
    let plot_w = if single { 900.0 } else { 420.0 };
    let panel_w = LEFT + plot_w + RIGHT;
    let header = 28.0;
    let width = panel_w * panels.len().max(1) as f64;
    let height = header + TOP + PLOT_H + BOTTOM + 22.0;
    let top_bytes = panels.iter().map(|p| p.plan.arena_bytes.max(p.plan.meta.lower_bound_bytes)).max().unwrap_or(0);
    let scale_max = (top_bytes as f64 * 1.04).max(1.0);

    let mut doc = Document::new()
        .set("viewBox", (0, 0, width, height))
        .set("width", width)
        .set("height", height)
        .set("font-family", "DejaVu Sans, Arial, sans-serif")
        .set("font-size", FONT)
        .add(Rectangle::new().set("width", "100%").set("height", "100%").set("fill", "white"))
        .add(text(heading, 10.0, 20.0).set("font-size", 15).set("font-weight", "bold"));
    // Legend, top right.
    let legend_x = width - 330.0;
    doc = doc
        .add(Rectangle::new().set("x", legend_x).set("y", 9).set("width", 14).set("height", 10).set("fill", fill(3)))
        .add(text("tensor", legend_x + 18.0, 18.0))
        .add(
            Rectangle::new()
                .set("x", legend_x + 64.0)
                .set("y", 9)
                .set("width", 14)
                .set("height", 10)
                .set("fill", "#d9d9d9")
                .set("stroke", "#555")
                .set("stroke-dasharray", "3,2"),
        )
        .add(text("scratch", legend_x + 82.0, 18.0))
        .add(line(legend_x + 134.0, 14.0, legend_x + 154.0, 14.0, "#c0392b", true))
        .add(text("lower bound", legend_x + 158.0, 18.0))
        .add(line(legend_x + 230.0, 14.0, legend_x + 250.0, 14.0, "black", false))
        .add(text("arena", legend_x + 254.0, 18.0));

    for (k, panel) in panels.iter().enumerate() {
        let g = draw_panel(panel, plot_w, scale_max)
            .set("transform", format!("translate({},{header})", k as f64 * panel_w));
        doc = doc.add(g);
    }
    let mut out = String::new();
    write!(out, "{doc}").expect("writing to a String");
    out.push('\n');
    out
}

fn line(x1: f64, y1: f64, x2: f64, y2: f64, colour: &str, dashed: bool) -> Line {
    let l = Line::new()
        .set("x1", round(x1))
        .set("y1", round(y1))
        .set("x2", round(x2))
        .set("y2", round(y2))
        .set("stroke", colour)
        .set("stroke-width", 1.5);
    if dashed {
        l.set("stroke-dasharray", "6,4")
    } else {
        l
    }
}

fn draw_panel(panel: &Panel<'_>, plot_w: f64, scale_max: f64) -> Group {
    let plan = panel.plan;
    let problem = &plan.problem;
    let steps = problem.step_count().max(1);
    let col = plot_w / steps as f64;
    let (x0, y0) = (LEFT, TOP + PLOT_H); // origin: step 0, address 0 (bottom left)
    let y_of = |bytes: u64| y0 - bytes as f64 / scale_max * PLOT_H;
    let lb = plan.meta.lower_bound_bytes;

    let mut g = Group::new()
        .add(text(panel.title, LEFT, 16.0).set("font-size", 13).set("font-weight", "bold"))
        .add(text(
            format!(
                "arena {} B, lower bound {} B, gap {:.1}%, {} buffers",
                thousands(plan.arena_bytes),
                thousands(lb),
                gap_percent(plan.arena_bytes, lb),
                problem.buffers.len()
            ),
            LEFT,
            32.0,
        ))
        .add(
            Rectangle::new()
                .set("x", x0)
                .set("y", TOP)
                .set("width", plot_w)
                .set("height", PLOT_H)
                .set("fill", "#fafafa")
                .set("stroke", "#999"),
        );

    // Address ticks and grid.
    let tick = tick_step((scale_max as u64).max(1));
    let mut value = 0u64;
    while (value as f64) <= scale_max {
        let y = y_of(value);
        g = g
            .add(line(x0 - 4.0, y, x0, y, "#333", false).set("stroke-width", 1))
            .add(line(x0, y, x0 + plot_w, y, "#e6e6e6", false).set("stroke-width", 0.5))
            .add(text(bytes_label(value), x0 - 6.0, y + 3.5).set("text-anchor", "end"));
        value += tick;
    }
    // Step ticks, at the middle of each step's column.
    let every = step_tick(steps);
    for s in (0..steps).step_by(every as usize) {
        let x = x0 + (s as f64 + 0.5) * col;
        g = g
            .add(line(x, y0, x, y0 + 4.0, "#333", false).set("stroke-width", 1))
            .add(text(s.to_string(), x, y0 + 15.0).set("text-anchor", "middle"));
    }
    g = g
        .add(
            text("schedule step (0: model inputs; the i-th operator runs at step i + 1)", x0 + plot_w / 2.0, y0 + 32.0)
                .set("text-anchor", "middle"),
        )
        .add(
            text("arena offset", 0.0, 0.0)
                .set("text-anchor", "middle")
                .set("transform", format!("translate(14,{}) rotate(-90)", round(TOP + PLOT_H / 2.0))),
        );

    // Buffers.
    for (i, (b, &offset)) in problem.buffers.iter().zip(&plan.offsets).enumerate() {
        if b.live.is_empty() || b.size_bytes == 0 {
            continue;
        }
        let x = x0 + b.live.start as f64 * col;
        let w = b.live.len() as f64 * col;
        let y = y_of(offset + b.size_bytes);
        let h = y_of(offset) - y;
        let scratch = matches!(b.origin, BufferOrigin::Scratch(_));
        let mut rect = Rectangle::new()
            .set("x", round(x))
            .set("y", round(y))
            .set("width", round(w))
            .set("height", round(h))
            .set("stroke-width", 0.6);
        rect = if scratch {
            rect.set("fill", "#d9d9d9").set("stroke", "#555").set("stroke-dasharray", "3,2")
        } else {
            rect.set("fill", fill(i)).set("stroke", "white")
        };
        let tooltip = format!(
            "{}\n{} B at offset {}, steps [{}, {})",
            b.name,
            thousands(b.size_bytes),
            thousands(offset),
            b.live.start,
            b.live.end
        );
        let mut item = Group::new().add(rect.add(Title::new(tooltip)));
        if let Some(label) = fit_label(&short_name(&b.name), w, h) {
            item = item.add(label.place(x, y, w, h));
        }
        g = g.add(item);
    }

    // Lower bound and arena, labelled in the right margin (nudged apart when close).
    let (y_arena, y_lb) = (y_of(plan.arena_bytes), y_of(lb));
    let (mut ya, mut yl) = (y_arena + 3.5, y_lb + 3.5);
    if (yl - ya).abs() < 2.0 * FONT + 2.0 {
        ya = ya.min(yl) - FONT;
        yl = ya + 2.0 * FONT + 2.0;
    }
    g = g
        .add(line(x0, y_lb, x0 + plot_w, y_lb, "#c0392b", true))
        .add(line(x0, y_arena, x0 + plot_w, y_arena, "black", false))
        .add(text(format!("arena {} B", thousands(plan.arena_bytes)), x0 + plot_w + 6.0, ya))
        .add(text(format!("bound {} B", thousands(lb)), x0 + plot_w + 6.0, yl).set("fill", "#c0392b"));
    g
}

/// A label that fits a rectangle: horizontal, or vertical in a tall narrow one.
struct Label {
    text: String,
    vertical: bool,
}

impl Label {
    fn place(self, x: f64, y: f64, w: f64, h: f64) -> Text {
        let (cx, cy) = (x + w / 2.0, y + h / 2.0);
        let t = Text::new(self.text).set("text-anchor", "middle").set("font-size", FONT);
        if self.vertical {
            t.set("x", 0)
                .set("y", 0)
                .set("transform", format!("translate({},{}) rotate(-90)", round(cx + 3.5), round(cy)))
        } else {
            t.set("x", round(cx)).set("y", round(cy + 3.5))
        }
    }
}

/// The label to draw in a `w` x `h` rectangle: the whole name if it fits, else its head with `…` when at least
/// four characters fit, else none. Horizontal is preferred; tall narrow rectangles get vertical text.
fn fit_label(name: &str, w: f64, h: f64) -> Option<Label> {
    let chars = name.chars().count();
    let fits = |along: f64, across: f64| -> Option<String> {
        if across < FONT + 2.0 {
            return None;
        }
        let room = ((along - 4.0) / CHAR_W).floor().max(0.0) as usize;
        if room >= chars {
            Some(name.to_owned())
        } else if room >= 5 {
            Some(name.chars().take(room - 1).collect::<String>() + "…")
        } else {
            None
        }
    };
    let horizontal = fits(w, h);
    let vertical = fits(h, w);
    match (horizontal, vertical) {
        (Some(hz), Some(vt)) if vt.chars().count() > hz.chars().count() => Some(Label { text: vt, vertical: true }),
        (Some(hz), _) => Some(Label { text: hz, vertical: false }),
        (None, Some(vt)) => Some(Label { text: vt, vertical: true }),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(96000), "96,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn short_names_keep_the_layer_name() {
        assert_eq!(short_name("net/block_1_expand_relu/Relu6;net/block_1_expand_BN/add"), "block_1_expand_relu");
        assert_eq!(short_name("dense/BiasAdd"), "dense");
        assert_eq!(short_name("serving_default_input:0"), "serving_default_input:0");
        assert_eq!(short_name(""), "");
    }

    #[test]
    fn labels_fit_or_are_cut_or_vanish() {
        assert_eq!(fit_label("conv", 100.0, 20.0).unwrap().text, "conv");
        let cut = fit_label("a_rather_long_tensor_name", 60.0, 20.0).unwrap();
        assert!(cut.text.ends_with('…') && cut.text.chars().count() * 6 < 60);
        assert!(fit_label("conv", 10.0, 10.0).is_none());
        assert!(fit_label("a_long_name", 14.0, 200.0).unwrap().vertical);
    }
}
