//! `bgmm plot`: every picture of the runs in a directory, as SVG and PNG files.

use std::path::{Path, PathBuf};

use anyhow::Result;

use bgmm_report::{figures, provenance, write_figures, Figure};

use crate::args::{PlotArgs, PlotFormat};

/// Run `bgmm plot`.
pub fn run(a: PlotArgs) -> Result<()> {
    let (svg, png) = match a.format {
        PlotFormat::Svg => (true, false),
        PlotFormat::Png => (false, true),
        PlotFormat::Both => (true, true),
    };
    let out = a.out.clone().unwrap_or_else(|| a.dir.clone());
    // each run's pictures go next to it (under --out, in the same relative place)
    let dest = |dir: &Path| -> PathBuf {
        match dir.strip_prefix(&a.dir) {
            Ok(rel) if rel.as_os_str().is_empty() => out.clone(),
            Ok(rel) => out.join(rel),
            Err(_) => out.clone(),
        }
    };
    // every file says where it came from
    let write = |dir: &Path, figs: &[Figure], prov: &str| -> Result<()> {
        let dest = dest(dir);
        let written = write_figures(&dest, figs, prov, svg, png)?;
        if !written.is_empty() {
            println!("{}: wrote {}", dest.display(), written.join(", "));
        }
        Ok(())
    };
    let runs = bgmm_io::find_runs(&a.dir)?;
    for run in &runs {
        write(run.dir(), &figures(run)?, &provenance(run))?;
    }
    Ok(())
}
