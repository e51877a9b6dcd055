//! Every data source behind one parsed spec, and one entry point that reads it: a CSV file
//! (small ones by the full reader, large ones by the streaming reader), a NumPy `.npy` file, a
//! Parquet file (cargo feature `parquet`), an embedded data set (`builtin:NAME`) or a grid
//! (`grid:START,STOP,STEP`), with the columns to use.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

use bgmm::Data;

use crate::stream::Source;
use crate::table;

/// Where data come from, as the command line names it.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    /// `builtin:NAME`: an embedded data set (the name as given, checked when read).
    Builtin(String),
    /// `grid:START,STOP,STEP`: the range as given, checked when read.
    Grid(String),
    /// A NumPy `.npy` file.
    Npy(PathBuf),
    /// A Parquet file (`.parquet`).
    Parquet(PathBuf),
    /// A CSV file with a header row (any other path).
    Csv(PathBuf),
}

impl DataSource {
    /// The kind of `spec`, by its prefix or extension (no file is opened).
    pub fn parse(spec: &str) -> DataSource {
        if let Some(name) = spec.strip_prefix("builtin:") {
            DataSource::Builtin(name.to_string())
        } else if let Some(range) = spec.strip_prefix("grid:") {
            DataSource::Grid(range.to_string())
        } else if spec.ends_with(".parquet") {
            DataSource::Parquet(PathBuf::from(spec))
        } else if spec.ends_with(".npy") {
            DataSource::Npy(PathBuf::from(spec))
        } else {
            DataSource::Csv(PathBuf::from(spec))
        }
    }

    /// A file on disk (not an embedded data set or a grid).
    pub fn is_file(&self) -> bool {
        !matches!(self, DataSource::Builtin(_) | DataSource::Grid(_))
    }
}

/// A parsed data argument: the text as given (it names the data in messages and records), its
/// kind, and the columns asked for (`None`: every numeric column).
#[derive(Debug, Clone, PartialEq)]
pub struct DataSpec {
    pub text: String,
    pub source: DataSource,
    pub columns: Option<Vec<String>>,
}

impl DataSpec {
    pub fn new(spec: &str, columns: Option<&[String]>) -> DataSpec {
        DataSpec {
            text: spec.to_string(),
            source: DataSource::parse(spec),
            columns: columns.map(<[String]>::to_vec),
        }
    }

    /// Read the data: the values by column and the columns' names.
    pub fn read(&self) -> Result<(Data, Vec<String>)> {
        let spec = self.text.as_str();
        let columns = self.columns.as_deref();
        match &self.source {
            DataSource::Parquet(_path) => {
                #[cfg(feature = "parquet")]
                return crate::stream::load_parquet(_path, columns);
                #[cfg(not(feature = "parquet"))]
                anyhow::bail!(
                    "'{spec}': this bgmm was built without Parquet support (cargo build --release --features parquet)"
                );
            }
            DataSource::Npy(path) => streamed(path, columns, false),
            DataSource::Csv(path) if is_large_csv(path) => streamed(path, columns, true),
            _ => table_data(spec, table::load(spec, columns)?),
        }
    }

    /// [`DataSpec::read`] with default columns: `preferred` (a fit's or a run's) when the data
    /// have all of them, else (or when there are none) every numeric column.
    pub fn read_preferring(&self, preferred: &[String]) -> Result<(Data, Vec<String>)> {
        if self.columns.is_some() || preferred.is_empty() {
            return self.read();
        }
        let with = |columns: Option<&[String]>| DataSpec::new(&self.text, columns).read();
        match &self.source {
            DataSource::Npy(_) | DataSource::Parquet(_) => {
                with(Some(preferred)).or_else(|_| with(None))
            }
            DataSource::Csv(path) if is_large_csv(path) => {
                with(Some(preferred)).or_else(|_| with(None))
            }
            _ => {
                // the text reader: one read of the file, then the columns picked
                let t = table::load(&self.text, None)?
                    .select(preferred)
                    .unwrap_or_else(|all| all);
                table_data(&self.text, t)
            }
        }
    }
}

/// Read `spec` (see [`DataSpec`]) with `columns`.
pub fn read_data(spec: &str, columns: Option<&[String]>) -> Result<(Data, Vec<String>)> {
    DataSpec::new(spec, columns).read()
}

/// A file read by the streaming reader: straight into exactly-sized columns, so that memory
/// is the data's own f64 size.
fn streamed(path: &Path, columns: Option<&[String]>, csv: bool) -> Result<(Data, Vec<String>)> {
    let cols = match columns {
        Some(c) => c.to_vec(),
        None if !csv => Vec::new(),
        None => Source::numeric_columns(path)?,
    };
    let chosen = if cols.is_empty() {
        None
    } else {
        Some(&cols[..])
    };
    let src = Source::open(path, chosen)?;
    let data = src.load_all()?;
    Ok((data, src.names))
}

/// CSV files above this size are read by the streaming reader (exactly-sized columns, no copy
/// of the text in memory); smaller ones by the full reader (quoted fields, text columns
/// anywhere, every error with its row). `BGMM_STREAM_CSV_BYTES` overrides it (tests).
const STREAM_CSV_BYTES: u64 = 256 << 20;

fn is_large_csv(path: &Path) -> bool {
    let limit = std::env::var("BGMM_STREAM_CSV_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(STREAM_CSV_BYTES);
    std::fs::metadata(path).is_ok_and(|m| m.len() > limit)
}

fn table_data(spec: &str, t: table::Table) -> Result<(Data, Vec<String>)> {
    let names = t.names.clone();
    let data = Data::with_missing(t.columns).map_err(|e| anyhow!("data '{spec}': {e}"))?;
    Ok((data, names))
}

/// Integers in row order are taken for row numbers from this many rows on.
const ROW_NUMBERS_MIN: usize = 10;

/// Warnings about data columns that look like row numbers or a row index, used as data
/// because no ``columns`` were given: integers 1..N or 0..N−1 in row order, or integers in a
/// column named like an index (`id`, `index`, `…_id`, pandas' `Unnamed: 0` or an empty name).
pub fn id_like_warnings(data: &Data, names: &[String], source: &str) -> Vec<String> {
    if !DataSource::parse(source).is_file() || data.n() < 2 {
        return Vec::new();
    }
    let mut warnings = Vec::new();
    let mut id_like = vec![false; data.d()];
    for (j, name) in names.iter().enumerate().take(data.d()) {
        let col = data.col(j);
        // integers where observed (a missing value hides nothing about the rest)
        let mut observed = col.iter().filter(|v| !v.is_nan()).peekable();
        if observed.peek().is_none() || !observed.all(|v| v.fract() == 0.0) {
            continue;
        }
        // row numbers of a handful of points may well be data
        let start = col[0];
        let counts = col.len() >= ROW_NUMBERS_MIN
            && (start == 0.0 || start == 1.0)
            && col.iter().enumerate().all(|(i, &v)| v == start + i as f64);
        let lower = name.trim().to_lowercase();
        let named = ["id", "index", "idx", ""].contains(&lower.as_str())
            || lower.ends_with("_id")
            || lower.starts_with("unnamed:");
        let why = if counts {
            format!(
                "holds the integers {start}..{} in row order, like a row number",
                start + (col.len() - 1) as f64
            )
        } else if named {
            "holds integers and is named like a row index".to_string()
        } else {
            continue;
        };
        id_like[j] = true;
        warnings.push(format!(
            "column '{name}' of '{source}' {why}, yet is used as a data column (no `columns` given)"
        ));
    }
    if !warnings.is_empty() {
        let rest: Vec<&str> = names
            .iter()
            .zip(&id_like)
            .filter(|(_, id)| !**id)
            .map(|(n, _)| n.as_str())
            .collect();
        let remedy = if rest.is_empty() {
            "it is the only numeric column: check the file".to_string()
        } else {
            format!("to leave it out, give `columns` {}", rest.join(","))
        };
        let last = warnings.len() - 1;
        warnings[last].push_str(&format!("; {remedy}"));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_of_a_data_argument_is_read_from_its_prefix_or_extension() {
        assert_eq!(
            DataSource::parse("builtin:iris"),
            DataSource::Builtin("iris".into())
        );
        assert_eq!(
            DataSource::parse("grid:0,1,0.5"),
            DataSource::Grid("0,1,0.5".into())
        );
        assert_eq!(
            DataSource::parse("a/b.npy"),
            DataSource::Npy(PathBuf::from("a/b.npy"))
        );
        assert_eq!(
            DataSource::parse("b.parquet"),
            DataSource::Parquet(PathBuf::from("b.parquet"))
        );
        assert_eq!(
            DataSource::parse("b.csv"),
            DataSource::Csv(PathBuf::from("b.csv"))
        );
        assert!(!DataSource::parse("builtin:x").is_file());
        assert!(DataSource::parse("x.tsv").is_file());
    }

    /// Issue 11: `fit DATA -k K` used a column of row numbers as data without a word.
    #[test]
    fn row_numbers_and_index_columns_are_named() {
        let warn = |cols: Vec<(&str, Vec<f64>)>, source: &str| {
            let names: Vec<String> = cols.iter().map(|(n, _)| n.to_string()).collect();
            let data = Data::from_columns(cols.into_iter().map(|(_, c)| c).collect()).unwrap();
            id_like_warnings(&data, &names, source)
        };
        // 12 rows
        let a: Vec<f64> = (0..12).map(|i| 0.37 * i as f64 - 1.1).collect();
        let ids: Vec<f64> = (1..=12).map(f64::from).collect();
        assert_eq!(
            warn(
                vec![("id", ids.clone()), ("a", a.clone()), ("b", a.clone())],
                "d.csv"
            ),
            [
                "column 'id' of 'd.csv' holds the integers 1..12 in row order, like a row number, \
                 yet is used as a data column (no `columns` given); to leave it out, give \
                 `columns` a,b"
            ]
        );
        // pandas' index, from 0, under another name
        let from0: Vec<f64> = (0..12).map(f64::from).collect();
        assert_eq!(
            warn(vec![("a", a.clone()), ("row", from0.clone())], "d.csv"),
            [
                "column 'row' of 'd.csv' holds the integers 0..11 in row order, like a row \
                 number, yet is used as a data column (no `columns` given); to leave it out, \
                 give `columns` a"
            ]
        );
        // named like an index, integers in any order (any number of rows); two of them
        let shuffled: Vec<f64> = (0..12).map(|i| f64::from((i * 5) % 12)).collect();
        assert_eq!(
            warn(
                vec![
                    ("Unnamed: 0", shuffled.clone()),
                    ("a", a.clone()),
                    ("patient_ID", shuffled.clone())
                ],
                "d.csv"
            ),
            [
                "column 'Unnamed: 0' of 'd.csv' holds integers and is named like a row index, \
                 yet is used as a data column (no `columns` given)",
                "column 'patient_ID' of 'd.csv' holds integers and is named like a row index, \
                 yet is used as a data column (no `columns` given); to leave it out, give \
                 `columns` a"
            ]
        );
        assert_eq!(
            warn(vec![("", vec![3.0, 1.0]), ("a", vec![0.5, 0.7])], "d.csv").len(),
            1
        );
        // the only numeric column
        assert_eq!(
            warn(vec![("n", ids.clone())], "d.csv"),
            [
                "column 'n' of 'd.csv' holds the integers 1..12 in row order, like a row \
                 number, yet is used as a data column (no `columns` given); it is the only \
                 numeric column: check the file"
            ]
        );
        // not row numbers: other integers, another start, another step, backwards, not all
        // integers, fewer than 10 rows, or deliberately a grid
        let none: Vec<String> = Vec::new();
        let mut last_off = ids.clone();
        last_off[11] = 12.5;
        for col in [
            shuffled.clone(),
            (2..14).map(f64::from).collect(),
            (0..12).map(|i| f64::from(2 * i)).collect(),
            (1..=12).rev().map(f64::from).collect(),
            last_off,
        ] {
            assert_eq!(warn(vec![("count", col), ("a", a.clone())], "d.csv"), none);
        }
        let nine: Vec<f64> = (1..=9).map(f64::from).collect();
        assert_eq!(
            warn(
                vec![("count", nine.clone()), ("a", a[..9].to_vec())],
                "d.csv"
            ),
            none
        );
        assert_eq!(warn(vec![("count", vec![1.0, 2.0])], "d.csv"), none);
        let mut index_of_reals = from0.clone();
        index_of_reals[0] = 0.5;
        assert_eq!(warn(vec![("index", index_of_reals)], "d.csv"), none);
        assert_eq!(warn(vec![("x", from0)], "grid:0,12,1"), none);
        // a missing value in an index column leaves it named (issue 14), and a column of
        // integers with a gap is no row number
        let mut gap = shuffled.clone();
        gap[3] = f64::NAN;
        let names = vec!["patient_ID".to_string(), "count".to_string()];
        let holes = Data::with_missing(vec![gap.clone(), gap]).unwrap();
        assert_eq!(
            id_like_warnings(&holes, &names, "d.csv"),
            [
                "column 'patient_ID' of 'd.csv' holds integers and is named like a row index, \
                 yet is used as a data column (no `columns` given); to leave it out, give \
                 `columns` count"
            ]
        );
        let mut ids_gap = ids.clone();
        ids_gap[5] = f64::NAN;
        let one = Data::with_missing(vec![ids_gap, a.clone()]).unwrap();
        assert_eq!(
            id_like_warnings(&one, &["n".to_string(), "a".to_string()], "d.csv"),
            none
        );
    }
}
