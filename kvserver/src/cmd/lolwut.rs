//! LOLWUT [VERSION v [args...]] (Redis's lolwut.c, lolwut5.c): computer
//! art and the server's version. Client libraries call it in their test
//! suites and look for "Redis ver.". VERSION 5 draws Georg Nees's
//! "Schotter" in Braille characters as Redis 7.0 does (the same canvas,
//! sizes and rendering; its random rotations are ours); every other
//! version, as Redis 7.0's unstable LOLWUT, prints the version only
//! (Redis's VERSION 6 skyline is not drawn here).

use crate::exec::context::Ctx;
use crate::proto::reply::err;
use crate::server::REDIS_VERSION;
use crate::util::{parse_i64, Rng};

/// LOLWUT
pub fn lolwut(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut version = 0;
    if argv.len() >= 3 && argv[1].eq_ignore_ascii_case(b"version") {
        match parse_i64(argv[2]) {
            Some(v) => version = v,
            None => return ctx.out.error(err::NOT_INTEGER),
        }
    }
    if version == 5 {
        return schotter(ctx, &argv[3..]);
    }
    ctx.out.verbatim(&format!("Redis ver. {REDIS_VERSION}\n"));
}

/// LOLWUT VERSION 5 [columns [squares-per-row [squares-per-col]]], with
/// Redis's defaults (66, 8, 12) and limits.
fn schotter(ctx: &mut Ctx, args: &[&[u8]]) {
    let mut dims = [66i64, 8, 12];
    for (d, a) in dims.iter_mut().zip(args) {
        match parse_i64(a) {
            Some(v) => *d = v,
            None => return ctx.out.error(err::NOT_INTEGER),
        }
    }
    let cols = dims[0].clamp(1, 1000) as usize;
    let per_row = dims[1].clamp(1, 200) as usize;
    let per_col = dims[2].clamp(1, 200) as usize;
    let canvas = draw_schotter(cols, per_row, per_col, ctx.rng);
    let mut text = canvas.render();
    text.push_str("\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. ");
    text.push_str(REDIS_VERSION);
    text.push('\n');
    ctx.out.verbatim(&text);
}

/// A 1-bit canvas.
struct Canvas {
    width: i32,
    height: i32,
    pixels: Vec<bool>,
}

impl Canvas {
    fn new(width: i32, height: i32) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![false; (width.max(0) * height.max(0)) as usize],
        }
    }

    fn set(&mut self, x: i32, y: i32) {
        if (0..self.width).contains(&x) && (0..self.height).contains(&y) {
            self.pixels[(y * self.width + x) as usize] = true;
        }
    }

    fn get(&self, x: i32, y: i32) -> bool {
        (0..self.width).contains(&x)
            && (0..self.height).contains(&y)
            && self.pixels[(y * self.width + x) as usize]
    }

    /// Bresenham, as lwDrawLine.
    fn line(&mut self, (mut x1, mut y1): (i32, i32), (x2, y2): (i32, i32)) {
        let (dx, dy) = ((x2 - x1).abs(), (y2 - y1).abs());
        let (sx, sy) = (if x1 < x2 { 1 } else { -1 }, if y1 < y2 { 1 } else { -1 });
        let mut err = dx - dy;
        loop {
            self.set(x1, y1);
            if x1 == x2 && y1 == y2 {
                break;
            }
            let e2 = err * 2;
            if e2 > -dy {
                err -= dy;
                x1 += sx;
            }
            if e2 < dx {
                err += dx;
                y1 += sy;
            }
        }
    }

    /// A square of side `size` centred on (x, y), rotated by `angle`.
    fn square(&mut self, x: i32, y: i32, size: f32, angle: f32) {
        let size = (size / std::f32::consts::SQRT_2).round();
        let mut k = std::f32::consts::FRAC_PI_4 + angle;
        let mut p = [(0, 0); 4];
        for pt in p.iter_mut() {
            *pt = (
                (k.sin() * size + x as f32).round() as i32,
                (k.cos() * size + y as f32).round() as i32,
            );
            k += std::f32::consts::FRAC_PI_2;
        }
        for j in 0..4 {
            self.line(p[j], p[(j + 1) % 4]);
        }
    }

    /// Braille characters, 2x4 pixels each, rows of `width / 2`.
    fn render(&self) -> String {
        let mut text = String::new();
        for y in (0..self.height).step_by(4) {
            for x in (0..self.width).step_by(2) {
                let dots = [
                    (x, y),
                    (x, y + 1),
                    (x, y + 2),
                    (x + 1, y),
                    (x + 1, y + 1),
                    (x + 1, y + 2),
                    (x, y + 3),
                    (x + 1, y + 3),
                ];
                let bits = dots
                    .iter()
                    .enumerate()
                    .filter(|(_, &(px, py))| self.get(px, py))
                    .fold(0u32, |b, (i, _)| b | 1 << i);
                text.push(char::from_u32(0x2800 + bits).unwrap_or(' '));
            }
            if y != self.height - 1 {
                text.push('\n');
            }
        }
        text
    }
}

/// Rows of squares, more and more displaced and rotated going down (Redis's
/// lwDrawSchotter).
fn draw_schotter(cols: usize, per_row: usize, per_col: usize, rng: &mut Rng) -> Canvas {
    let width = cols as i32 * 2;
    let padding = if width > 4 { 2 } else { 0 };
    let side = (width - padding * 2) as f32 / per_row as f32;
    let height = (side * per_col as f32) as i32 + padding * 2;
    let mut canvas = Canvas::new(width, height);
    let mut unit = || (rng.next() >> 11) as f32 / (1u64 << 53) as f32;
    for y in 0..per_col {
        for x in 0..per_row {
            let mut sx = (x as f32 * side + side / 2.0) as i32 + padding;
            let mut sy = (y as f32 * side + side / 2.0) as i32 + padding;
            let mut angle = 0.0;
            if y > 1 {
                let mut r = [0f32; 3];
                for v in r.iter_mut() {
                    *v = unit() / per_col as f32 * y as f32;
                }
                for v in r.iter_mut() {
                    if unit() < 0.5 {
                        *v = -*v;
                    }
                }
                angle = r[0];
                sx = (sx as f32 + r[1] * side / 3.0) as i32;
                sy = (sy as f32 + r[2] * side / 3.0) as i32;
            }
            canvas.square(sx, sy, side, angle);
        }
    }
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schotter_has_redis_sizes() {
        let mut rng = Rng::new(7);
        let c = draw_schotter(66, 8, 12, &mut rng);
        assert_eq!((c.width, c.height), (132, 196));
        let text = c.render();
        // 49 rows of 66 Braille characters, each row ended by a newline.
        assert_eq!(text.lines().count(), 49);
        assert!(text.lines().all(|l| l.chars().count() == 66));
        assert!(c.pixels.iter().any(|&p| p), "squares are drawn");
    }
}
