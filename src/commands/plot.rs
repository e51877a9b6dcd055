//! `bgmm plot`: every picture of the runs in a directory, as SVG and PNG files.

use anyhow::Result;

use bgmm_io::{ensure_dir, find_runs, write_out};
use bgmm_report::{figures, provenance, svg_with_metadata};

use crate::args::{PlotArgs, PlotFormat};

/// Run `bgmm plot`.
pub fn run(a: PlotArgs) -> Result<()> {
    let (svg, png) = match a.format {
        PlotFormat::Svg => (true, false),
        PlotFormat::Png => (false, true),
        PlotFormat::Both => (true, true),
    };
    let out = a.out.clone().unwrap_or_else(|| a.dir.clone());
    let runs = find_runs(&a.dir)?;
    for run in &runs {
        // each run's pictures go next to it (under --out, in the same relative place)
        let dest = match run.dir().strip_prefix(&a.dir) {
            Ok(rel) if rel.as_os_str().is_empty() => out.clone(),
            Ok(rel) => out.join(rel),
            Err(_) => out.clone(),
        };
        let figs = figures(run)?;
        if figs.is_empty() {
            continue;
        }
        ensure_dir(&dest)?;
        let mut written = Vec::new();
        // every file says where it came from
        let prov = provenance(run);
        let software = format!("bgmm {}", env!("CARGO_PKG_VERSION"));
        for f in &figs {
            if svg {
                let text = svg_with_metadata(&f.render.svg()?, &prov);
                write_out(&dest, &format!("{}.svg", f.stem), text.as_bytes())?;
                written.push(format!("{}.svg", f.stem));
            }
            if png {
                let tags = [
                    ("Software", software.as_str()),
                    ("Description", prov.as_str()),
                ];
                write_out(
                    &dest,
                    &format!("{}.png", f.stem),
                    &f.render.png_tagged(&tags)?,
                )?;
                written.push(format!("{}.png", f.stem));
            }
        }
        println!("{}: wrote {}", dest.display(), written.join(", "));
    }
    Ok(())
}
