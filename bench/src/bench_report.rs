//! `bench-report`: turns a sweep's CSV (rows from `echo-bench --format csv`)
//! into Markdown tables and an SVG plot.
//!
//! Input: a CSV whose header names at least the columns in [`REQUIRED`]
//! (echo-bench writes them all; columns are found by name, so order and
//! extra columns do not matter). Rows are tagged by echo-bench's
//! `--tag-server`, `--tag-backend` and `--tag-workers`. Repeated header lines,
//! as produced by appending several `--csv-header` runs, are skipped.
//!
//! Rows are grouped by (connections, length) because numbers from different
//! loads are not comparable; each group gets its own section and plot row.
//! Within a group there is one table row per (server, backend) and one column
//! per worker count. Repeated runs of the same configuration are averaged.
//!
//! Output per group (Markdown):
//! * requests/s,
//! * server CPU microseconds per request,
//! * scaling efficiency `rps(k) / (k * rps(1))` per row,
//! * ratio of requests/s to the baseline (by default epoll with 1 worker),
//! * p50 / p99 latency.
//!
//! and an SVG with, per group, two panels: requests/s vs workers and server
//! CPU us/request vs workers, one line per server/backend.

use clap::Parser;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// bench-report only parses CSV; the writer half of the module is echo-bench's.
#[allow(dead_code)]
#[path = "shared/csv.rs"]
mod csv;

/// Columns the report cannot do without.
const REQUIRED: &[&str] = &[
    "server",
    "backend",
    "workers",
    "connections",
    "length",
    "requests_per_sec",
    "server_cpu_us_per_req",
    "p50_us",
    "p99_us",
    "errors",
];

/// Shown for a (series, workers) cell that has no data.
const NA: &str = "n/a";

const AFTER_HELP: &str = "\
Input: CSV rows from `echo-bench --format csv` (header from --csv-header). The
series are taken from the 'server', 'backend' and 'workers' columns, which
echo-bench fills from --tag-server, --tag-backend and --tag-workers; rows
without server or workers are rejected. Required columns: server, backend,
workers, connections, length, requests_per_sec, server_cpu_us_per_req, p50_us,
p99_us, errors (found by name; extra columns are ignored).

Rows are grouped by (connections, length); repeated runs of the same
configuration are averaged. Cells of runs that reported errors are marked (!).

Example:
  bench-report --csv results.csv --markdown report.md --svg report.svg

Exit status: 0 ok; 1 unreadable or invalid input, or an output that cannot be
written; 2 bad arguments.";

#[derive(Parser, Debug)]
#[command(
    name = "bench-report",
    version,
    about = "Markdown tables and an SVG plot from an echo-bench sweep CSV",
    after_help = AFTER_HELP
)]
struct Args {
    /// Sweep results (echo-bench --format csv rows with a header)
    #[arg(long, value_name = "FILE")]
    csv: PathBuf,

    /// Markdown output file; written to stdout when omitted
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,

    /// SVG output file (two panels per connections/length group)
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,

    /// Server of the baseline row for the ratio table
    #[arg(long, default_value = "epoll", value_name = "NAME")]
    baseline_server: String,

    /// Backend of the baseline row (default: any backend of that server)
    #[arg(long, value_name = "NAME")]
    baseline_backend: Option<String>,

    /// Worker count of the baseline row
    #[arg(long, default_value_t = 1, value_name = "N")]
    baseline_workers: u32,
}

/// One CSV data row, reduced to what the report uses.
struct Row {
    server: String,
    backend: String,
    workers: u32,
    connections: u64,
    length: u64,
    rps: f64,
    cpu_us: Option<f64>,
    p50_us: Option<f64>,
    p99_us: Option<f64>,
    errors: u64,
}

fn parse_rows(text: &str) -> Result<Vec<Row>, String> {
    let records = csv::parse(text)?;
    let mut iter = records.into_iter();
    let header = iter
        .next()
        .ok_or_else(|| "the file is empty (expected a CSV header line)".to_string())?;
    let col = |name: &str| header.fields.iter().position(|f| f.trim() == name);
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| col(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "line {}: header lacks required column(s): {} (is this echo-bench --format csv output with --csv-header?)",
            header.line,
            missing.join(", ")
        ));
    }
    // Every REQUIRED column was found above.
    let idx: BTreeMap<&str, usize> = REQUIRED
        .iter()
        .filter_map(|c| col(c).map(|i| (*c, i)))
        .collect();

    let mut rows = Vec::new();
    for rec in iter {
        // Appending several `--csv-header` runs repeats the header.
        if rec.fields == header.fields {
            continue;
        }
        if rec.fields.len() != header.fields.len() {
            return Err(format!(
                "line {}: {} fields, but the header has {}",
                rec.line,
                rec.fields.len(),
                header.fields.len()
            ));
        }
        let line = rec.line;
        let get = |name: &str| rec.fields[idx[name]].trim();
        let text_field = |name: &str, hint: &str| -> Result<String, String> {
            let v = get(name);
            if v.is_empty() {
                Err(format!("line {line}: column '{name}' is empty ({hint})"))
            } else {
                Ok(v.to_string())
            }
        };
        let int = |name: &str| -> Result<u64, String> {
            get(name).parse::<u64>().map_err(|_| {
                format!(
                    "line {line}: column '{name}': '{}' is not a non-negative integer",
                    get(name)
                )
            })
        };
        let num = |name: &str| -> Result<Option<f64>, String> {
            let v = get(name);
            if v.is_empty() {
                return Ok(None);
            }
            match v.parse::<f64>() {
                Ok(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
                _ => Err(format!(
                    "line {line}: column '{name}': '{v}' is not a non-negative number"
                )),
            }
        };
        let workers = text_field("workers", "run echo-bench with --tag-workers")?;
        let workers = workers.parse::<u32>().map_err(|_| {
            format!("line {line}: column 'workers': '{workers}' is not a non-negative integer")
        })?;
        let backend = get("backend");
        rows.push(Row {
            server: text_field("server", "run echo-bench with --tag-server")?,
            // An empty backend (epoll has none) is the same series as "-".
            backend: if backend.is_empty() {
                "-".into()
            } else {
                backend.into()
            },
            workers,
            connections: int("connections")?,
            length: int("length")?,
            rps: num("requests_per_sec")?
                .ok_or_else(|| format!("line {line}: column 'requests_per_sec' is empty"))?,
            cpu_us: num("server_cpu_us_per_req")?,
            p50_us: num("p50_us")?,
            p99_us: num("p99_us")?,
            errors: int("errors")?,
        });
    }
    if rows.is_empty() {
        return Err("no data rows after the header".into());
    }
    Ok(rows)
}

/// Mean of repeated runs of one (series, workers) configuration.
#[derive(Default, Clone)]
struct Cell {
    runs: usize,
    rps: f64,
    cpu_us: Option<f64>,
    p50_us: Option<f64>,
    p99_us: Option<f64>,
    errors: u64,
}

/// Accumulates values and averages only the runs that have them, so one run
/// without `--server-pid` does not drag the CPU mean down to zero.
#[derive(Default)]
struct Mean {
    sum: f64,
    n: usize,
}

impl Mean {
    fn add(&mut self, v: Option<f64>) {
        if let Some(v) = v {
            self.sum += v;
            self.n += 1;
        }
    }
    fn get(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SeriesKey {
    server: String,
    backend: String,
}

impl SeriesKey {
    fn name(&self) -> String {
        if self.backend == "-" {
            self.server.clone()
        } else {
            format!("{}/{}", self.server, self.backend)
        }
    }
}

struct Series {
    key: SeriesKey,
    cells: BTreeMap<u32, Cell>,
}

/// All rows with one (connections, length).
struct Group {
    connections: u64,
    length: u64,
    /// In order of first appearance in the CSV, i.e. the sweep's order.
    series: Vec<Series>,
    workers: Vec<u32>,
}

impl Group {
    fn title(&self) -> String {
        format!(
            "{} connections, {}-byte messages",
            self.connections, self.length
        )
    }
}

/// Running sums for one (series, workers) configuration.
#[derive(Default)]
struct Acc {
    runs: usize,
    rps: Mean,
    cpu_us: Mean,
    p50_us: Mean,
    p99_us: Mean,
    errors: u64,
}

impl Acc {
    fn cell(&self) -> Cell {
        Cell {
            runs: self.runs,
            rps: self.rps.get().unwrap_or(0.0),
            cpu_us: self.cpu_us.get(),
            p50_us: self.p50_us.get(),
            p99_us: self.p99_us.get(),
            errors: self.errors,
        }
    }
}

/// A series being accumulated: its key and per-worker-count sums.
type SeriesAcc = (SeriesKey, BTreeMap<u32, Acc>);

fn build_groups(rows: &[Row]) -> Vec<Group> {
    // (connections, length) -> series in first-seen order -> workers -> sums
    let mut groups: BTreeMap<(u64, u64), Vec<SeriesAcc>> = BTreeMap::new();
    for r in rows {
        let series = groups.entry((r.connections, r.length)).or_default();
        let key = SeriesKey {
            server: r.server.clone(),
            backend: r.backend.clone(),
        };
        let pos = match series.iter().position(|(k, _)| *k == key) {
            Some(p) => p,
            None => {
                series.push((key, BTreeMap::new()));
                series.len() - 1
            }
        };
        let acc = series[pos].1.entry(r.workers).or_default();
        acc.runs += 1;
        acc.rps.add(Some(r.rps));
        acc.cpu_us.add(r.cpu_us);
        acc.p50_us.add(r.p50_us);
        acc.p99_us.add(r.p99_us);
        acc.errors += r.errors;
    }
    groups
        .into_iter()
        .map(|((connections, length), series)| {
            let mut workers: Vec<u32> = series
                .iter()
                .flat_map(|(_, cells)| cells.keys().copied())
                .collect();
            workers.sort_unstable();
            workers.dedup();
            let series = series
                .into_iter()
                .map(|(key, accs)| Series {
                    key,
                    cells: accs.iter().map(|(w, a)| (*w, a.cell())).collect(),
                })
                .collect();
            Group {
                connections,
                length,
                series,
                workers,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Markdown

struct Baseline<'a> {
    server: &'a str,
    backend: Option<&'a str>,
    workers: u32,
}

impl Baseline<'_> {
    /// The first matching series (in sweep order) and its requests/s.
    fn find<'g>(&self, group: &'g Group) -> Option<(&'g Series, f64)> {
        group.series.iter().find_map(|s| {
            let matches = s.key.server == self.server
                && match self.backend {
                    Some(b) => s.key.backend == b,
                    None => true,
                };
            if !matches {
                return None;
            }
            s.cells.get(&self.workers).map(|c| (s, c.rps))
        })
    }

    fn describe(&self) -> String {
        match self.backend {
            Some(b) => format!("{}/{} with {} worker(s)", self.server, b, self.workers),
            None => format!("{} with {} worker(s)", self.server, self.workers),
        }
    }
}

fn table<F>(out: &mut String, group: &Group, value: F)
where
    F: Fn(&Series, u32, &Cell) -> Option<String>,
{
    out.push_str("| server/backend |");
    for w in &group.workers {
        let _ = write!(out, " {w} |");
    }
    out.push_str("\n|---|");
    for _ in &group.workers {
        out.push_str("---:|");
    }
    out.push('\n');
    for s in &group.series {
        let _ = write!(out, "| {} |", s.key.name());
        for w in &group.workers {
            let text = s
                .cells
                .get(w)
                .and_then(|c| {
                    value(s, *w, c).map(|v| if c.errors > 0 { format!("{v} (!)") } else { v })
                })
                .unwrap_or_else(|| NA.to_string());
            let _ = write!(out, " {text} |");
        }
        out.push('\n');
    }
    out.push('\n');
}

fn markdown(groups: &[Group], source: &Path, rows: usize, baseline: &Baseline) -> String {
    let mut out = String::from("# Echo benchmark report\n\n");
    let _ = writeln!(
        out,
        "Source: `{}` ({rows} rows). Columns are worker counts. Repeated runs of \
         the same configuration are averaged; `(!)` marks cells whose runs reported \
         errors; `{NA}` means not measured.\n",
        source.display()
    );
    for g in groups {
        let _ = writeln!(out, "## {}\n", g.title());

        out.push_str("### Requests/s\n\n");
        table(&mut out, g, |_, _, c| Some(format!("{:.0}", c.rps)));

        out.push_str("### Server CPU (us/request)\n\n");
        table(&mut out, g, |_, _, c| c.cpu_us.map(|v| format!("{v:.2}")));

        out.push_str("### Scaling efficiency rps(k) / (k * rps(1))\n\n");
        table(&mut out, g, |s, k, c| {
            let one = s.cells.get(&1)?.rps;
            (k > 0 && one > 0.0).then(|| format!("{:.2}", c.rps / (f64::from(k) * one)))
        });

        match baseline.find(g) {
            Some((series, base)) if base > 0.0 => {
                let _ = writeln!(
                    out,
                    "### Requests/s relative to {} ({}: {base:.0} req/s)\n",
                    baseline.describe(),
                    series.key.name(),
                );
                table(&mut out, g, |_, _, c| Some(format!("{:.2}x", c.rps / base)));
            }
            _ => {
                let _ = writeln!(
                    out,
                    "### Requests/s relative to {}\n\nNo baseline row in this group (or it \
                     measured 0 requests/s); see `--baseline-server`, `--baseline-backend`, \
                     `--baseline-workers`.\n",
                    baseline.describe()
                );
            }
        }

        out.push_str("### Latency p50 / p99 (us)\n\n");
        table(&mut out, g, |_, _, c| match (c.p50_us, c.p99_us) {
            (None, None) => None,
            (p50, p99) => Some(format!("{} / {}", fmt1(p50), fmt1(p99))),
        });

        let repeated: usize = g
            .series
            .iter()
            .flat_map(|s| s.cells.values())
            .filter(|c| c.runs > 1)
            .count();
        if repeated > 0 {
            let _ = writeln!(
                out,
                "{repeated} cell(s) in this group average several runs.\n"
            );
        }
    }
    out
}

fn fmt1(v: Option<f64>) -> String {
    v.map_or_else(|| NA.to_string(), |v| format!("{v:.1}"))
}

// ---------------------------------------------------------------------------
// SVG

const PANEL_W: u32 = 640;
const PANEL_H: u32 = 440;

/// Tableau 10: distinguishable on white (plotters' Palette99 includes a
/// yellow that is hard to see). Indexed by series position so a series has
/// the same colour in both panels.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// Draws one "metric vs workers" panel with one line per series that has data.
fn panel(
    area: &Area,
    caption: &str,
    y_desc: &str,
    group: &Group,
    metric: &dyn Fn(&Cell) -> Option<f64>,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("drawing '{caption}': {e}");
    let points: Vec<(usize, Vec<(i64, f64)>)> = group
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let pts = s
                .cells
                .iter()
                .filter_map(|(w, c)| metric(c).map(|v| (i64::from(*w), v)))
                .collect::<Vec<_>>();
            (i, pts)
        })
        .filter(|(_, pts)| !pts.is_empty())
        .collect();
    if points.is_empty() {
        area.titled(caption, ("sans-serif", 18))
            .and_then(|a| {
                a.draw(&Text::new(
                    "no data (server CPU needs echo-bench --server-pid)",
                    (40, 60),
                    ("sans-serif", 15),
                ))
            })
            .map_err(|e| err(&e))?;
        return Ok(());
    }
    let w_min = group.workers.first().copied().map_or(0, i64::from);
    let w_max = group.workers.last().copied().map_or(1, i64::from);
    let y_max = points
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .fold(0.0f64, f64::max);
    let y_top = if y_max > 0.0 { y_max * 1.15 } else { 1.0 };
    // One worker of padding on each side keeps end points off the frame.
    let x_range = (w_min - 1).max(0)..(w_max + 1);

    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, 0.0..y_top)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("workers")
        .y_desc(y_desc)
        .x_label_formatter(&|x| x.to_string())
        .y_label_formatter(&|y| format_si(*y))
        .draw()
        .map_err(|e| err(&e))?;
    for (i, pts) in &points {
        let color = PALETTE[*i % PALETTE.len()];
        let name = group.series[*i].key.name();
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(PointSeries::of_element(
                pts.iter().copied(),
                4,
                color.filled(),
                &|c, s, st| Circle::new(c, s, st),
            ))
            .map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    Ok(())
}

/// Compact axis labels: 250000 -> "250k".
fn format_si(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 10.0 || a == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn write_svg(path: &Path, groups: &[Group]) -> Result<(), String> {
    let rows = u32::try_from(groups.len()).map_err(|_| "too many groups to plot".to_string())?;
    let root = SVGBackend::new(path, (2 * PANEL_W, rows * PANEL_H)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| format!("drawing: {e}"))?;
    let panels = root.split_evenly((groups.len(), 2));
    for (g, pair) in groups.iter().zip(panels.chunks(2)) {
        let t = g.title();
        panel(
            &pair[0],
            &format!("Requests/s vs workers ({t})"),
            "requests/s",
            g,
            &|c| Some(c.rps),
        )?;
        panel(
            &pair[1],
            &format!("Server CPU us/request vs workers ({t})"),
            "server CPU us/request",
            g,
            &|c| c.cpu_us,
        )?;
    }
    root.present()
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------

fn run(args: &Args) -> Result<(), String> {
    let text = std::fs::read_to_string(&args.csv)
        .map_err(|e| format!("cannot read {}: {e}", args.csv.display()))?;
    let rows = parse_rows(&text).map_err(|e| format!("{}: {e}", args.csv.display()))?;
    let groups = build_groups(&rows);
    let baseline = Baseline {
        server: &args.baseline_server,
        backend: args.baseline_backend.as_deref(),
        workers: args.baseline_workers,
    };
    let md = markdown(&groups, &args.csv, rows.len(), &baseline);
    match &args.markdown {
        Some(p) => {
            std::fs::write(p, md).map_err(|e| format!("cannot write {}: {e}", p.display()))?
        }
        None => print!("{md}"),
    }
    if let Some(p) = &args.svg {
        // plotters' SVG backend only reports a bad path when it flushes;
        // check up front for a clearer message.
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                return Err(format!(
                    "cannot write {}: directory {} does not exist",
                    p.display(),
                    dir.display()
                ));
            }
        }
        write_svg(p, &groups)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-report: error: {e}");
            ExitCode::from(1)
        }
    }
}
