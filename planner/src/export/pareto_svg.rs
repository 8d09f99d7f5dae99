//! The picture of a latency-RAM front: arena bytes across, estimated cycles up, one dot per point, the front
//! joined by a staircase, the chosen point ringed.

use svg::node::element::path::Data;
use svg::node::element::{Circle, Group, Line, Path, Text, Title};
use svg::Document;

use super::svg::thousands;

/// One point to draw.
#[derive(Debug, Clone)]
pub struct FrontPoint {
    /// Arena bytes.
    pub arena_bytes: u64,
    /// Estimated cycles.
    pub cycles: u64,
    /// What the point is (shown as a tooltip and beside the dot).
    pub label: String,
}

const W: f64 = 720.0;
const H: f64 = 440.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;

/// An axis from 0 to a round value above `max`: (end, tick step).
fn axis(max: f64) -> (f64, f64) {
    let max = max.max(1.0);
    let magnitude = 10f64.powf(max.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude / 2.0).find(|s| max / s <= 8.0).unwrap_or(magnitude);
    ((max / step).ceil() * step, step)
}

/// The SVG of `points` (the front, by increasing arena) with `chosen` ringed, under `heading`; cycles are
/// shown in millions.
pub fn front_svg(heading: &str, points: &[FrontPoint], chosen: Option<usize>) -> String {
    let (x_end, x_step) = axis(points.iter().map(|p| p.arena_bytes).max().unwrap_or(1) as f64);
    let (y_end, y_step) = axis(points.iter().map(|p| p.cycles).max().unwrap_or(1) as f64);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x = |bytes: u64| LEFT + bytes as f64 / x_end * plot_w;
    let y = |cycles: u64| TOP + plot_h - cycles as f64 / y_end * plot_h;
    let text = |x: f64, y: f64, anchor: &str, content: String| {
        Text::new(content).set("x", x).set("y", y).set("font-size", 11).set("text-anchor", anchor)
    };

    let mut doc = Document::new()
        .set("viewBox", (0, 0, W, H))
        .set("width", W)
        .set("height", H)
        .set("font-family", "sans-serif")
        .add(text(W / 2.0, 24.0, "middle", heading.to_owned()).set("font-size", 14));
    let mut axes = Group::new().set("stroke", "#999").set("stroke-width", 0.5);
    let mut labels = Group::new();
    let mut tick = 0.0;
    while tick <= x_end + 0.5 {
        let px = LEFT + tick / x_end * plot_w;
        axes = axes.add(Line::new().set("x1", px).set("x2", px).set("y1", TOP).set("y2", TOP + plot_h));
        labels = labels.add(text(px, TOP + plot_h + 16.0, "middle", thousands(tick as u64)));
        tick += x_step;
    }
    let mut tick = 0.0;
    while tick <= y_end + 0.5 {
        let py = TOP + plot_h - tick / y_end * plot_h;
        axes = axes.add(Line::new().set("x1", LEFT).set("x2", LEFT + plot_w).set("y1", py).set("y2", py));
        labels = labels.add(text(LEFT - 6.0, py + 4.0, "end", format!("{:.1}", tick / 1e6)));
        tick += y_step;
    }
    labels = labels.add(text(LEFT + plot_w / 2.0, H - 18.0, "middle", "arena bytes".to_owned())).add(
        text(18.0, TOP + plot_h / 2.0, "middle", "estimated cycles (millions)".to_owned())
            .set("transform", format!("rotate(-90 18 {})", TOP + plot_h / 2.0)),
    );
    doc = doc.add(axes).add(labels);

    if let Some(first) = points.first() {
        let mut data = Data::new().move_to((x(first.arena_bytes), y(first.cycles)));
        for pair in points.windows(2) {
            data = data
                .line_to((x(pair[1].arena_bytes), y(pair[0].cycles)))
                .line_to((x(pair[1].arena_bytes), y(pair[1].cycles)));
        }
        doc = doc.add(Path::new().set("d", data).set("fill", "none").set("stroke", "#4477aa").set("stroke-width", 1.5));
    }
    for (i, p) in points.iter().enumerate() {
        let tooltip = format!("{}: {} B, {} cycles", p.label, thousands(p.arena_bytes), thousands(p.cycles));
        let dot = Circle::new()
            .set("cx", x(p.arena_bytes))
            .set("cy", y(p.cycles))
            .set("r", 4)
            .set("fill", "#4477aa")
            .add(Title::new(tooltip));
        doc = doc.add(dot);
        if chosen == Some(i) {
            doc = doc.add(
                Circle::new()
                    .set("cx", x(p.arena_bytes))
                    .set("cy", y(p.cycles))
                    .set("r", 8)
                    .set("fill", "none")
                    .set("stroke", "#cc3311")
                    .set("stroke-width", 2),
            );
        }
    }
    doc.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_point_is_drawn_and_the_chosen_one_ringed() {
        let points = vec![
            FrontPoint { arena_bytes: 20_000, cycles: 9_000_000, label: "a".into() },
            FrontPoint { arena_bytes: 30_000, cycles: 4_000_000, label: "b".into() },
            FrontPoint { arena_bytes: 50_000, cycles: 3_000_000, label: "c".into() },
        ];
        let svg = front_svg("m", &points, Some(1));
        assert_eq!(svg.matches("<circle").count(), 4, "three dots and one ring");
        assert!(svg.contains("30,000 B"), "tooltips carry the figures");
        assert!(svg.contains("#cc3311"));
    }

    #[test]
    fn axes_end_on_round_values_above_the_data() {
        for max in [1.0, 7.0, 96_000.0, 12_345_678.0] {
            let (end, step) = axis(max);
            assert!(end >= max && end / step <= 8.0 + 1e-9, "{max}: {end} {step}");
        }
    }
}
