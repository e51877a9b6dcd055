//! Reading input within bounds, and quoting it in messages within bounds: a data file read
//! whole into memory reserves its size fallibly and refuses a line longer than
//! [`MAX_LINE_BYTES`] (`/dev/zero` as data is an error, not a machine out of memory); the
//! streaming readers read their lines through [`read_line`], under the same cap; a quoted piece
//! of input is at most [`MAX_QUOTE_CHARS`] characters and a message at most
//! [`MAX_MESSAGE_CHARS`], whatever the input.

use std::io::{BufRead, Read};
use std::path::Path;

use anyhow::{anyhow, bail, Result};

/// Longest line a data file may have (CSV, in memory or streamed): 64 MiB, a row of two and
/// a half million 25-character numbers.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// Input quoted in a message (a name, a path, a value) is cut after this many characters.
pub const MAX_QUOTE_CHARS: usize = 100;

/// A whole message is cut after this many characters (a list of a million column names).
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// The line cap, which `BGMM_MAX_LINE_BYTES` lowers (tests).
fn max_line() -> usize {
    std::env::var("BGMM_MAX_LINE_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(MAX_LINE_BYTES, |v: usize| v.clamp(1, MAX_LINE_BYTES))
}

/// The error of line `line` of `file` (as quoted; 0: a line not counted) longer than the cap.
fn too_long(file: &str, line: u64, max: usize) -> anyhow::Error {
    let which = if line == 0 {
        "a line".to_string()
    } else {
        format!("line {line}")
    };
    anyhow!("{which} of '{file}' is longer than {max} bytes: is it a data file?")
}

/// An error reading line `line` (0: not counted) of `file`.
fn unreadable(file: &str, line: u64, e: impl std::fmt::Display) -> anyhow::Error {
    if line == 0 {
        anyhow!("{e}")
    } else {
        anyhow!("'{file}', row {line}: {e}")
    }
}

/// A record bgmm wrote (fit, summary, classification, chain, manifest) as text: only from a
/// regular file (a FIFO, socket or device such as /dev/zero would block or never end), its
/// size reserved fallibly.
pub(crate) fn read_record(path: &Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Err(std::io::Error::other("it is a directory"));
    }
    if !meta.is_file() {
        return Err(std::io::Error::other(
            "not a regular file (a FIFO, socket or device)",
        ));
    }
    let mut text = String::new();
    let size = usize::try_from(meta.len()).unwrap_or(usize::MAX);
    text.try_reserve_exact(size).map_err(|_| {
        std::io::Error::other(format!(
            "cannot allocate {} for it",
            bgmm::limits::human_bytes(size as u128)
        ))
    })?;
    std::fs::File::open(path)?.read_to_string(&mut text)?;
    Ok(text)
}

/// The whole of file `path` (`shown` in messages): its size reserved fallibly first, then read
/// in pieces, refusing a line longer than [`MAX_LINE_BYTES`] as it comes.
pub fn read_file(path: &Path, shown: &str) -> Result<Vec<u8>> {
    let cannot = |e: std::io::Error| anyhow!("cannot read data file '{shown}': {e}");
    let mut f = std::fs::File::open(path).map_err(cannot)?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut bytes: Vec<u8> = Vec::new();
    let oom =
        |n: u128| bgmm::limits::out_of_memory(n, format!("data file '{shown}' ({n} bytes)"), None);
    if size > 0 {
        let n = usize::try_from(size).map_err(|_| oom(size as u128))?;
        bytes.try_reserve_exact(n).map_err(|_| oom(n as u128))?;
    }
    let max = max_line();
    let (mut line, mut since_break) = (1u64, 0usize);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let got = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(got) => got,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(cannot(e)),
        };
        let piece = &buf[..got];
        for &b in piece {
            if b == b'\n' {
                line += 1;
                since_break = 0;
            } else {
                since_break += 1;
                if since_break > max {
                    return Err(too_long(shown, line, max));
                }
            }
        }
        if bytes.len() + got > bytes.capacity() {
            let want = (bytes.len() + got).max(bytes.capacity() * 2);
            let more = want - bytes.len();
            if bytes.try_reserve_exact(more).is_err() {
                bytes
                    .try_reserve_exact(got)
                    .map_err(|_| oom((bytes.len() + got) as u128))?;
            }
        }
        bytes.extend_from_slice(piece);
    }
    Ok(bytes)
}

/// One line of a streamed file into `buf` (cleared first; the line break kept), as
/// `read_until(b'\n')` reads it, but at most [`MAX_LINE_BYTES`]: a longer line is an error
/// naming `line` of `file`. Returns the bytes read (0 at the end).
pub fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>, file: &str, line: u64) -> Result<usize> {
    buf.clear();
    let max = max_line();
    let got = r
        .take(max as u64 + 1)
        .read_until(b'\n', buf)
        .map_err(|e| unreadable(file, line, e))?;
    if buf.len() > max && buf.last() != Some(&b'\n') {
        bail!(too_long(file, line, max));
    }
    Ok(got)
}

/// [`read_line`] as text, in `s` (cleared first): invalid UTF-8 is the error `read_line` of
/// std gives ("stream did not contain valid UTF-8").
pub fn read_text_line(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    s: &mut String,
    file: &str,
    line: u64,
) -> Result<usize> {
    let got = read_line(r, buf, file, line)?;
    s.clear();
    match std::str::from_utf8(buf) {
        Ok(t) => s.push_str(t),
        Err(_) => return Err(unreadable(file, line, "stream did not contain valid UTF-8")),
    }
    Ok(got)
}

/// `s` with control characters and line breaks escaped, so messages stay on one line, and
/// cut after [`MAX_QUOTE_CHARS`] characters.
pub(crate) fn clean(s: &str) -> String {
    clean_to(s, MAX_QUOTE_CHARS)
}

/// `s` cleaned as [`clean`] cleans it, cut after `max` characters ("…" and how many more).
fn clean_to(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == max {
            let rest = s.chars().count() - max;
            out.push_str(&format!("… ({rest} more characters)"));
            break;
        }
        if c.is_control() || (c.is_whitespace() && c != ' ') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A message cut to [`MAX_MESSAGE_CHARS`] characters, and each quoted piece in it (between
/// `'…'`, `` `…` `` or `"…"`) longer than [`MAX_QUOTE_CHARS`] cut to that: the last guard of
/// every error line, whatever quoted the input.
pub fn shorten(msg: &str) -> String {
    let mut out = String::new();
    let mut rest = msg;
    while let Some(open) = rest.find(['\'', '`', '"']) {
        let q = rest[open..].chars().next().unwrap_or('\'');
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        match rest.find(q) {
            // a long piece without a space: quoted input (between words, a quote may pair
            // with an apostrophe of the message's own text)
            Some(close)
                if rest[..close].chars().count() > MAX_QUOTE_CHARS
                    && !rest[..close].contains(' ') =>
            {
                let quoted = &rest[..close];
                let cut = quoted
                    .char_indices()
                    .nth(MAX_QUOTE_CHARS)
                    .map_or(quoted.len(), |(i, _)| i);
                let more = quoted[cut..].chars().count();
                out.push_str(&format!("{}… ({more} more characters)", &quoted[..cut]));
                rest = &rest[close..];
            }
            // a piece without its closing quote: longer than a quote, cut it alone
            None if rest.chars().count() > MAX_QUOTE_CHARS
                && !rest[..rest.len().min(MAX_QUOTE_CHARS * 4)].contains(' ') =>
            {
                let cut = rest
                    .char_indices()
                    .nth(MAX_QUOTE_CHARS)
                    .map_or(rest.len(), |(i, _)| i);
                let more = rest[cut..].chars().count();
                out.push_str(&format!("{}… ({more} more characters)", &rest[..cut]));
                rest = "";
            }
            _ => {}
        }
    }
    out.push_str(rest);
    if out.chars().count() > MAX_MESSAGE_CHARS {
        let cut = out
            .char_indices()
            .nth(MAX_MESSAGE_CHARS)
            .map_or(out.len(), |(i, _)| i);
        let more = out[cut..].chars().count();
        out.truncate(cut);
        out.push_str(&format!("… ({more} more characters)"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_quotes_are_cut_short_ones_kept() {
        let long = "x".repeat(10_000);
        let m = shorten(&format!(
            "model file 'm.toml': unknown variant `{long}`, expected `a`"
        ));
        assert!(m.len() < 300, "{m}");
        assert!(m.contains("(9900 more characters)`, expected `a`"), "{m}");
        assert_eq!(shorten("the fit's 'a' and `b`"), "the fit's 'a' and `b`");
        let prose = format!("'x' = 1 as {}'s density", "scale ".repeat(30));
        assert_eq!(shorten(&prose), prose);
        let huge = "word ".repeat(100_000);
        let m = shorten(&huge);
        assert!(
            m.ends_with("… (498000 more characters)"),
            "{}",
            &m[m.len() - 40..]
        );
        assert_eq!(m.chars().count(), MAX_MESSAGE_CHARS + 26);
        let c = clean(&"é".repeat(150));
        assert!(c.ends_with("é… (50 more characters)"), "{c}");
        assert_eq!(c.chars().count(), 100 + 22);
        assert_eq!(clean("a\nb"), "a\\nb");
    }

    #[test]
    fn lines_are_capped() {
        let text = b"ab\nccc\n";
        let mut r = std::io::BufReader::new(&text[..]);
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut r, &mut buf, "f", 1).unwrap(), 3);
        assert_eq!(buf, b"ab\n");
        assert_eq!(read_line(&mut r, &mut buf, "f", 2).unwrap(), 4);
        assert_eq!(read_line(&mut r, &mut buf, "f", 3).unwrap(), 0);
        let zeros = [0u8; 100];
        let mut r = std::io::BufReader::new(&zeros[..]);
        // the cap itself is large; a line just at it passes, one byte more does not
        let mut small = std::io::BufReader::new(&b"abc"[..]);
        assert_eq!(read_line(&mut small, &mut buf, "f", 1).unwrap(), 3);
        assert_eq!(read_line(&mut r, &mut buf, "f", 1).unwrap(), 100);
    }
}
