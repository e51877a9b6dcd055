//! `bgmm report`: one self-contained HTML page of the runs in a directory.

use anyhow::Result;

use bgmm_io::write_atomic;
use bgmm_report::report_html;

use crate::args::ReportArgs;

/// Run `bgmm report`.
pub fn run(a: ReportArgs) -> Result<()> {
    let html = report_html(&a.dir)?;
    let out = a.out.unwrap_or_else(|| a.dir.join("report.html"));
    write_atomic(&out, html.as_bytes())?;
    println!("wrote {}", out.display());
    Ok(())
}
