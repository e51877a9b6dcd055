//! Numeric data tables for the CLI: CSV files and the built-in data sets.
//!
//! Every error produced here is a single-line message naming the data file and,
//! where it applies, the row (1-based line number in the file, header = line 1),
//! the column and the offending value.

use anyhow::{anyhow, bail, Result};

/// Names of the built-in data sets, used as `builtin:{name}`.
pub const BUILTINS: &[&str] = &["iris", "faithful", "penguins", "wine", "tutorial"];

const BUILTIN_PREFIX: &str = "builtin:";

/// `grid:START,STOP,STEP`: the points START, START + STEP, … below STOP (numpy's `arange`),
/// one column `x`.
const GRID_PREFIX: &str = "grid:";

/// At most this many grid points.
const MAX_GRID: usize = 10_000_000;

/// The points of `grid:START,STOP,STEP`, computed as START + i·STEP like `numpy.arange`.
fn grid(spec: &str, range: &str) -> Result<Vec<f64>> {
    let bad = |why: &str| {
        anyhow!(
            "data '{}': {why} (expected grid:START,STOP,STEP, e.g. grid:-3,15,0.1)",
            clean(spec)
        )
    };
    let parts: Vec<&str> = range.split(',').map(str::trim).collect();
    if parts.len() != 3 {
        return Err(bad("three numbers needed"));
    }
    let mut v = [0.0; 3];
    for (slot, p) in v.iter_mut().zip(&parts) {
        *slot = p
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| bad(&format!("'{}' is not a finite number", clean_cell(p))))?;
    }
    let [start, stop, step] = v;
    if step <= 0.0 {
        return Err(bad("STEP must be positive"));
    }
    let n = ((stop - start) / step).ceil();
    if n.is_nan() || n < 1.0 {
        return Err(bad("the grid is empty: STOP must exceed START"));
    }
    if n > MAX_GRID as f64 {
        return Err(bad(&format!("more than {MAX_GRID} points")));
    }
    Ok((0..n as usize).map(|i| start + i as f64 * step).collect())
}

/// The 5 one-dimensional points of Pyro's Gaussian mixture model tutorial.
const TUTORIAL_CSV: &str = "x\n0\n1\n10\n11\n12\n";

/// Cell values quoted in error messages are cut after this many characters.
const MAX_CELL_CHARS: usize = 40;

/// A numeric data table, column-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Where the data came from: the path as given, or `builtin:{name}`.
    pub source: String,
    /// Column names, in the order of `columns`.
    pub names: Vec<String>,
    /// `columns[d][n]`: value of column `d` in data row `n`; all columns have the same length.
    pub columns: Vec<Vec<f64>>,
}

impl Table {
    /// The named columns, in that order; the table unchanged (as `Err`) if one is missing.
    pub fn select(mut self, names: &[String]) -> std::result::Result<Table, Table> {
        let first = first_positions(&self.names);
        let idx: Option<Vec<usize>> = names
            .iter()
            .map(|n| first.get(n.as_str()).copied())
            .collect();
        let Some(idx) = idx else { return Err(self) };
        let columns = idx
            .iter()
            .map(|&j| std::mem::take(&mut self.columns[j]))
            .collect();
        Ok(Table {
            source: self.source,
            names: names.to_vec(),
            columns,
        })
    }
}

#[cfg(test)]
impl Table {
    /// Number of data rows (points).
    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    /// Number of columns (dimensions).
    pub fn n_cols(&self) -> usize {
        self.columns.len()
    }
}

/// Load a numeric table.
///
/// `spec` is either a CSV path or `builtin:iris` / `builtin:tutorial`.
/// `columns`: `None` = every numeric column (label columns, i.e. columns whose first
/// non-empty cell is not a number, are skipped); `Some(names)` = those columns in that
/// order (names are trimmed; every cell of a selected column must be a finite number).
pub fn load(spec: &str, columns: Option<&[String]>) -> Result<Table> {
    if let Some(requested) = columns {
        check_requested(requested)?;
    }
    if let Some(range) = spec.strip_prefix(GRID_PREFIX) {
        let values = grid(spec, range)?;
        let text: String = std::iter::once("x\n".to_string())
            .chain(values.iter().map(|v| format!("{v:?}\n")))
            .collect();
        return parse(spec, text.as_bytes(), columns);
    }
    if let Some(name) = spec.strip_prefix(BUILTIN_PREFIX) {
        let text = match (name, bgmm::datasets::csv(name)) {
            (_, Some(text)) => text,
            ("tutorial", None) => TUTORIAL_CSV,
            _ => {
                let available: Vec<String> = BUILTINS
                    .iter()
                    .map(|b| format!("{BUILTIN_PREFIX}{b}"))
                    .collect();
                bail!(
                    "unknown builtin data set '{}' (available: {})",
                    clean(spec),
                    available.join(", ")
                );
            }
        };
        return parse(spec, text.as_bytes(), columns);
    }
    let bytes = crate::input::read_file(std::path::Path::new(spec), &clean(spec))?;
    parse(spec, &bytes, columns)
}

/// Validate the ``columns`` list itself (independent of any file).
pub(crate) fn check_requested(requested: &[String]) -> Result<()> {
    if requested.is_empty() {
        bail!("`columns` names no column");
    }
    let mut seen = std::collections::HashSet::new();
    for name in requested {
        let name = name.trim();
        if name.is_empty() {
            bail!("`columns` contains an empty column name");
        }
        if !seen.insert(name) {
            bail!("`columns` names '{}' twice", clean(name));
        }
    }
    Ok(())
}

/// How a column is being read.
enum Kind {
    /// Only missing cells seen yet (only possible without ``columns``): the first cell that
    /// is not missing decides whether the column is numeric or text.
    Unknown,
    /// Every cell must be a finite number or a missing value.
    Numeric,
    /// Text column, skipped.
    Label,
}

struct Column {
    index: usize,
    kind: Kind,
    values: Vec<f64>,
    /// Whether a cell that is not missing has been read.
    any: bool,
}

/// Parse CSV bytes (header row required) into a table; `source` names the data in errors.
pub fn parse(source: &str, bytes: &[u8], columns: Option<&[String]>) -> Result<Table> {
    let file = format!("data file '{}'", clean(source));
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let line = 1 + count_line_breaks(&bytes[..offset]);
        anyhow!("{file}, row {line}: invalid UTF-8 (byte {})", offset + 1)
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        bail!("{file} is empty");
    }

    let mut records = Records::new(text.as_bytes(), &file);
    let mut record = csv::StringRecord::new();

    if records.next(&mut record)?.is_none() {
        bail!("{file} is empty");
    }
    let names: Vec<String> = record.iter().map(str::to_owned).collect();
    let width = names.len();
    let mut cols = select_columns(&file, &names, columns)?;

    let mut rows = 0usize;
    while let Some(line) = records.next(&mut record)? {
        if record.len() != width {
            bail!(
                "{file}, row {line}: expected {width} fields, found {}",
                record.len()
            );
        }
        rows += 1;
        for col in &mut cols {
            let cell = &record[col.index];
            let name = &names[col.index];
            match col.kind {
                Kind::Numeric => {
                    let v = number(&file, line, name, cell)?;
                    col.any |= !v.is_nan();
                    push(&file, &mut col.values, v)?
                }
                Kind::Label => {}
                Kind::Unknown if is_missing(cell) => {}
                Kind::Unknown => {
                    if cell.parse::<f64>().is_ok() {
                        // the rows before were all missing values
                        col.kind = Kind::Numeric;
                        col.any = true;
                        for _ in 1..rows {
                            push(&file, &mut col.values, f64::NAN)?;
                        }
                        push(&file, &mut col.values, number(&file, line, name, cell)?)?;
                    } else {
                        col.kind = Kind::Label;
                    }
                }
            }
        }
    }
    if rows == 0 {
        bail!("{file} has a header but no data rows");
    }

    // a column with no value: an error when it was asked for or has a name (an unnamed one is
    // what a trailing comma makes, and is left out)
    if let Some(c) = cols.iter().find(|c| match c.kind {
        Kind::Numeric => !c.any,
        Kind::Unknown => !names[c.index].is_empty(),
        Kind::Label => false,
    }) {
        bail!(
            "{}",
            no_value(&file, &names[c.index], rows, columns.is_none())
        );
    }
    let cols: Vec<Column> = cols
        .into_iter()
        .filter(|c| matches!(c.kind, Kind::Numeric))
        .collect();
    if cols.is_empty() {
        let all: Vec<String> = names.iter().map(|n| clean(n)).collect();
        bail!("{file} has no numeric column (columns: {})", all.join(", "));
    }
    if columns.is_none() {
        // by a map of the names seen: a file of a million columns is checked in linear time
        let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for col in &cols {
            let name = &names[col.index];
            if name.is_empty() {
                bail!(
                    "{file}, column {}: numeric column has no name in the header",
                    col.index + 1
                );
            }
            if let Some(other) = seen.insert(name, col.index) {
                bail!(
                    "{file} has two columns named '{}' (columns {} and {})",
                    clean(name),
                    other + 1,
                    col.index + 1
                );
            }
        }
    }

    Ok(Table {
        source: source.to_owned(),
        names: cols.iter().map(|c| names[c.index].clone()).collect(),
        columns: cols.into_iter().map(|c| c.values).collect(),
    })
}

/// The columns to read: the requested ones (numeric, in that order) or all (kind unknown).
fn select_columns(file: &str, names: &[String], columns: Option<&[String]>) -> Result<Vec<Column>> {
    let Some(requested) = columns else {
        return Ok((0..names.len())
            .map(|index| Column {
                index,
                kind: Kind::Unknown,
                values: Vec::new(),
                any: false,
            })
            .collect());
    };
    let positions = positions(names);
    requested
        .iter()
        .map(|wanted| {
            let wanted = wanted.trim();
            let mut hits = positions.get(wanted).into_iter().flatten().copied();
            let Some(index) = hits.next() else {
                let all: Vec<String> = names.iter().map(|n| clean(n)).collect();
                bail!(
                    "{file} has no column '{}' (`columns`; available: {})",
                    clean(wanted),
                    all.join(", ")
                );
            };
            if let Some(second) = hits.next() {
                bail!(
                    "{file} has two columns named '{}' (columns {} and {})",
                    clean(wanted),
                    index + 1,
                    second + 1
                );
            }
            Ok(Column {
                index,
                kind: Kind::Numeric,
                values: Vec::new(),
                any: false,
            })
        })
        .collect()
}

/// The first column of each name (one pass, for files of many columns).
fn first_positions(names: &[String]) -> std::collections::HashMap<&str, usize> {
    let mut first = std::collections::HashMap::new();
    for (i, n) in names.iter().enumerate() {
        first.entry(n.as_str()).or_insert(i);
    }
    first
}

/// The columns of each name, in order (one pass, for files of many columns).
pub(crate) fn positions(names: &[String]) -> std::collections::HashMap<&str, Vec<usize>> {
    let mut at: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    for (i, n) in names.iter().enumerate() {
        at.entry(n.as_str()).or_default().push(i);
    }
    at
}

/// CSV records with the line number (1-based) on which each starts.
///
/// The line is computed here because `csv::Position::line` does not account for skipped
/// blank lines or `\r\n` line ends.
struct Records<'a> {
    reader: csv::Reader<&'a [u8]>,
    text: &'a [u8],
    /// Byte offset up to which line breaks have been counted, and the line there.
    offset: usize,
    line: u64,
    file: &'a str,
}

impl<'a> Records<'a> {
    fn new(text: &'a [u8], file: &'a str) -> Self {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text);
        Records {
            reader,
            text,
            offset: 0,
            line: 1,
            file,
        }
    }

    /// Read the next record that is not a blank (empty or whitespace-only) line and
    /// return the line it starts on, or `None` at the end.
    fn next(&mut self, record: &mut csv::StringRecord) -> Result<Option<u64>> {
        loop {
            match self.reader.read_record(record) {
                Ok(false) => return Ok(None),
                Ok(true) if record.len() == 1 && record[0].is_empty() => {}
                Ok(true) => {
                    let byte = record
                        .position()
                        .map_or(self.offset as u64, csv::Position::byte);
                    return Ok(Some(self.line_at(byte)));
                }
                Err(e) => {
                    let byte = e.position().map_or(self.offset as u64, csv::Position::byte);
                    let line = self.line_at(byte);
                    bail!("{}, row {line}: {}", self.file, clean(&e.to_string()));
                }
            }
        }
    }

    /// The line of the first non-line-break byte at or after `byte` (a record reported at
    /// `byte` may be preceded there by line ends the reader treated as blank lines).
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .clamp(self.offset, self.text.len());
        while start < self.text.len() && matches!(self.text[start], b'\r' | b'\n') {
            start += 1;
        }
        self.line += count_line_breaks(&self.text[self.offset..start]) as u64;
        self.offset = start;
        self.line
    }
}

/// Number of line breaks (`\n`, `\r\n` or a lone `\r`) in `bytes`.
fn count_line_breaks(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
}

/// Append a value to a column, growing it fallibly.
fn push(file: &str, values: &mut Vec<f64>, v: f64) -> Result<()> {
    let rows = values.len();
    bgmm::limits::push(values, v, || {
        format!("the values of {file} ({rows} rows read)")
    })?;
    Ok(())
}

/// Parse one cell of a numeric column: NaN for a missing value (see [`is_missing`]).
fn number(file: &str, line: u64, name: &str, cell: &str) -> Result<f64> {
    cell_value(cell, || {
        format!("{file}, row {line}, column '{}'", clean(name))
    })
}

/// Whether a CSV cell is a missing value: empty, `NA`, `N/A`, `null` or NaN (`nan`, `NaN`,
/// `-nan`), in any case: what R (`NA`), pandas (an empty cell) and numpy (`nan`) write.
pub(crate) fn is_missing(cell: &str) -> bool {
    is_missing_word(cell) || cell.parse::<f64>().is_ok_and(f64::is_nan)
}

/// An empty cell, or a word for a missing value that is no number (`NA`, `N/A`, `null`).
fn is_missing_word(cell: &str) -> bool {
    cell.is_empty()
        || ["na", "n/a", "null"]
            .iter()
            .any(|m| cell.eq_ignore_ascii_case(m))
}

/// The value of a numeric column's cell (trimmed): NaN when it is missing (see
/// [`is_missing`]), else a finite number; the error names the cell by `at` (file, row,
/// column). Every CSV reader words its errors by it. One parse per cell: the number is the
/// common case.
pub(crate) fn cell_value(cell: &str, at: impl Fn() -> String) -> Result<f64> {
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) if v.is_nan() => Ok(f64::NAN),
        Ok(_) => bail!("{}: value '{}' is not finite", at(), clean_cell(cell)),
        Err(_) if is_missing_word(cell) => Ok(f64::NAN),
        Err(_) => bail!("{}: cannot parse '{}' as a number", at(), clean_cell(cell)),
    }
}

/// The error of a column with no value (every one of its `rows` cells missing); `hint`: say
/// how to leave it out (it was not asked for by name).
pub(crate) fn no_value(file: &str, name: &str, rows: usize, hint: bool) -> String {
    let cells = if rows == 1 {
        "its one cell is missing".to_string()
    } else {
        format!("all {rows} of its cells are missing")
    };
    let hint = if hint {
        "; leave it out with `columns`"
    } else {
        ""
    };
    format!(
        "{file}, column '{}' has no value ({cells}){hint}",
        clean(name)
    )
}

pub(crate) use crate::input::clean;

/// Like [`clean`], but cut to at most [`MAX_CELL_CHARS`] characters.
pub(crate) fn clean_cell(s: &str) -> String {
    match s.char_indices().nth(MAX_CELL_CHARS) {
        Some((cut, _)) => format!("{}...", clean(&s[..cut])),
        None => clean(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use tempfile::TempDir;

    /// Write `contents` to `dir/name` and return the path as a string.
    fn write(dir: &TempDir, name: &str, contents: &[u8]) -> String {
        let path: PathBuf = dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_owned()
    }

    fn load_str(contents: &str, columns: Option<&[&str]>) -> (TempDir, String, Result<Table>) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "x.csv", contents.as_bytes());
        let cols: Option<Vec<String>> =
            columns.map(|c| c.iter().map(ToString::to_string).collect());
        let result = load(&path, cols.as_deref());
        (dir, path, result)
    }

    fn err(contents: &str, columns: Option<&[&str]>) -> (String, String) {
        let (_dir, path, result) = load_str(contents, columns);
        let msg = match result {
            Ok(t) => panic!("expected an error, got {} x {}", t.n_rows(), t.n_cols()),
            Err(e) => e.to_string(),
        };
        assert!(!msg.contains('\n'), "multi-line message: {msg:?}");
        (path, msg)
    }

    fn sum(v: &[f64]) -> f64 {
        v.iter().sum()
    }

    fn approx(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn iris_loads_150_rows_4_numeric_columns() {
        let t = load("builtin:iris", None).unwrap();
        assert_eq!(t.source, "builtin:iris");
        assert_eq!(
            t.names,
            ["sepal_length", "sepal_width", "petal_length", "petal_width"]
        );
        assert_eq!(t.n_rows(), 150);
        assert_eq!(t.n_cols(), 4);
        // Sums checked with Python against /work/shared/data/iris.csv.
        let sums = [876.5, 458.6, 563.7, 179.9];
        for (col, want) in t.columns.iter().zip(sums) {
            assert_eq!(col.len(), 150);
            assert!(approx(sum(col), want), "{} != {want}", sum(col));
        }
        assert_eq!(
            [
                t.columns[0][0],
                t.columns[1][0],
                t.columns[2][0],
                t.columns[3][0]
            ],
            [5.1, 3.5, 1.4, 0.2]
        );
    }

    #[test]
    fn iris_single_column() {
        let cols = vec!["petal_length".to_string()];
        let t = load("builtin:iris", Some(&cols)).unwrap();
        assert_eq!(t.names, ["petal_length"]);
        assert_eq!(t.n_cols(), 1);
        assert_eq!(t.n_rows(), 150);
        assert_eq!(t.columns[0][0], 1.4);
        assert!(approx(sum(&t.columns[0]), 563.7));
    }

    #[test]
    fn columns_follow_requested_order() {
        let cols = vec!["petal_width".to_string(), " sepal_length ".to_string()];
        let t = load("builtin:iris", Some(&cols)).unwrap();
        assert_eq!(t.names, ["petal_width", "sepal_length"]);
        assert_eq!((t.columns[0][0], t.columns[1][0]), (0.2, 5.1));
        assert!(approx(sum(&t.columns[0]), 179.9));
        assert!(approx(sum(&t.columns[1]), 876.5));

        let (_d, _p, t) = load_str("a,b,c\n1,2,3\n4,5,6\n", Some(&["c", "a"]));
        let t = t.unwrap();
        assert_eq!(t.names, ["c", "a"]);
        assert_eq!(t.columns, [vec![3.0, 6.0], vec![1.0, 4.0]]);
    }

    #[test]
    fn grid_is_numpy_arange() {
        let t = load("grid:-3,15,0.1", None).unwrap();
        assert_eq!(t.names, vec!["x"]);
        assert_eq!(t.columns[0].len(), 180);
        assert!((t.columns[0][179] - 14.9).abs() < 1e-12);
        let e = load("grid:1,0,0.1", None).unwrap_err().to_string();
        assert!(e.contains("the grid is empty"), "{e}");
        let e = load("grid:0,1", None).unwrap_err().to_string();
        assert!(
            e.starts_with("data 'grid:0,1': three numbers needed"),
            "{e}"
        );
        let e = load("grid:0,1,-1", None).unwrap_err().to_string();
        assert!(e.contains("STEP must be positive"), "{e}");
    }

    #[test]
    fn tutorial_data() {
        let t = load("builtin:tutorial", None).unwrap();
        assert_eq!(t.source, "builtin:tutorial");
        assert_eq!(t.names, ["x"]);
        assert_eq!(t.columns, [vec![0.0, 1.0, 10.0, 11.0, 12.0]]);
        assert_eq!((t.n_rows(), t.n_cols()), (5, 1));
    }

    #[test]
    fn every_builtin_loads() {
        for name in BUILTINS {
            let t = load(&format!("builtin:{name}"), None).unwrap();
            assert!(t.n_rows() > 0 && t.n_cols() > 0);
        }
    }

    #[test]
    fn iris_file_matches_builtin() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "iris.csv", bgmm::datasets::IRIS_CSV.as_bytes());
        let from_file = load(&path, None).unwrap();
        let builtin = load("builtin:iris", None).unwrap();
        assert_eq!(from_file.source, path);
        assert_eq!(from_file.names, builtin.names);
        assert_eq!(from_file.columns, builtin.columns);
    }

    #[test]
    fn label_column_in_first_position_is_skipped() {
        let (_d, _p, t) = load_str("id,a,b\nx1,1,2\nx2,3,4\n7,5,6\n", None);
        let t = t.unwrap();
        assert_eq!(t.names, ["a", "b"]);
        assert_eq!(t.columns, [vec![1.0, 3.0, 5.0], vec![2.0, 4.0, 6.0]]);
    }

    #[test]
    fn single_column_file() {
        let (_d, _p, t) = load_str("value\n1.5\n-2\n3e2\n", None);
        let t = t.unwrap();
        assert_eq!(t.names, ["value"]);
        assert_eq!(t.columns, [vec![1.5, -2.0, 300.0]]);
    }

    #[test]
    fn whitespace_quotes_crlf_bom_and_blank_lines() {
        let (_d, _p, t) = load_str(
            "\u{feff} a ,\"b \"\r\n 1 ,\"2\"\r\n\r\n   \r\n3,  4\r\n",
            None,
        );
        let t = t.unwrap();
        assert_eq!(t.names, ["a", "b"]);
        assert_eq!(t.columns, [vec![1.0, 3.0], vec![2.0, 4.0]]);
    }

    #[test]
    fn trailing_comma_column_is_skipped() {
        let (_d, _p, t) = load_str("a,b,\n1,2,\n3,4,\n", None);
        let t = t.unwrap();
        assert_eq!(t.names, ["a", "b"]);
    }

    #[test]
    fn missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        let path = path.to_str().unwrap();
        let msg = load(path, None).unwrap_err().to_string();
        assert_eq!(
            msg,
            format!("cannot read data file '{path}': No such file or directory (os error 2)")
        );
    }

    #[test]
    fn unknown_builtin() {
        let msg = load("builtin:foo", None).unwrap_err().to_string();
        assert_eq!(
            msg,
            "unknown builtin data set 'builtin:foo' (available: builtin:iris, builtin:faithful, builtin:penguins, builtin:wine, builtin:tutorial)"
        );
    }

    #[test]
    fn empty_file() {
        let (path, msg) = err("", None);
        assert_eq!(msg, format!("data file '{path}' is empty"));
        let (path, msg) = err(" \n\r\n\t \n", None);
        assert_eq!(msg, format!("data file '{path}' is empty"));
    }

    #[test]
    fn header_but_no_rows() {
        let (path, msg) = err("a,b\n", None);
        assert_eq!(
            msg,
            format!("data file '{path}' has a header but no data rows")
        );
        let (path, msg) = err("a,b\n\n  \n", Some(&["b"]));
        assert_eq!(
            msg,
            format!("data file '{path}' has a header but no data rows")
        );
    }

    #[test]
    fn no_numeric_column() {
        let (path, msg) = err("a,b\nx,y\n", None);
        assert_eq!(
            msg,
            format!("data file '{path}' has no numeric column (columns: a, b)")
        );
    }

    #[test]
    fn unknown_column() {
        let (path, msg) = err("a,b,c\n1,2,3\n", Some(&["a", "foo"]));
        assert_eq!(
            msg,
            format!("data file '{path}' has no column 'foo' (`columns`; available: a, b, c)")
        );
    }

    #[test]
    fn duplicate_requested_column() {
        let (_path, msg) = err("a,b\n1,2\n", Some(&["a", "b", "a"]));
        assert_eq!(msg, "`columns` names 'a' twice");
    }

    #[test]
    fn bad_columns_lists() {
        assert_eq!(err("a\n1\n", Some(&[])).1, "`columns` names no column");
        assert_eq!(
            err("a\n1\n", Some(&["a", " "])).1,
            "`columns` contains an empty column name"
        );
    }

    #[test]
    fn duplicate_header_names() {
        let (path, msg) = err("a,b,a\n1,2,3\n", None);
        assert_eq!(
            msg,
            format!("data file '{path}' has two columns named 'a' (columns 1 and 3)")
        );
        let (path, msg) = err("a,b,a\n1,2,3\n", Some(&["a"]));
        assert_eq!(
            msg,
            format!("data file '{path}' has two columns named 'a' (columns 1 and 3)")
        );
        // Not an error when the duplicated column is not used.
        let (_d, _p, t) = load_str("a,b,a\n1,2,3\n", Some(&["b"]));
        assert_eq!(t.unwrap().columns, [vec![2.0]]);
        let (_d, _p, t) = load_str("s,b,s\nx,2,y\n", None);
        assert_eq!(t.unwrap().names, ["b"]);
    }

    #[test]
    fn unnamed_numeric_column() {
        let (path, msg) = err(",a\n0,1.5\n1,2.5\n", None);
        assert_eq!(
            msg,
            format!("data file '{path}', column 1: numeric column has no name in the header")
        );
        let (_d, _p, t) = load_str(",a\n0,1.5\n1,2.5\n", Some(&["a"]));
        assert_eq!(t.unwrap().columns, [vec![1.5, 2.5]]);
    }

    /// Issue 14: a missing cell is read as NaN at its row and column (it was refused), in any
    /// row, without and with `columns`.
    #[test]
    fn missing_value() {
        let body = "a,b,c\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,,3\n";
        let (_d, _p, t) = load_str(body, None);
        let t = t.unwrap();
        assert_eq!(t.names, ["a", "b", "c"]);
        assert_eq!(t.columns[0], [1.0; 6]);
        assert_eq!(t.columns[1][..5], [2.0; 5]);
        assert!(t.columns[1][5].is_nan());
        let (_d, _p, t) = load_str(body, Some(&["c", "b"]));
        let t = t.unwrap();
        assert_eq!(t.columns[0], [3.0; 6]);
        assert!(t.columns[1][5].is_nan() && t.columns[1][4] == 2.0);
        // An empty first cell followed by numbers: the column is numeric, its first values
        // missing.
        let (_d, _p, t) = load_str("a,b\n1,\n2, \n3,4\n", None);
        let t = t.unwrap();
        assert_eq!(t.names, ["a", "b"]);
        assert!(t.columns[1][0].is_nan() && t.columns[1][1].is_nan());
        assert_eq!(t.columns[1][2], 4.0);
    }

    /// What R (`NA`), pandas (an empty cell), numpy (`nan`) and others write for a missing
    /// value, in any case and quoted, in the first data row (before the column is known to be
    /// numeric) and later; a text column starting with one stays a text column.
    #[test]
    fn every_missing_marker() {
        for m in [
            "", "NA", "na", "Na", "N/A", "n/a", "NaN", "nan", "NAN", "-nan", "+NaN", "null",
            "NULL", "Null", "\"\"", "\"NA\"", " NA ",
        ] {
            for columns in [None, Some(&["x", "y"][..])] {
                let body = format!("x,y\n{m},1\n2,{m}\n3,4\n");
                let (_d, _p, t) = load_str(&body, columns);
                let t = t.unwrap_or_else(|e| panic!("{m:?}: {e}"));
                assert_eq!(t.names, ["x", "y"], "{m:?}");
                let (x, y) = (&t.columns[0], &t.columns[1]);
                assert!(x[0].is_nan() && x[1..] == [2.0, 3.0], "{m:?}: {x:?}");
                assert!(y[1].is_nan() && [y[0], y[2]] == [1.0, 4.0], "{m:?}: {y:?}");
            }
        }
        let (_d, _p, t) = load_str("name,a\nNA,1\nsetosa,2\n,3\n", None);
        let t = t.unwrap();
        assert_eq!(t.names, ["a"]);
        assert_eq!(t.columns, [vec![1.0, 2.0, 3.0]]);
    }

    /// A column whose every cell is missing is an error naming it (without `columns`, with
    /// how to leave it out); an unnamed one (a trailing comma) is still left out.
    #[test]
    fn column_with_no_value() {
        let (path, msg) = err("a,b\n1,\n2,NA\n", None);
        assert_eq!(
            msg,
            format!("data file '{path}', column 'b' has no value (all 2 of its cells are missing); leave it out with `columns`")
        );
        let (path, msg) = err("a,b\n1,nan\n2,NA\n", Some(&["a", "b"]));
        assert_eq!(
            msg,
            format!("data file '{path}', column 'b' has no value (all 2 of its cells are missing)")
        );
        // a column in the header only
        let (path, msg) = err("a,b,c\n1,,2\n", None);
        assert_eq!(
            msg,
            format!("data file '{path}', column 'b' has no value (its one cell is missing); leave it out with `columns`")
        );
        let (_d, _p, t) = load_str("a,b,c\n1,,2\n", Some(&["c", "a"]));
        assert_eq!(t.unwrap().columns, [vec![2.0], vec![1.0]]);
        let (_d, _p, t) = load_str("a,b,\n1,2,\n3,NA,\n", None);
        let t = t.unwrap();
        assert_eq!(t.names, ["a", "b"]);
        assert!(t.columns[1][1].is_nan());
    }

    #[test]
    fn non_numeric_cell() {
        let (path, msg) = err("a,b,c\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,abc,3\n", None);
        assert_eq!(
            msg,
            format!("data file '{path}', row 7, column 'b': cannot parse 'abc' as a number")
        );
    }

    #[test]
    fn not_finite() {
        for bad in ["inf", "-inf", "infinity", "-Infinity", "1e400"] {
            let body = format!("a,b,c\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,{bad},3\n");
            let (path, msg) = err(&body, None);
            assert_eq!(
                msg,
                format!("data file '{path}', row 7, column 'b': value '{bad}' is not finite")
            );
        }
        // A column starting with an infinity is numeric, not a label column; so is one
        // starting with a missing value.
        let (path, msg) = err("a,b\n1,-Infinity\n2,3\n", None);
        assert_eq!(
            msg,
            format!("data file '{path}', row 2, column 'b': value '-Infinity' is not finite")
        );
        let (path, msg) = err("a,b\n1,NaN\n2,inf\n", None);
        assert_eq!(
            msg,
            format!("data file '{path}', row 3, column 'b': value 'inf' is not finite")
        );
    }

    #[test]
    fn ragged_row() {
        let (path, msg) = err("a,b,c\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2\n", None);
        assert_eq!(
            msg,
            format!("data file '{path}', row 7: expected 3 fields, found 2")
        );
        let (path, msg) = err("a,b\n1,2,\n", Some(&["a"]));
        assert_eq!(
            msg,
            format!("data file '{path}', row 2: expected 2 fields, found 3")
        );
    }

    #[test]
    fn selected_label_column() {
        let cols = vec!["species".to_string()];
        let msg = load("builtin:iris", Some(&cols)).unwrap_err().to_string();
        assert_eq!(
            msg,
            "data file 'builtin:iris', row 2, column 'species': cannot parse 'setosa' as a number"
        );
        let (path, msg) = err("species,a\nsetosa,1\n", Some(&["a", "species"]));
        assert_eq!(
            msg,
            format!(
                "data file '{path}', row 2, column 'species': cannot parse 'setosa' as a number"
            )
        );
    }

    #[test]
    fn invalid_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "x.csv", b"a,b\n1,2\n3,\xff\n");
        let msg = load(&path, None).unwrap_err().to_string();
        assert_eq!(
            msg,
            format!("data file '{path}', row 3: invalid UTF-8 (byte 11)")
        );
    }

    #[test]
    fn messages_stay_on_one_line() {
        // A quoted cell with a line break, and a long cell.
        let long = "y".repeat(100);
        let (path, msg) = err("a,b\n1,2\n1,\"x\ny\"\n", None);
        assert_eq!(
            msg,
            format!("data file '{path}', row 3, column 'b': cannot parse 'x\\ny' as a number")
        );
        let (path, msg) = err(&format!("a,b\n1,2\n2,{long}\n"), None);
        assert_eq!(
            msg,
            format!(
                "data file '{path}', row 3, column 'b': cannot parse '{}...' as a number",
                "y".repeat(MAX_CELL_CHARS)
            )
        );
        // A column name with a line break.
        let (path, msg) = err("\"a\nb\",c\nx,y\n", None);
        assert_eq!(
            msg,
            format!("data file '{path}' has no numeric column (columns: a\\nb, c)")
        );
        // A path with a line break.
        let msg = load("no\nsuch.csv", None).unwrap_err().to_string();
        assert!(
            msg.starts_with("cannot read data file 'no\\nsuch.csv': "),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
        // A directory instead of a file.
        let dir = tempfile::tempdir().unwrap();
        let msg = load(dir.path().to_str().unwrap(), None)
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("cannot read data file '"), "{msg}");
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn row_numbers_are_line_numbers() {
        // Blank lines and multi-line quoted cells still count as lines.
        let (path, msg) = err("a,b\n\n1,\"2\n\"\n\n3,z\n", None);
        assert_eq!(
            msg,
            format!("data file '{path}', row 6, column 'b': cannot parse 'z' as a number")
        );
        let cases = [
            ("a,b\r\n\r\n1,2\r\n3,z\r\n", 4),
            ("a,b\r1,2\r\r3,z", 4),
            ("\n\n a,b\n1,2\n   \n3,z\n", 6),
            ("a,b\n\"1\r\n\r\n\",2\r\n\n\r\n3,z", 7),
        ];
        for (body, row) in cases {
            let (path, msg) = err(body, None);
            assert_eq!(
                msg,
                format!("data file '{path}', row {row}, column 'b': cannot parse 'z' as a number"),
                "{body:?}"
            );
        }
        let (path, msg) = err("a,b\r\n1,2\r\n\r\n3\r\n", None);
        assert_eq!(
            msg,
            format!("data file '{path}', row 4: expected 2 fields, found 1")
        );
    }

    /// Arbitrary small inputs never panic and always give one-line errors.
    #[test]
    fn never_panics_on_garbage() {
        const ALPHABET: &[u8] = b",,\n\n\"1.e-a x\r\xff\xc3";
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let one = ["1".to_string()];
        let two = ["a".to_string(), "1".to_string()];
        for _ in 0..3000 {
            let len = (next() % 24) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            for columns in [None, Some(&one[..]), Some(&two[..])] {
                match parse("fuzz.csv", &bytes, columns) {
                    Ok(t) => {
                        assert!(t.n_rows() > 0 && t.n_cols() > 0);
                        assert!(t.columns.iter().all(|c| c.len() == t.n_rows()));
                        assert!(t.columns.iter().flatten().all(|v| !v.is_infinite()));
                        assert!(t.columns.iter().all(|c| c.iter().any(|v| !v.is_nan())));
                    }
                    Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
                }
            }
        }
    }
}
