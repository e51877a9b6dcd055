//! Data files read without holding them as text: NumPy `.npy` (little-endian f8 or f4, C or
//! Fortran order, shape (N,) or (N, D)) and CSV. A [`Source`] knows N and D after one pass
//! over the header (NPY) or the lines (CSV), loads all the data into exactly-sized columns, or
//! draws minibatches: runs of consecutive rows from random places in the file, so that memory
//! stays at the minibatch's size whatever the file's.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{anyhow, bail, Result};
use chacha20::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use bgmm::{Data, LogDensity, MixtureDensity, Model};

use crate::input::{read_line, read_text_line};
use crate::table::{cell_value, clean, clean_cell, is_missing, no_value};

/// Rows per run of a minibatch.
pub const RUN: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// f8 or f4 values starting at `offset`, C (row-major) or Fortran (column-major) order.
    Npy {
        offset: u64,
        f4: bool,
        fortran: bool,
        d_all: usize,
    },
    /// CSV with a header line of `width` fields.
    Csv { width: usize },
}

/// A data file on disk.
pub struct Source {
    path: PathBuf,
    kind: Kind,
    /// Rows.
    pub n: usize,
    /// Column names.
    pub names: Vec<String>,
    /// CSV: the field of each selected column, and the header's length in bytes.
    fields: Vec<usize>,
    header_len: u64,
    file_len: u64,
    /// An open handle for positional reads of minibatch runs.
    file: File,
}

fn shown(p: &Path) -> String {
    clean(&p.display().to_string())
}

/// Open a data file the streaming reader reads more than once, at places it seeks to: a
/// regular file (checked before opening: opening a FIFO blocks until a writer comes).
fn open_regular(path: &Path) -> Result<File> {
    let s = shown(path);
    let meta = std::fs::metadata(path).map_err(|e| anyhow!("cannot read data file '{s}': {e}"))?;
    if meta.is_dir() {
        bail!("cannot read data file '{s}': it is a directory");
    }
    if !meta.is_file() {
        bail!(
            "cannot read data file '{s}': not a regular file (a FIFO, socket or device); this reader reads the file more than once, so copy the data to a file first"
        );
    }
    File::open(path).map_err(|e| anyhow!("cannot read data file '{s}': {e}"))
}

/// The `.npy` header: (data offset, f4?, fortran?, shape).
fn npy_header(path: &Path, f: &mut File) -> Result<(u64, bool, bool, Vec<usize>)> {
    let (offset, f4, fortran, shape) = npy_header_any(path, f)?;
    if shape.is_empty() || shape.len() > 2 {
        let shown_shape: Vec<String> = shape.iter().map(usize::to_string).collect();
        bail!(
            "'{}': .npy shape ({}) is not (N,) or (N, D)",
            shown(path),
            shown_shape.join(", ")
        );
    }
    Ok((offset, f4, fortran, shape))
}

/// The `.npy` header of any shape: (data offset, f4?, fortran?, shape).
pub(crate) fn npy_header_any(path: &Path, f: &mut File) -> Result<(u64, bool, bool, Vec<usize>)> {
    let s = shown(path);
    let mut magic = [0u8; 8];
    f.read_exact(&mut magic)
        .map_err(|_| anyhow!("'{s}': too short for a .npy file"))?;
    if &magic[..6] != b"\x93NUMPY" {
        bail!("'{s}': not a .npy file (no \\x93NUMPY magic)");
    }
    let cut = |_| anyhow!("'{s}': the .npy header is cut short");
    let (hlen, pre) = match magic[6] {
        1 => {
            let mut b = [0u8; 2];
            f.read_exact(&mut b).map_err(cut)?;
            (u16::from_le_bytes(b) as usize, 10u64)
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            f.read_exact(&mut b).map_err(cut)?;
            (u32::from_le_bytes(b) as usize, 12u64)
        }
        v => bail!("'{s}': .npy format version {v} is not supported (1, 2 or 3)"),
    };
    if hlen > 1 << 20 {
        bail!("'{s}': .npy header of {hlen} bytes is implausible");
    }
    let mut h = vec![0u8; hlen];
    f.read_exact(&mut h)
        .map_err(|_| anyhow!("'{s}': the .npy header is cut short"))?;
    let h = String::from_utf8_lossy(&h).to_string();
    let field = |key: &str| -> Result<String> {
        let i = h
            .find(&format!("'{key}'"))
            .ok_or_else(|| anyhow!("'{s}': the .npy header has no '{key}'"))?;
        let rest = h[i + key.len() + 2..]
            .trim_start()
            .trim_start_matches(':')
            .trim_start();
        Ok(rest.to_string())
    };
    let descr = field("descr")?;
    let f4 = if descr.starts_with("'<f8'") || descr.starts_with("'float64'") {
        false
    } else if descr.starts_with("'<f4'") {
        true
    } else {
        // the dtype as written: a string, or a structured dtype's list (escaped and cut)
        let shown_descr = match descr.find(']') {
            Some(end) if descr.starts_with('[') => &descr[..=end],
            _ => descr.split(',').next().unwrap_or("?"),
        };
        bail!(
            "'{s}': .npy dtype {} is not supported (little-endian float64 '<f8' or float32 '<f4')",
            clean_cell(shown_descr)
        );
    };
    let fortran = field("fortran_order")?.starts_with("True");
    let shape_text = field("shape")?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|r| r.split(')').next())
        .ok_or_else(|| anyhow!("'{s}': cannot read the .npy shape"))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<usize>())
        .collect::<std::result::Result<Vec<usize>, _>>()
        .map_err(|_| anyhow!("'{s}': cannot read the .npy shape ({})", clean_cell(inner)))?;
    Ok((pre + hlen as u64, f4, fortran, shape))
}

impl Source {
    /// Open a data file (`.npy` by its extension, CSV otherwise), with the columns to use.
    pub fn open(path: &Path, columns: Option<&[String]>) -> Result<Source> {
        let s = shown(path);
        let mut f = open_regular(path)?;
        let meta = f
            .metadata()
            .map_err(|e| anyhow!("cannot read data file '{s}': {e}"))?;
        if meta.is_dir() {
            bail!("cannot read data file '{s}': it is a directory");
        }
        let file_len = meta.len();
        if path.extension().is_some_and(|e| e == "npy") {
            let (offset, f4, fortran, shape) = npy_header(path, &mut f)?;
            let (n, d) = (shape[0], shape.get(1).copied().unwrap_or(1));
            let width = if f4 { 4 } else { 8 };
            // a shape beyond 2^64 bytes cannot be in the file either
            let need = (n as u64)
                .checked_mul(d as u64)
                .and_then(|v| v.checked_mul(width))
                .and_then(|v| v.checked_add(offset));
            if need.is_none_or(|need| file_len < need) {
                let need = need.map_or("more than 2^64".to_string(), |v| v.to_string());
                bail!(
                    "'{s}': the .npy file is cut short ({file_len} bytes, its shape ({n}, {d}) needs {need})"
                );
            }
            if n == 0 || d == 0 {
                bail!("'{s}': no data (shape {n} × {d})");
            }
            let all: Vec<String> = bgmm_names(d);
            let fields = select(&s, &all, columns)?;
            let src = Source {
                path: path.to_path_buf(),
                kind: Kind::Npy {
                    offset,
                    f4,
                    fortran,
                    d_all: d,
                },
                n,
                names: fields.iter().map(|&j| all[j].clone()).collect(),
                fields,
                header_len: offset,
                file_len,
                file: File::open(path)?,
            };
            src.npy_values_seen(columns.is_none())?;
            return Ok(src);
        }
        // CSV: the header, then count the lines (a streaming pass; nothing is kept)
        let mut r = BufReader::with_capacity(1 << 20, f);
        let mut header = String::new();
        let mut buf = Vec::with_capacity(1 << 16);
        read_header(&mut r, &mut buf, &mut header, &s)?;
        if header.trim().is_empty() {
            bail!("'{s}': empty file (a header row is needed)");
        }
        let all = header_names(&s, &header)?;
        let fields = select(&s, &all, columns)?;
        let mut n = 0usize;
        let mut line = 1u64;
        // the selected columns no value has been seen in yet (a row that cannot be read is
        // passed over here: reading it names the problem)
        let mut pending: Vec<usize> = (0..fields.len()).collect();
        loop {
            line += 1;
            if read_line(&mut r, &mut buf, &s, line)? == 0 {
                break;
            }
            // blank as the row readers judge it (`str::trim`, which knows Unicode spaces)
            let text = String::from_utf8_lossy(&buf);
            if !text.trim().is_empty() {
                n += 1;
                if !pending.is_empty() {
                    if let Some(cells) = self::fields(&text) {
                        pending.retain(|&c| cells.get(fields[c]).is_none_or(|v| is_missing(v)));
                    }
                }
            }
        }
        if n == 0 {
            bail!("'{s}': no data rows after the header");
        }
        if let Some(&c) = pending.first() {
            let file = format!("data file '{s}'");
            bail!("{}", no_value(&file, &all[fields[c]], n, columns.is_none()));
        }
        Ok(Source {
            path: path.to_path_buf(),
            kind: Kind::Csv { width: all.len() },
            n,
            names: fields.iter().map(|&j| all[j].clone()).collect(),
            fields,
            header_len: header.len() as u64,
            file_len,
            file: File::open(path)?,
        })
    }

    /// A CSV file's numeric columns, each judged by its first cell that is not a missing
    /// value (for large files read without ``columns``: text columns are left out, as the
    /// in-memory reader does). Reads until every column is judged: one row, as a rule.
    pub fn numeric_columns(path: &Path) -> Result<Vec<String>> {
        let s = shown(path);
        let f = open_regular(path)?;
        let mut r = BufReader::new(f);
        let (mut header, mut text) = (String::new(), String::new());
        let mut buf = Vec::new();
        let mut line = read_header(&mut r, &mut buf, &mut header, &s)?;
        let names = header_names(&s, &header)?;
        // None: only missing values seen yet; Some(numeric?)
        let mut judged: Vec<Option<bool>> = vec![None; names.len()];
        let mut rows = 0usize;
        while judged.iter().any(Option::is_none) {
            line += 1;
            if read_text_line(&mut r, &mut buf, &mut text, &s, line)? == 0 {
                break;
            }
            if text.trim().is_empty() {
                continue;
            }
            rows += 1;
            // a row that cannot be split is passed over: reading it names the problem
            let cells = fields(&text).unwrap_or_default();
            for (j, cell) in cells.iter().enumerate().take(names.len()) {
                if judged[j].is_none() && !is_missing(cell) {
                    judged[j] = Some(cell.parse::<f64>().is_ok());
                }
            }
        }
        if rows == 0 {
            bail!("'{s}': no data rows after the header");
        }
        // a named column of missing values only is an error, as in the in-memory reader; an
        // unnamed one (a trailing comma) is left out
        if let Some(j) = (0..names.len()).find(|&j| judged[j].is_none() && !names[j].is_empty()) {
            bail!(
                "{}",
                no_value(&format!("data file '{s}'"), &names[j], rows, true)
            );
        }
        let picked: Vec<String> = names
            .into_iter()
            .zip(&judged)
            .filter(|(_, k)| **k == Some(true))
            .map(|(n, _)| n)
            .collect();
        if picked.is_empty() {
            bail!("'{s}': no numeric column");
        }
        Ok(picked)
    }

    /// An .npy column with no value (NaN throughout) is an error, as in CSV: rows are read
    /// from the top until every column has shown a value (one row, as a rule).
    fn npy_values_seen(&self, hint: bool) -> Result<()> {
        let d = self.d().max(1);
        let mut pending: Vec<usize> = (0..self.d()).collect();
        // chunks of 4096 values at first, doubling up to 2^20 (a wide file reads few rows)
        let (mut start, mut chunk) = (0, (4096 / d).max(1));
        while !pending.is_empty() && start < self.n {
            let count = chunk.min(self.n - start);
            let mut cols = vec![Vec::new(); self.d()];
            self.read_rows(start, count, &mut cols)?;
            pending.retain(|&c| cols[c].iter().all(|v| v.is_nan()));
            start += count;
            chunk = (2 * chunk).min(((1 << 20) / d).max(1));
        }
        match pending.first() {
            Some(&c) => {
                let file = format!("data file '{}'", shown(&self.path));
                bail!("{}", no_value(&file, &self.names[c], self.n, hint))
            }
            None => Ok(()),
        }
    }

    /// Columns used.
    pub fn d(&self) -> usize {
        self.fields.len()
    }

    /// Empty columns with room for `rows` rows each, reserved fallibly.
    fn columns(&self, rows: usize) -> Result<Vec<Vec<f64>>> {
        let d = self.d();
        bgmm::limits::probe(
            rows as u128 * d as u128 * 8,
            || {
                format!(
                    "{rows} rows × {d} column{} of '{}'",
                    if d == 1 { "" } else { "s" },
                    shown(&self.path)
                )
            },
            None,
        )?;
        (0..d)
            .map(|_| {
                bgmm::limits::with_capacity(
                    rows,
                    || {
                        format!(
                            "{rows} rows × {d} column{} of '{}'",
                            if d == 1 { "" } else { "s" },
                            shown(&self.path)
                        )
                    },
                    None,
                )
                .map_err(anyhow::Error::from)
            })
            .collect()
    }

    /// Every row, into columns allocated at their final size (memory: the data's f64 size).
    pub fn load_all(&self) -> Result<Data> {
        let mut cols = self.columns(self.n)?;
        self.read_rows(0, self.n, &mut cols)?;
        Data::with_missing(cols).map_err(|e| anyhow!("'{}': {e}", shown(&self.path)))
    }

    /// Rows `start..start + count` as data (a chunk of a streaming pass).
    pub fn rows(&self, start: usize, count: usize) -> Result<Data> {
        let mut cols = self.columns(count)?;
        match self.kind {
            Kind::Npy { .. } => self.read_rows(start, count, &mut cols)?,
            Kind::Csv { .. } => self.csv_rows(start, count, &mut cols)?,
        }
        Data::with_missing(cols).map_err(|e| anyhow!("'{}': {e}", shown(&self.path)))
    }

    /// Every row once, in order, `chunk` rows at a time (one reader: a streaming pass).
    pub fn for_each_chunk(
        &self,
        chunk: usize,
        mut f: impl FnMut(Data) -> Result<()>,
    ) -> Result<()> {
        let s = shown(&self.path);
        match self.kind {
            Kind::Npy { .. } => {
                let mut start = 0;
                while start < self.n {
                    let count = chunk.min(self.n - start);
                    f(self.rows(start, count)?)?;
                    start += count;
                }
            }
            Kind::Csv { .. } => {
                let mut rows = self.csv_reader()?;
                loop {
                    let mut cols = self.columns(chunk)?;
                    if rows.take(self, 0, chunk, &mut cols)? == 0 {
                        break;
                    }
                    f(Data::with_missing(cols).map_err(|e| anyhow!("'{s}': {e}"))?)?;
                }
            }
        }
        Ok(())
    }

    /// CSV rows `start..start + count` (counted after the header, blank lines skipped), read
    /// from the top (for a few rows; a pass over the file uses [`Source::for_each_chunk`]).
    fn csv_rows(&self, start: usize, count: usize, cols: &mut [Vec<f64>]) -> Result<()> {
        self.csv_reader()?.take(self, start, count, cols).map(drop)
    }

    /// A reader of the CSV rows after the header, in order.
    fn csv_reader(&self) -> Result<CsvRows> {
        let mut f = File::open(&self.path)?;
        f.seek(SeekFrom::Start(self.header_len))?;
        Ok(CsvRows {
            r: BufReader::with_capacity(1 << 20, f),
            line: String::new(),
            buf: Vec::new(),
            row: 1,
        })
    }

    /// Rows `start..start + count` appended to `cols` (CSV rows are counted after the header,
    /// blank lines skipped; minibatches of CSV use [`Source::csv_run`]).
    fn read_rows(&self, start: usize, count: usize, cols: &mut [Vec<f64>]) -> Result<()> {
        let s = shown(&self.path);
        match self.kind {
            Kind::Npy {
                offset,
                f4,
                fortran,
                d_all,
            } => {
                let width = if f4 { 4 } else { 8 };
                let mut f = File::open(&self.path)?;
                let val = |b: &[u8]| npy_value(b, f4);
                if fortran {
                    for (c, &j) in self.fields.iter().enumerate() {
                        let at = offset + ((j * self.n + start) * width) as u64;
                        f.seek(SeekFrom::Start(at))?;
                        let mut r = BufReader::with_capacity(1 << 20, &mut f);
                        let mut b = [0u8; 8];
                        for i in 0..count {
                            r.read_exact(&mut b[..width])?;
                            let v = val(&b);
                            check_value(&s, start + i, &self.names[c], v)?;
                            cols[c].push(v);
                        }
                    }
                } else {
                    // about a MiB of rows at a time, each chosen column taken out of them in
                    // one loop (value by value through a buffered reader, a million rows of
                    // eight columns took 0.16 s)
                    f.seek(SeekFrom::Start(offset + (start * d_all * width) as u64))?;
                    let row = d_all * width;
                    let per = ((1 << 20) / row.max(1)).max(1);
                    let mut buf = vec![0u8; per.min(count.max(1)) * row];
                    let mut done = 0;
                    while done < count {
                        let m = per.min(count - done);
                        let chunk = &mut buf[..m * row];
                        f.read_exact(chunk)?;
                        // the first bad value in row order, as a row-by-row read finds it
                        let mut bad: Option<(usize, usize, f64)> = None;
                        for (c, &j) in self.fields.iter().enumerate() {
                            let from = cols[c].len();
                            cols[c].extend(
                                chunk
                                    .chunks_exact(row)
                                    .map(|r| val(&r[j * width..(j + 1) * width])),
                            );
                            let first = cols[c][from..].iter().position(|v| v.is_infinite());
                            if let Some(i) = first.filter(|&i| bad.is_none_or(|b| i < b.0)) {
                                bad = Some((i, c, cols[c][from + i]));
                            }
                        }
                        if let Some((i, c, v)) = bad {
                            check_value(&s, start + done + i, &self.names[c], v)?;
                        }
                        done += m;
                    }
                }
                Ok(())
            }
            Kind::Csv { .. } => self.csv_rows(start, count, cols),
        }
    }

    fn parse_line(&self, s: &str, row: usize, line: &str, cols: &mut [Vec<f64>]) -> Result<()> {
        // worded as the full reader words them (`table`), which reads the smaller files
        let file = format!("data file '{}'", clean(s));
        let cells = fields(line).ok_or_else(|| {
            anyhow!("{file}, row {row}: a quoted field is not closed on its line (this reader of large files takes line breaks only in the header)")
        })?;
        if let Kind::Csv { width } = self.kind {
            if cells.len() != width {
                bail!(
                    "{file}, row {row}: expected {width} fields, found {}",
                    cells.len()
                );
            }
        }
        for (c, &j) in self.fields.iter().enumerate() {
            let cell = cells.get(j).ok_or_else(|| {
                anyhow!(
                    "{file}, row {row}: {} fields, column '{}' is field {}",
                    cells.len(),
                    self.names[c],
                    j + 1
                )
            })?;
            let at = || format!("{file}, row {row}, column '{}'", clean(&self.names[c]));
            let v = cell_value(cell, at)?;
            cols[c].push(v);
        }
        Ok(())
    }

    /// A minibatch of about `b` rows: runs of [`RUN`] consecutive rows from random places.
    pub fn minibatch(&self, b: usize, rng: &mut ChaCha8Rng) -> Result<Data> {
        let mut cols = self.columns(b)?;
        let runs = b.div_ceil(RUN).max(1);
        let per = b.div_ceil(runs).min(self.n);
        for _ in 0..runs {
            match self.kind {
                Kind::Npy { .. } => {
                    let start = rng.random_range(0..=self.n - per);
                    self.npy_run(start, per, &mut cols)?;
                }
                Kind::Csv { .. } => self.csv_run(per, rng, &mut cols)?,
            }
        }
        Data::with_missing(cols).map_err(|e| anyhow!("'{}': {e}", shown(&self.path)))
    }

    /// Rows `start..start + count` of a C-order .npy file by one positional read on the open
    /// handle (Fortran order: one read per column).
    fn npy_run(&self, start: usize, count: usize, cols: &mut [Vec<f64>]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        let Kind::Npy {
            offset,
            f4,
            fortran,
            d_all,
        } = self.kind
        else {
            return self.read_rows(start, count, cols);
        };
        let s = shown(&self.path);
        let width = if f4 { 4 } else { 8 };
        let val = |b: &[u8]| npy_value(b, f4);
        if fortran {
            let mut buf = vec![0u8; count * width];
            for (c, &j) in self.fields.iter().enumerate() {
                let at = offset + ((j * self.n + start) * width) as u64;
                self.file.read_exact_at(&mut buf, at)?;
                for (i, b) in buf.chunks_exact(width).enumerate() {
                    let v = val(b);
                    check_value(&s, start + i, &self.names[c], v)?;
                    cols[c].push(v);
                }
            }
        } else {
            let mut buf = vec![0u8; count * d_all * width];
            self.file
                .read_exact_at(&mut buf, offset + (start * d_all * width) as u64)?;
            for (i, row) in buf.chunks_exact(d_all * width).enumerate() {
                for (c, &j) in self.fields.iter().enumerate() {
                    let v = val(&row[j * width..(j + 1) * width]);
                    check_value(&s, start + i, &self.names[c], v)?;
                    cols[c].push(v);
                }
            }
        }
        Ok(())
    }

    /// `count` CSV rows from a random byte offset (to the next line start; wrapping to the
    /// first row at the end).
    fn csv_run(&self, count: usize, rng: &mut ChaCha8Rng, cols: &mut [Vec<f64>]) -> Result<()> {
        let s = shown(&self.path);
        let body = self.file_len - self.header_len;
        let at = self.header_len + rng.random_range(0..body.max(1));
        let mut f = File::open(&self.path)?;
        f.seek(SeekFrom::Start(at))?;
        let mut r = BufReader::with_capacity(64 * 1024, f);
        let mut line = String::new();
        let mut buf = Vec::new();
        let bad = |e: anyhow::Error| anyhow!("'{s}', near byte {at}: {e:#}");
        // the rest of the line we landed in (bytes: it may start inside a character)
        read_line(&mut r, &mut buf, &s, 0).map_err(bad)?;
        let mut got = 0;
        let mut wrapped = false;
        while got < count {
            if read_text_line(&mut r, &mut buf, &mut line, &s, 0).map_err(bad)? == 0 {
                if wrapped {
                    break;
                }
                wrapped = true;
                let mut f = File::open(&self.path)?;
                f.seek(SeekFrom::Start(self.header_len))?;
                r = BufReader::with_capacity(64 * 1024, f);
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            // a row number is not known here: name the byte offset instead
            let cells = fields(&line).ok_or_else(|| {
                anyhow!(
                    "'{s}', near byte {at}: a quoted field is not closed on its line (line '{}')",
                    clean_cell(line.trim())
                )
            })?;
            if let Kind::Csv { width } = self.kind {
                if cells.len() != width {
                    bail!(
                        "'{s}', near byte {at}: expected {width} fields, found {} (line '{}')",
                        cells.len(),
                        line.trim()
                    );
                }
            }
            for (c, &j) in self.fields.iter().enumerate() {
                let cell: &str = cells.get(j).map_or("", |x| x);
                // (a cell the line does not have is a missing value: the row's width was
                // checked above)
                let here = || format!("'{s}', near byte {at}, column '{}'", clean(&self.names[c]));
                let v = cell_value(cell, here)
                    .map_err(|e| anyhow!("{e} (line '{}')", clean_cell(line.trim())))?;
                cols[c].push(v);
            }
            got += 1;
        }
        Ok(())
    }
}

/// One little-endian value of an .npy file (f4 widened to f64).
fn npy_value(b: &[u8], f4: bool) -> f64 {
    if f4 {
        f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64
    } else {
        f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }
}

/// CSV rows read in order, with the file's row number (1 is the header) for errors.
struct CsvRows {
    r: BufReader<File>,
    line: String,
    buf: Vec<u8>,
    row: usize,
}

impl CsvRows {
    /// Skip `skip` non-blank rows, then parse up to `count` into `cols`; returns how many.
    fn take(
        &mut self,
        src: &Source,
        skip: usize,
        count: usize,
        cols: &mut [Vec<f64>],
    ) -> Result<usize> {
        let s = shown(&src.path);
        let (mut seen, mut got) = (0usize, 0usize);
        while got < count {
            let read = read_text_line(
                &mut self.r,
                &mut self.buf,
                &mut self.line,
                &s,
                self.row as u64 + 1,
            )?;
            if read == 0 {
                break;
            }
            self.row += 1;
            if self.line.trim().is_empty() {
                continue;
            }
            if seen >= skip {
                src.parse_line(&s, self.row, &self.line, cols)?;
                got += 1;
            }
            seen += 1;
        }
        Ok(got)
    }
}

/// A value of an .npy file must be finite or NaN (a missing value); row `i` counts from 0, as
/// numpy indexes.
fn check_value(s: &str, i: usize, name: &str, v: f64) -> Result<()> {
    if v.is_infinite() {
        bail!("'{s}', row {i} (counting from 0), column '{name}': value {v} is not finite")
    }
    Ok(())
}

/// The column names of a CSV header (a byte-order mark removed, quoted names unquoted, spaces
/// around names trimmed, as the in-memory reader reads them).
fn header_names(s: &str, header: &str) -> Result<Vec<String>> {
    let line = header.trim_start_matches('\u{feff}');
    match fields(line) {
        Some(names) => Ok(names.into_iter().map(String::from).collect()),
        None => bail!(
            "data file '{}', row 1: a quoted column name is not closed",
            clean(s)
        ),
    }
}

/// The header: its first line, and the lines after it while a quoted name is open (a name
/// may hold a line break, as RFC 4180 allows); its text (with line ends) goes to
/// `header` (each line capped as every line read is); returns how many lines it took.
fn read_header(
    r: &mut impl std::io::BufRead,
    buf: &mut Vec<u8>,
    header: &mut String,
    file: &str,
) -> Result<u64> {
    read_text_line(r, buf, header, file, 1)?;
    let mut lines = 1;
    let mut more = String::new();
    while open_quote(header) {
        lines += 1;
        if read_text_line(r, buf, &mut more, file, lines)? == 0 {
            break;
        }
        header.push_str(&more);
    }
    Ok(lines)
}

/// Whether `text` ends inside a quoted field (an odd number of quotes: `""` in a quoted
/// field counts twice).
fn open_quote(text: &str) -> bool {
    text.bytes().filter(|&b| b == b'"').count() % 2 == 1
}

/// The fields of one CSV record (RFC 4180): a field whose first non-blank character is `"` is
/// quoted (commas and line breaks inside it are text, `""` is one quote); spaces around every
/// field are trimmed, as the in-memory reader trims them. `None` when a quote is left open.
fn fields(line: &str) -> Option<Vec<std::borrow::Cow<'_, str>>> {
    use std::borrow::Cow;
    let line = line.trim_end_matches(['\n', '\r']);
    if !line.contains('"') {
        return Some(line.split(',').map(|c| Cow::Borrowed(c.trim())).collect());
    }
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c != ',' && c.is_whitespace()) {
            chars.next();
        }
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return None,
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
        }
        // unquoted text, or text after a closing quote, up to the next comma
        let mut comma = false;
        for c in chars.by_ref() {
            if c == ',' {
                comma = true;
                break;
            }
            field.push(c);
        }
        out.push(Cow::Owned(field.trim().to_string()));
        if !comma {
            return Some(out);
        }
    }
}

/// Column names of an .npy file: `x` for one column, `x0, x1, …` otherwise (as `simulate`).
fn bgmm_names(d: usize) -> Vec<String> {
    crate::text::column_names(d)
}

fn select(s: &str, all: &[String], columns: Option<&[String]>) -> Result<Vec<usize>> {
    // the columns of each name, by one pass (a file of a million columns)
    let at = crate::table::positions(all);
    let fields: Vec<usize> = match columns {
        None => (0..all.len()).collect(),
        Some(req) => req
            .iter()
            .map(|c| {
                at.get(c.trim()).map(|v| v[0]).ok_or_else(|| {
                    let all: Vec<String> = all.iter().map(|n| clean(n)).collect();
                    anyhow!(
                        "data file '{}' has no column '{}' (`columns`; available: {})",
                        clean(s),
                        clean(c.trim()),
                        all.join(", ")
                    )
                })
            })
            .collect::<Result<_>>()?,
    };
    // a name used twice in the file is ambiguous, one asked for twice a mistake
    for &j in &fields {
        if let Some(&k) = at[all[j].as_str()].iter().find(|&&k| k != j) {
            let (a, b) = (j.min(k), j.max(k));
            bail!(
                "data file '{}' has two columns named '{}' (columns {} and {})",
                clean(s),
                clean(&all[j]),
                a + 1,
                b + 1
            );
        }
    }
    if let Some(req) = columns {
        crate::table::check_requested(req)?;
    }
    Ok(fields)
}

/// The header of a little-endian f8, C-order `.npy` file of `n` rows and `d` columns (shape
/// (n,) for one column); the values follow row by row.
pub fn npy_header_bytes(n: usize, d: usize) -> Vec<u8> {
    if d == 1 {
        npy_header_of_shape(&[n])
    } else {
        npy_header_of_shape(&[n, d])
    }
}

/// The `.npy` header (version 1, little-endian f8, C order) of an array of any shape.
pub fn npy_header_of_shape(dims: &[usize]) -> Vec<u8> {
    let parts: Vec<String> = dims.iter().map(usize::to_string).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", parts[0])
    } else {
        format!("({})", parts.join(", "))
    };
    let mut h = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
    // magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64
    // and ending in a newline
    let total = (10 + h.len() + 1).div_ceil(64) * 64;
    while 10 + h.len() + 1 < total {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out
}

/// Append the rows of `data` as .npy values (f8, C order).
pub fn write_npy_rows(w: &mut dyn Write, data: &Data) -> Result<()> {
    let mut buf = Vec::with_capacity(data.n() * data.d() * 8);
    for i in 0..data.n() {
        for j in 0..data.d() {
            buf.extend_from_slice(&data.col(j)[i].to_le_bytes());
        }
    }
    w.write_all(&buf)?;
    Ok(())
}

/// The log density on a stream of minibatches: each evaluation draws a new minibatch of `b`
/// rows and weights its likelihood by N/b (Pyro's subsampled plate). An unbiased stochastic
/// estimate of the full log density and its gradient, for Adam (MAP) and VI.
pub struct MinibatchDensity<'a> {
    model: &'a Model,
    source: &'a Source,
    b: usize,
    jacobian: bool,
    rng: Mutex<ChaCha8Rng>,
    /// The first read error, if any (the engines only see a NaN density).
    pub error: Mutex<Option<String>>,
}

impl<'a> MinibatchDensity<'a> {
    pub fn new(model: &'a Model, source: &'a Source, b: usize, jacobian: bool, seed: u64) -> Self {
        MinibatchDensity {
            model,
            source,
            b,
            jacobian,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
            error: Mutex::new(None),
        }
    }

    fn batch(&self) -> Option<Data> {
        let mut rng = self.rng.lock().ok()?;
        match self.source.minibatch(self.b, &mut rng) {
            Ok(d) => Some(d),
            Err(e) => {
                if let Ok(mut slot) = self.error.lock() {
                    slot.get_or_insert(format!("{e:#}"));
                }
                None
            }
        }
    }
}

impl LogDensity for MinibatchDensity<'_> {
    fn dim(&self) -> usize {
        self.model.n_unconstrained()
    }

    fn logp_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let Some(batch) = self.batch() else {
            grad.fill(f64::NAN);
            return f64::NAN;
        };
        let w = self.source.n as f64 / batch.n() as f64;
        MixtureDensity::new(self.model, &batch, self.jacobian)
            .with_weight(w)
            .logp_grad(x, grad)
    }

    fn constrain(&self, x: &[f64]) -> Vec<f64> {
        bgmm::Transform::new(self.model).params(x).flat()
    }

    fn names(&self) -> Vec<String> {
        self.model.constrained_names()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found as a user would: a column named `a,b` (quoted, as RFC 4180 and every CSV bgmm
    /// writes have it) was split in two by this reader, which then found more header fields
    /// than row fields.
    #[test]
    fn quoted_fields_are_read_as_the_in_memory_reader_reads_them() {
        let f = |l: &str| fields(l).map(|v| v.into_iter().map(String::from).collect::<Vec<_>>());
        assert_eq!(f("a, b ,c\r\n").unwrap(), ["a", "b", "c"]);
        assert_eq!(
            f("\"a,b\", \"say \"\"hi\"\"\",\"\",x\n").unwrap(),
            ["a,b", "say \"hi\"", "", "x"]
        );
        assert_eq!(f("\"1.5\",2").unwrap(), ["1.5", "2"]);
        assert_eq!(f("\"a\nb\",c").unwrap(), ["a\nb", "c"]);
        assert_eq!(f("\"open,1"), None);
        let tmp = tempfile::TempDir::new().unwrap();
        let p = tmp.path().join("q.csv");
        let text = "\"a,b\",\"line\nbreak\",\"Ω \"\"q\"\"\"\n1,2,3\n\"4\",5,6\n";
        std::fs::write(&p, text).unwrap();
        let src = Source::open(&p, None).unwrap();
        assert_eq!(src.names, ["a,b", "line\nbreak", "Ω \"q\""]);
        assert_eq!(src.n, 2);
        let d = src.load_all().unwrap();
        assert_eq!(d.col(0), [1.0, 4.0]);
        assert_eq!(d.col(2), [3.0, 6.0]);
        let t = crate::table::parse("q.csv", text.as_bytes(), None).unwrap();
        assert_eq!(t.names, src.names);
        assert_eq!(Source::numeric_columns(&p).unwrap(), src.names);
        let one = ["line\nbreak".to_string()];
        let src = Source::open(&p, Some(&one)).unwrap();
        assert_eq!(src.load_all().unwrap().col(0), [2.0, 5.0]);
        // a quote left open in a row is an error naming the row
        std::fs::write(&p, "a,b\n1,2\n\"3,4\n").unwrap();
        let e = Source::open(&p, None)
            .unwrap()
            .load_all()
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 3: a quoted field is not closed"), "{e}");
    }

    #[test]
    fn npy_round_trip_and_minibatches() {
        let tmp = tempfile::TempDir::new().unwrap();
        let p = tmp.path().join("x.npy");
        let data = Data::from_columns(vec![
            (0..1000).map(|i| i as f64).collect(),
            (0..1000).map(|i| -(i as f64)).collect(),
        ])
        .unwrap();
        let mut bytes = npy_header_bytes(1000, 2);
        write_npy_rows(&mut bytes, &data).unwrap();
        assert_eq!((bytes.len() - 16000) % 64, 0, "header padded to 64 bytes");
        std::fs::write(&p, bytes).unwrap();
        let s = Source::open(&p, None).unwrap();
        assert_eq!((s.n, s.d()), (1000, 2));
        assert_eq!(s.names, vec!["x0", "x1"]);
        assert_eq!(s.load_all().unwrap(), data);
        let one = Source::open(&p, Some(&["x1".to_string()])).unwrap();
        assert_eq!(one.load_all().unwrap().col(0), data.col(1));
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let b = s.minibatch(600, &mut rng).unwrap();
        assert_eq!(b.n(), 600);
        // every row is a real row: x1 = −x0, and runs are consecutive
        for i in 0..b.n() {
            assert_eq!(b.col(1)[i], -b.col(0)[i]);
        }
        assert_eq!(b.col(0)[1], b.col(0)[0] + 1.0);
    }

    #[test]
    fn csv_source_counts_loads_and_samples() {
        let tmp = tempfile::TempDir::new().unwrap();
        let p = tmp.path().join("x.csv");
        let mut text = String::from("a,b\n");
        for i in 0..700 {
            text += &format!("{i},{}\n", 2 * i);
        }
        std::fs::write(&p, text).unwrap();
        let s = Source::open(&p, Some(&["b".to_string()])).unwrap();
        assert_eq!(s.n, 700);
        let d = s.load_all().unwrap();
        assert_eq!(d.col(0)[699], 1398.0);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let b = s.minibatch(300, &mut rng).unwrap();
        assert_eq!(b.n(), 300);
        assert!(b.col(0).iter().all(|v| v % 2.0 == 0.0));
        // a bad cell is named
        std::fs::write(&p, "a\n1\nx\n").unwrap();
        let e = Source::open(&p, None)
            .unwrap()
            .load_all()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("row 3") && e.contains("cannot parse 'x' as a number"),
            "{e}"
        );
    }

    /// Seen while writing the fuzz target `csv_table` (its check that a whole load has `n`
    /// rows): a line of Unicode spaces counted as a row but was skipped as blank when read,
    /// so `n` (the N of a minibatch's N/B weight) was too large.
    #[test]
    fn unicode_blank_lines_are_not_counted_as_rows() {
        let tmp = tempfile::TempDir::new().unwrap();
        let p = tmp.path().join("x.csv");
        std::fs::write(&p, "x\n1\n\u{3000}\n2\n \u{2003}\r\n").unwrap();
        let s = Source::open(&p, None).unwrap();
        assert_eq!(s.n, 2);
        assert_eq!(s.load_all().unwrap().col(0), [1.0, 2.0]);
    }

    /// Issue 14: every missing marker is NaN in every CSV path of this reader (a whole load,
    /// a chunked pass, row ranges, minibatches), as the in-memory reader reads it; a column is
    /// judged numeric by its first value that is not missing.
    #[test]
    fn csv_missing_values_in_every_path() {
        let markers = [
            "", "NA", "na", "N/A", "n/a", "NaN", "nan", "-nan", "null", "NULL", "\"\"", "\"NA\"",
        ];
        // x: row i holds i, a marker every third row from row 0; y = 2i, complete
        let mut text = String::from("x,label,y\n");
        for i in 0..300 {
            let x = match i % 3 {
                0 => markers[(i / 3) % markers.len()].to_string(),
                _ => i.to_string(),
            };
            text += &format!("{x},p{i},{}\n", 2 * i);
        }
        let tmp = tempfile::TempDir::new().unwrap();
        let p = tmp.path().join("m.csv");
        std::fs::write(&p, &text).unwrap();
        let cols = Source::numeric_columns(&p).unwrap();
        assert_eq!(cols, ["x", "y"]);
        let s = Source::open(&p, Some(&cols)).unwrap();
        let d = s.load_all().unwrap();
        assert_eq!(d.missing_per_column(), [100, 0]);
        assert_eq!(d.n_missing(), 100);
        for i in 0..300 {
            let x = d.col(0)[i];
            assert_eq!(d.col(1)[i], 2.0 * i as f64);
            assert!(
                if i % 3 == 0 {
                    x.is_nan()
                } else {
                    x == i as f64
                },
                "{i}: {x}"
            );
        }
        let t = crate::table::parse("m.csv", text.as_bytes(), None).unwrap();
        let same = |a: &[f64], b: &[f64]| {
            a.iter()
                .zip(b)
                .all(|(u, v)| u == v || (u.is_nan() && v.is_nan()))
        };
        assert!(same(&t.columns[0], d.col(0)) && same(&t.columns[1], d.col(1)));
        let mut missing = 0;
        s.for_each_chunk(7, |c| {
            missing += c.missing_per_column()[0];
            Ok(())
        })
        .unwrap();
        assert_eq!(missing, 100);
        let r = s.rows(3, 3).unwrap();
        assert!(r.col(0)[0].is_nan());
        assert_eq!(&r.col(0)[1..], [4.0, 5.0]);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let b = s.minibatch(100, &mut rng).unwrap();
        assert!(b.n_missing() > 0);
        for i in 0..b.n() {
            let row = b.col(1)[i] / 2.0;
            let x = b.col(0)[i];
            assert!(
                if row % 3.0 == 0.0 {
                    x.is_nan()
                } else {
                    x == row
                },
                "{row}: {x}"
            );
        }
        // values that are not finite are still refused, by every path
        std::fs::write(&p, "x,y\n1,2\nNA,inf\n").unwrap();
        let e = Source::open(&p, None)
            .unwrap()
            .load_all()
            .unwrap_err()
            .to_string();
        let file = p.display();
        assert_eq!(
            e,
            format!("data file '{file}', row 3, column 'y': value 'inf' is not finite")
        );
        let e = Source::open(&p, None)
            .unwrap()
            .minibatch(2, &mut rng)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("column 'y': value 'inf' is not finite (line 'NA,inf')"),
            "{e}"
        );
    }

    /// A column of missing values only is an error naming it, in every way this reader opens
    /// a CSV file; an unnamed one (a trailing comma) is left out of the numeric columns.
    #[test]
    fn csv_column_with_no_value() {
        let tmp = tempfile::TempDir::new().unwrap();
        let p = tmp.path().join("m.csv");
        std::fs::write(&p, "a,b,\n1,,\n2,NA,\n").unwrap();
        let file = p.display();
        let e = Source::numeric_columns(&p).unwrap_err().to_string();
        assert_eq!(e, format!("data file '{file}', column 'b' has no value (all 2 of its cells are missing); leave it out with `columns`"));
        let both = ["a".to_string(), "b".to_string()];
        let e = Source::open(&p, Some(&both)).err().unwrap().to_string();
        assert_eq!(
            e,
            format!("data file '{file}', column 'b' has no value (all 2 of its cells are missing)")
        );
        let a = Source::open(&p, Some(&both[..1])).unwrap();
        assert_eq!(a.load_all().unwrap().col(0), [1.0, 2.0]);
        std::fs::write(&p, "a,b,\n1,2,\n").unwrap();
        assert_eq!(Source::numeric_columns(&p).unwrap(), ["a", "b"]);
    }

    /// NaN in an .npy file is a missing value (C and Fortran order, f8 and f4); ±∞ is still an
    /// error naming row and column; a column of NaN only is an error.
    #[test]
    fn npy_nan_is_missing() {
        let tmp = tempfile::TempDir::new().unwrap();
        let p = tmp.path().join("m.npy");
        let nan = f64::NAN;
        let x0 = [1.0, nan, 3.0, 4.0];
        let x1 = [nan, 20.0, 30.0, nan];
        for (fortran, f4) in [(false, false), (true, false), (false, true), (true, true)] {
            let header = format!(
                "{{'descr': '{}', 'fortran_order': {}, 'shape': (4, 2), }}",
                if f4 { "<f4" } else { "<f8" },
                if fortran { "True" } else { "False" }
            );
            let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
            bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
            bytes.extend_from_slice(header.as_bytes());
            let values: Vec<f64> = if fortran {
                x0.iter().chain(&x1).copied().collect()
            } else {
                x0.iter().zip(&x1).flat_map(|(a, b)| [*a, *b]).collect()
            };
            for v in &values {
                match f4 {
                    true => bytes.extend_from_slice(&(*v as f32).to_le_bytes()),
                    false => bytes.extend_from_slice(&v.to_le_bytes()),
                }
            }
            std::fs::write(&p, &bytes).unwrap();
            let s = Source::open(&p, None).unwrap();
            let d = s.load_all().unwrap();
            assert_eq!(d.missing_per_column(), [1, 2], "fortran {fortran}, f4 {f4}");
            assert!(d.col(0)[1].is_nan() && d.col(1)[0].is_nan() && d.col(1)[3].is_nan());
            assert_eq!(
                [d.col(0)[0], d.col(0)[3], d.col(1)[1], d.col(1)[2]],
                [1.0, 4.0, 20.0, 30.0]
            );
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            assert_eq!(s.minibatch(4, &mut rng).unwrap().n_missing(), 3);
        }
        // an infinity, and a column of NaN only
        let write = |cols: Vec<Vec<f64>>| {
            let mut bytes = npy_header_bytes(cols[0].len(), cols.len());
            for i in 0..cols[0].len() {
                for c in &cols {
                    bytes.extend_from_slice(&c[i].to_le_bytes());
                }
            }
            std::fs::write(&p, bytes).unwrap();
        };
        let file = p.display();
        write(vec![vec![1.0, 2.0], vec![nan, f64::NEG_INFINITY]]);
        let e = Source::open(&p, None).err().unwrap().to_string();
        assert_eq!(
            e,
            format!("'{file}', row 1 (counting from 0), column 'x1': value -inf is not finite")
        );
        // the first bad value in row order, though an earlier column has one further down
        write(vec![
            vec![1.0, 2.0, f64::INFINITY],
            vec![1.0, f64::NEG_INFINITY, 1.0],
        ]);
        let e = Source::open(&p, None).err().unwrap().to_string();
        assert_eq!(
            e,
            format!("'{file}', row 1 (counting from 0), column 'x1': value -inf is not finite")
        );
        write(vec![vec![1.0, 2.0, 3.0], vec![nan; 3]]);
        let e = Source::open(&p, None).err().unwrap().to_string();
        assert_eq!(e, format!("data file '{file}', column 'x1' has no value (all 3 of its cells are missing); leave it out with `columns`"));
        let x0 = Source::open(&p, Some(&["x0".to_string()])).unwrap();
        assert_eq!(x0.load_all().unwrap().col(0), [1.0, 2.0, 3.0]);
    }

    #[test]
    fn npy_errors_name_the_problem() {
        let tmp = tempfile::TempDir::new().unwrap();
        let p = tmp.path().join("bad.npy");
        std::fs::write(&p, b"not numpy at all").unwrap();
        let e = Source::open(&p, None).err().unwrap().to_string();
        assert!(e.contains("not a .npy file"), "{e}");
        std::fs::write(
            &p,
            b"\x93NUMPY\x01\x00\x30\x00{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
        )
        .unwrap();
        let e = Source::open(&p, None).err().unwrap().to_string();
        assert!(e.contains("dtype '<i8'"), "{e}");
    }

    /// Seen while writing the fuzz target `npy`: a shape whose byte count overflows passed
    /// the size check and then panicked allocating the columns.
    #[test]
    fn npy_shape_too_large_is_an_error() {
        let tmp = tempfile::TempDir::new().unwrap();
        let p = tmp.path().join("huge.npy");
        let mut bytes = npy_header_bytes(4611686018427387904, 4);
        bytes.extend_from_slice(&[0; 16]);
        std::fs::write(&p, bytes).unwrap();
        let e = Source::open(&p, None).err().unwrap().to_string();
        assert_eq!(
            e,
            format!(
                "'{}': the .npy file is cut short (144 bytes, its shape (4611686018427387904, 4) needs more than 2^64)",
                p.display()
            )
        );
    }

    /// Found by the fuzz target `npy`: header text quoted in an error kept its line breaks.
    #[test]
    fn npy_header_text_in_errors_stays_on_one_line() {
        let tmp = tempfile::TempDir::new().unwrap();
        let p = tmp.path().join("bad.npy");
        let cases: [(&[u8], &str); 2] = [
            (
                b"\x93NUMPY\x01\x00\x31\x00{'descr': '<f6'\n 'fortran_order': False, 'shape':",
                "'<f6'\\n 'fortran_order': False",
            ),
            (
                b"\x93NUMPY\x01\x00\x39\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3\r\n,x)",
                "shape (3\\r\\n,x)",
            ),
        ];
        for (bytes, quoted) in cases {
            std::fs::write(&p, bytes).unwrap();
            let e = Source::open(&p, None).err().unwrap().to_string();
            assert!(!e.contains(['\n', '\r']), "{e:?}");
            assert!(e.contains(quoted), "{e}");
        }
    }
}

/// Read a Parquet file's double or float columns (all of them, or `columns`) into columns of
/// their final size, row group by row group (cargo feature `parquet`).
#[cfg(feature = "parquet")]
pub fn load_parquet(path: &Path, columns: Option<&[String]>) -> Result<(Data, Vec<String>)> {
    use parquet::column::reader::ColumnReader;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let s = shown(path);
    let f = File::open(path).map_err(|e| anyhow!("cannot read data file '{s}': {e}"))?;
    let reader = SerializedFileReader::new(f)
        .map_err(|e| anyhow!("'{s}': not a readable Parquet file ({e})"))?;
    let meta = reader.metadata();
    let schema = meta.file_metadata().schema_descr();
    let n = usize::try_from(meta.file_metadata().num_rows()).unwrap_or(0);
    let all: Vec<(usize, String, i16)> = (0..schema.num_columns())
        .filter_map(|i| {
            let c = schema.column(i);
            match c.physical_type() {
                parquet::basic::Type::DOUBLE | parquet::basic::Type::FLOAT => {
                    Some((i, c.name().to_string(), c.max_def_level()))
                }
                _ => None,
            }
        })
        .collect();
    if let Some(req) = columns {
        crate::table::check_requested(req)?;
    }
    let chosen: Vec<(usize, String, i16)> = match columns {
        None => all.clone(),
        Some(req) => req
            .iter()
            .map(|r| {
                all.iter()
                    .find(|(_, name, _)| name == r)
                    .cloned()
                    .ok_or_else(|| {
                        anyhow!(
                            "'{s}': no double or float column '{r}' (such columns: {})",
                            all.iter()
                                .map(|c| c.1.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })
            })
            .collect::<Result<_>>()?,
    };
    if chosen.is_empty() {
        bail!("'{s}': no double or float column");
    }
    if n == 0 {
        bail!("'{s}': no rows");
    }
    let mut cols: Vec<Vec<f64>> = chosen.iter().map(|_| Vec::with_capacity(n)).collect();
    let batch = 1 << 16;
    for g in 0..reader.num_row_groups() {
        let rg = reader
            .get_row_group(g)
            .map_err(|e| anyhow!("'{s}', row group {g}: {e}"))?;
        let rows = usize::try_from(rg.metadata().num_rows()).unwrap_or(0);
        for (c, (i, name, max_def)) in chosen.iter().enumerate() {
            let col_err = |e: parquet::errors::ParquetError| anyhow!("'{s}', column '{name}': {e}");
            let before = cols[c].len();
            let nullable = *max_def > 0;
            let mut def: Vec<i16> = Vec::new();
            match rg.get_column_reader(*i).map_err(col_err)? {
                ColumnReader::DoubleColumnReader(mut r) => {
                    let mut buf: Vec<f64> = Vec::with_capacity(batch);
                    loop {
                        buf.clear();
                        def.clear();
                        let (records, _, _) = r
                            .read_records(batch, nullable.then_some(&mut def), None, &mut buf)
                            .map_err(col_err)?;
                        if records == 0 {
                            break;
                        }
                        spread_nulls(&mut cols[c], buf.iter().copied(), &def, *max_def);
                    }
                }
                ColumnReader::FloatColumnReader(mut r) => {
                    let mut buf: Vec<f32> = Vec::with_capacity(batch);
                    loop {
                        buf.clear();
                        def.clear();
                        let (records, _, _) = r
                            .read_records(batch, nullable.then_some(&mut def), None, &mut buf)
                            .map_err(col_err)?;
                        if records == 0 {
                            break;
                        }
                        let values = buf.iter().map(|&v| v as f64);
                        spread_nulls(&mut cols[c], values, &def, *max_def);
                    }
                }
                _ => bail!("'{s}', column '{name}': not a double or float column"),
            }
            if cols[c].len() - before != rows {
                bail!(
                    "'{s}', column '{name}': {} values in row group {g} of {rows} rows",
                    cols[c].len() - before
                );
            }
            if let Some(k) = cols[c][before..].iter().position(|v| v.is_infinite()) {
                bail!(
                    "'{s}', row {}, column '{name}': value {} is not finite",
                    before + k + 1,
                    cols[c][before + k]
                );
            }
        }
    }
    // nulls and NaN are missing values; a column of nothing else is an error
    if let Some(c) = cols.iter().position(|col| col.iter().all(|v| v.is_nan())) {
        let file = format!("data file '{s}'");
        bail!("{}", no_value(&file, &chosen[c].1, n, columns.is_none()));
    }
    let names = chosen.into_iter().map(|c| c.1).collect();
    let data = Data::with_missing(cols).map_err(|e| anyhow!("'{s}': {e}"))?;
    Ok((data, names))
}

/// Values read with their definition levels (none for a required column) appended to `col`:
/// a null (a level below `max_def`) as NaN, a missing value.
#[cfg(feature = "parquet")]
fn spread_nulls(col: &mut Vec<f64>, values: impl Iterator<Item = f64>, def: &[i16], max_def: i16) {
    if def.is_empty() {
        col.extend(values);
        return;
    }
    let mut values = values;
    col.extend(def.iter().map(|&l| {
        if l == max_def {
            values.next().unwrap_or(f64::NAN)
        } else {
            f64::NAN
        }
    }));
}

#[cfg(all(test, feature = "parquet"))]
mod parquet_tests {
    use std::sync::Arc;

    use parquet::data_type::{DoubleType, FloatType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    use super::*;

    fn write(path: &Path, groups: &[(Vec<f64>, Vec<f32>)]) {
        let schema = Arc::new(
            parse_message_type(
                "message m { required double a; required float b; optional binary label; }",
            )
            .unwrap(),
        );
        let props = Arc::new(
            WriterProperties::builder()
                .set_compression(parquet::basic::Compression::SNAPPY)
                .build(),
        );
        let mut w = SerializedFileWriter::new(File::create(path).unwrap(), schema, props).unwrap();
        for (a, b) in groups {
            let mut rg = w.next_row_group().unwrap();
            let mut c = rg.next_column().unwrap().unwrap();
            c.typed::<DoubleType>().write_batch(a, None, None).unwrap();
            c.close().unwrap();
            let mut c = rg.next_column().unwrap().unwrap();
            c.typed::<FloatType>().write_batch(b, None, None).unwrap();
            c.close().unwrap();
            let mut c = rg.next_column().unwrap().unwrap();
            let defs = vec![0i16; a.len()];
            c.typed::<parquet::data_type::ByteArrayType>()
                .write_batch(&[], Some(&defs), None)
                .unwrap();
            c.close().unwrap();
            rg.close().unwrap();
        }
        w.close().unwrap();
    }

    #[test]
    fn parquet_double_and_float_columns_over_row_groups() {
        let tmp = tempfile::TempDir::new().unwrap();
        let p = tmp.path().join("d.parquet");
        let g1 = (
            (0..1000).map(|i| i as f64 * 0.5).collect::<Vec<_>>(),
            (0..1000).map(|i| i as f32).collect::<Vec<_>>(),
        );
        let g2 = (vec![1e9, -2.5], vec![0.25f32, -1.0]);
        write(&p, &[g1.clone(), g2.clone()]);
        let (d, names) = load_parquet(&p, None).unwrap();
        assert_eq!(names, vec!["a", "b"], "the text column is left out");
        assert_eq!(d.n(), 1002);
        assert_eq!(d.col(0)[999], 499.5);
        assert_eq!(d.col(0)[1000], 1e9);
        assert_eq!(d.col(1)[1001], -1.0);
        let (d, names) = load_parquet(&p, Some(&["b".to_string()])).unwrap();
        assert_eq!((d.d(), names[0].as_str()), (1, "b"));
        let e = load_parquet(&p, Some(&["label".to_string()]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no double or float column 'label'"), "{e}");
        std::fs::write(&p, b"PAR1 but not really").unwrap();
        let e = load_parquet(&p, None).unwrap_err().to_string();
        assert!(e.contains("not a readable Parquet file"), "{e}");
        // NaN is a missing value (issue 14), an infinity is refused with its row
        write(&p, &[(vec![1.0, f64::NAN], vec![1.0, 2.0])]);
        let (d, _) = load_parquet(&p, None).unwrap();
        assert_eq!(d.missing_per_column(), [1, 0]);
        assert!(d.col(0)[1].is_nan() && d.col(0)[0] == 1.0);
        write(
            &p,
            &[
                (vec![1.0, 2.0], vec![1.0, 2.0]),
                (vec![3.0], vec![f32::NEG_INFINITY]),
            ],
        );
        let e = load_parquet(&p, None).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "'{}', row 3, column 'b': value -inf is not finite",
                p.display()
            )
        );
    }

    /// Issue 14: nulls (and NaN) in optional double and float columns are missing values, at
    /// their rows across row groups; a column of nulls only is an error naming it.
    #[test]
    fn parquet_nulls_are_missing() {
        let tmp = tempfile::TempDir::new().unwrap();
        let p = tmp.path().join("n.parquet");
        let schema = Arc::new(
            parse_message_type("message m { optional double a; optional float b; }").unwrap(),
        );
        // (a's values, a's definition levels, b's values, b's levels) by row group
        type Group<'a> = (&'a [f64], &'a [i16], &'a [f32], &'a [i16]);
        let write = |groups: &[Group]| {
            let props = Arc::new(WriterProperties::builder().build());
            let mut w = SerializedFileWriter::new(File::create(&p).unwrap(), schema.clone(), props)
                .unwrap();
            for (a, da, b, db) in groups {
                let mut rg = w.next_row_group().unwrap();
                let mut c = rg.next_column().unwrap().unwrap();
                c.typed::<DoubleType>()
                    .write_batch(a, Some(da), None)
                    .unwrap();
                c.close().unwrap();
                let mut c = rg.next_column().unwrap().unwrap();
                c.typed::<FloatType>()
                    .write_batch(b, Some(db), None)
                    .unwrap();
                c.close().unwrap();
                rg.close().unwrap();
            }
            w.close().unwrap();
        };
        // rows: a = [1, null, NaN, 4 | null, 6], b = [null, 2, 3, null | 5, 6]
        write(&[
            (
                &[1.0, f64::NAN, 4.0],
                &[1, 0, 1, 1],
                &[2.0, 3.0],
                &[0, 1, 1, 0],
            ),
            (&[6.0], &[0, 1], &[5.0, 6.0], &[1, 1]),
        ]);
        let (d, names) = load_parquet(&p, None).unwrap();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(d.n(), 6);
        assert_eq!(d.missing_per_column(), [3, 2]);
        let shown = |c: &[f64]| {
            c.iter()
                .map(|v| if v.is_nan() { None } else { Some(*v) })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            shown(d.col(0)),
            [Some(1.0), None, None, Some(4.0), None, Some(6.0)]
        );
        assert_eq!(
            shown(d.col(1)),
            [None, Some(2.0), Some(3.0), None, Some(5.0), Some(6.0)]
        );
        // a column of nulls only
        write(&[(&[1.0, 2.0], &[1, 1], &[], &[0, 0])]);
        let e = load_parquet(&p, None).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("data file '{}', column 'b' has no value (all 2 of its cells are missing); leave it out with `columns`", p.display())
        );
        let (d, _) = load_parquet(&p, Some(&["a".to_string()])).unwrap();
        assert_eq!(d.col(0), [1.0, 2.0]);
    }
}
