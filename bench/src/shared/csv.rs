//! The CSV format shared by `echo-bench --format csv` (which writes it) and
//! `bench-report` (which reads it).
//!
//! Both binaries include this file with `#[path]` so the column names are
//! defined exactly once: a renamed column cannot silently desynchronise the
//! writer and the reader. The format is plain RFC 4180: comma separated, a
//! field is quoted when it contains a comma, a quote or a line break, and a
//! quote inside a quoted field is doubled. Missing values (for example the
//! server CPU columns when no `--server-pid` was given) are empty fields.

/// Column order of an echo-bench CSV row. `bench-report` looks columns up by
/// name, so it tolerates reordering and extra columns, but echo-bench always
/// writes exactly these.
pub const COLUMNS: &[&str] = &[
    "label",
    "server",
    "backend",
    "workers",
    "connections",
    "length",
    "duration_s",
    "requests",
    "requests_per_sec",
    "bytes_per_sec",
    "p50_us",
    "p99_us",
    "p999_us",
    "max_us",
    "mean_us",
    "errors",
    "mismatches",
    "short_reads",
    "timeouts",
    "io_errors",
    "connections_stopped",
    "server_cpu_us_per_req",
    "server_cpu_cores",
    "bench_cpu_us_per_req",
    "bench_cpu_cores",
];

/// Quotes `field` if (and only if) CSV needs it.
pub fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// Joins already-formatted fields into one CSV line (without line end).
pub fn join(fields: &[String]) -> String {
    fields
        .iter()
        .map(|f| quote(f))
        .collect::<Vec<_>>()
        .join(",")
}

/// One parsed record and the 1-based line number it started on, so error
/// messages can point at the offending line.
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

/// Parses a whole CSV document. Quoted fields may span lines. Blank lines are
/// skipped (a trailing newline or a sweep script's `echo` between runs must
/// not become an empty record).
pub fn parse(text: &str) -> Result<Vec<Record>, String> {
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    // `field_started` distinguishes an empty line (no record) from a line
    // holding one empty field, e.g. `""`.
    let mut field_started = false;
    let mut line = 1usize;
    let mut record_line = 1usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => {
                in_quotes = true;
                field_started = true;
            }
            '"' => return Err(format!("line {line}: stray quote inside an unquoted field")),
            ',' => {
                fields.push(std::mem::take(&mut field));
                field_started = true;
            }
            '\r' => {} // CRLF files: the '\n' ends the record.
            '\n' => {
                if field_started || !field.is_empty() || !fields.is_empty() {
                    fields.push(std::mem::take(&mut field));
                    records.push(Record {
                        line: record_line,
                        fields: std::mem::take(&mut fields),
                    });
                }
                field_started = false;
                line += 1;
                record_line = line;
            }
            _ => {
                field.push(c);
                field_started = true;
            }
        }
    }
    if in_quotes {
        return Err(format!(
            "line {record_line}: quoted field is not closed before the end of the file"
        ));
    }
    if field_started || !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push(Record {
            line: record_line,
            fields,
        });
    }
    Ok(records)
}
