//! Bar charts as inline SVG: drawn on the server, scaled by the browser
//! (viewBox), readable without colour and, through their title and the
//! table beside them, by screen readers.

use maud::{Markup, html};

const WIDTH: i64 = 640;
const HEIGHT: i64 = 200;
const LEFT: i64 = 64;
const BOTTOM: i64 = 24;
const TOP: i64 = 8;

/// A bar per `(label, value)`; `format` writes a value as people read it
/// (money as a decimal). Negative values (a month of refunds) draw below
/// the zero line.
pub fn bars(
    id: &str,
    title: &str,
    points: &[(String, i128)],
    format: &dyn Fn(i128) -> String,
) -> Markup {
    let max = points.iter().map(|(_, v)| *v).max().unwrap_or(0).max(0);
    let min = points.iter().map(|(_, v)| *v).min().unwrap_or(0).min(0);
    let span = (max - min).max(1);
    let plot_h = HEIGHT - BOTTOM - TOP;
    // y of a value, in whole SVG units (integer maths: no floats for money).
    let y = |v: i128| -> i64 {
        TOP + i64::try_from((max - v) * i128::from(plot_h) / span).unwrap_or(0)
    };
    let n = i64::try_from(points.len()).unwrap_or(1).max(1);
    let slot = (WIDTH - LEFT) / n;
    let bar = (slot * 7 / 10).max(1);
    let zero = y(0);
    // Label every month when they fit, else every k-th.
    let every = usize::try_from((n * 48 / (WIDTH - LEFT)).max(1)).unwrap_or(1);
    let title_id = format!("{id}-title");
    html! {
        figure .chart {
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-labelledby=(title_id) preserveAspectRatio="xMidYMid meet" {
                title id=(title_id) { (title) }
                line x1=(LEFT) y1=(zero) x2=(WIDTH) y2=(zero) class="axis" {}
                text x=(LEFT - 6) y=(TOP + 10) class="tick" text-anchor="end" { (format(max)) }
                text x=(LEFT - 6) y=(zero) class="tick" text-anchor="end" { (format(0)) }
                @if min < 0 {
                    text x=(LEFT - 6) y=(HEIGHT - BOTTOM) class="tick" text-anchor="end" { (format(min)) }
                }
                @for (i, (label, v)) in points.iter().enumerate() {
                    @let x = LEFT + i64::try_from(i).unwrap_or(0) * slot + (slot - bar) / 2;
                    @let (top, h) = if *v >= 0 { (y(*v), zero - y(*v)) } else { (zero, y(*v) - zero) };
                    rect x=(x) y=(top) width=(bar) height=(h.max(if *v == 0 { 0 } else { 1 })) class="bar" {
                        title { (label) ": " (format(*v)) }
                    }
                    @if i % every == 0 {
                        text x=(x + bar / 2) y=(HEIGHT - 6) class="tick" text-anchor="middle" { (label) }
                    }
                }
            }
            figcaption { (title) }
        }
    }
}
