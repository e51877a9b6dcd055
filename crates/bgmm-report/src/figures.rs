//! What a run directory holds (a fit, a classification, a sampling run) and the figures that
//! show it, in the order of the seeds' narrative. `bgmm plot` writes them as files, `bgmm
//! report` puts them in one HTML page.

use std::path::Path;

use anyhow::{anyhow, Result};

use bgmm::Temperature;
use bgmm::{Data, Model, Params};
use bgmm_io::{
    ensure_dir, write_out, ClassifyRun, FitRun, Run, SampleRun, SelectRecord, SelectRun,
};

use crate::plot::classify::Classification;
use crate::plot::data::{DataHistogram, Ellipse, PairGrid, Swarm};
use crate::plot::fit::{Density, GradNorms, Loss};
use crate::plot::posterior::{Chains, Histograms, Joint, Predictive, Rank, Trace};
use crate::plot::{thin, Render};

/// Scatter plots show at most this many points (evenly thinned; the title says so).
pub const MAX_SCATTER: usize = 5000;
/// Swarm plots show at most this many points.
pub const MAX_SWARM: usize = 1500;
/// Posterior predictive figures use at most this many draws.
pub const PREDICTIVE_DRAWS: usize = 200;

/// A figure ready to render, with the file name it is written to and what it shows.
pub struct Figure {
    pub stem: String,
    pub title: String,
    /// Which figure of the seeds it reproduces, or what it adds.
    pub about: String,
    pub render: Box<dyn Render>,
}

impl Figure {
    pub(crate) fn new(
        stem: &str,
        title: &str,
        about: &str,
        render: impl Render + 'static,
    ) -> Figure {
        Figure {
            stem: stem.to_string(),
            title: title.to_string(),
            about: about.to_string(),
            render: Box::new(render),
        }
    }
}

/// Writes the figures into `dest` (made when missing): each as SVG with `provenance` in its
/// metadata and as PNG with it in text chunks (as `svg` and `png` ask), every file atomically.
/// Returns the names of the files written.
pub fn write_figures(
    dest: &Path,
    figs: &[Figure],
    provenance: &str,
    svg: bool,
    png: bool,
) -> Result<Vec<String>> {
    let mut written = Vec::new();
    if figs.is_empty() {
        return Ok(written);
    }
    ensure_dir(dest)?;
    let software = format!("bgmm {}", env!("CARGO_PKG_VERSION"));
    for f in figs {
        if svg {
            let text = crate::plot::svg_with_metadata(&f.render.svg()?, provenance);
            write_out(dest, &format!("{}.svg", f.stem), text.as_bytes())?;
            written.push(format!("{}.svg", f.stem));
        }
        if png {
            let tags = [("Software", software.as_str()), ("Description", provenance)];
            write_out(
                dest,
                &format!("{}.png", f.stem),
                &f.render.png_tagged(&tags)?,
            )?;
            written.push(format!("{}.png", f.stem));
        }
    }
    Ok(written)
}

/// A command line as a record holds it, `?` when it does not.
fn known(command: &str) -> String {
    if command.is_empty() {
        "?".into()
    } else {
        command.to_string()
    }
}

/// Where a run's pictures come from: the bgmm version, the command that made the run (it holds
/// the seed) and the model, for the files' metadata.
pub fn provenance(run: &Run) -> String {
    let (command, model) = match run {
        Run::Fit(r) => (
            r.rec.command.clone(),
            serde_json::to_string(&r.rec.model).unwrap_or_default(),
        ),
        Run::Classify(r) => (known(&r.record.command), String::from("(the fit's)")),
        Run::Select(s) => return select_provenance(s),
        Run::Sample(r) => (
            known(&r.record.command),
            serde_json::to_value(&r.record.model)
                .map(|m| m.to_string())
                .unwrap_or_default(),
        ),
    };
    format!(
        "drawn by bgmm {} from the run in '{}', made by: {command}; model: {model}",
        env!("CARGO_PKG_VERSION"),
        run.dir().display()
    )
}

fn thinned_columns(data: &Data, max: usize) -> (Vec<Vec<f64>>, Vec<usize>) {
    let idx = thin(data.n(), max);
    (
        data.columns()
            .iter()
            .map(|c| idx.iter().map(|&i| c[i]).collect())
            .collect(),
        idx,
    )
}

fn thin_note(shown: usize, n: usize) -> String {
    if shown < n {
        format!(" ({shown} of {n} points shown)")
    } else {
        String::new()
    }
}

/// Figures of the data alone: histogram with KDE (1-D), scatter (2-D) or pair grid, and the
/// swarm plot (1-D).
pub fn data_figures(data: &Data, names: &[String], source: &str) -> Vec<Figure> {
    let mut out = Vec::new();
    if data.d() == 1 {
        out.push(Figure::new(
            "data",
            "The data",
            "histogram with a kernel density line (seed 000's histplot of simulated data, seed 003's data with kde=True)",
            DataHistogram {
                x: data.col(0).to_vec(),
                name: names[0].clone(),
                title: format!("{source}: {} ({} points)", names[0], data.n()),
            },
        ));
    } else {
        let (columns, idx) = thinned_columns(data, MAX_SCATTER);
        out.push(Figure::new(
            "data",
            "The data",
            "scatter of the data (seed 000's scatterplot of the 2-D homework data); a pair grid for D > 2",
            PairGrid {
                columns,
                names: names.to_vec(),
                groups: None,
                ellipses: vec![],
                title: format!("{source}{}", thin_note(idx.len(), data.n())),
            },
        ));
    }
    out
}

fn ellipses(model: &Model, p: &Params) -> Vec<Ellipse> {
    (0..model.k)
        .map(|k| Ellipse {
            loc: (0..model.d).map(|j| p.loc(model, k, j)).collect(),
            sd: (0..model.d).map(|j| p.scale(model, k, j)).collect(),
            corr: model
                .family
                .correlation(&p.scales, k, model.d)
                .unwrap_or_default(),
            weight: p.weights[k],
        })
        .collect()
}

/// Figures of a MAP fit.
pub fn fit_figures(r: &FitRun) -> Result<Vec<Figure>> {
    let mut out = data_figures(&r.data, &r.names, &r.rec.data.source);
    let cl = bgmm::classify(
        &r.model,
        &r.params,
        &r.data,
        &bgmm::ClassifyOptions {
            temperature: Temperature::Zero,
            seed: 0,
            svi: None,
        },
    )
    .map_err(|e| anyhow!("{e}"))?;
    out.push(Figure::new(
        "loss",
        "Convergence of the MAP fit",
        "loss against iteration on a log axis (seed 001's 'Convergence of SVI', seed 002's 'Loss'); the L-BFGS polish that reaches the exact mode in red",
        Loss {
            adam: r.rec.history.loss.clone(),
            polish: r.rec.history.polish_loss.clone(),
        },
    ));
    out.push(Figure::new(
        "grad_norm",
        "Gradient norms",
        "gradient norm of each site during Adam (seed 001's gradient-norm plot)",
        GradNorms {
            norms: r.rec.history.grad_norm.clone(),
        },
    ));
    if r.data.d() == 1 {
        out.push(Figure::new(
            "density",
            "The fitted mixture",
            "each weighted component, the mixture (dashed) and the data as x marks (seed 001's 'Density of two-component mixture model', seed 002's density plot)",
            Density {
                model: r.model.clone(),
                params: r.params.clone(),
                x: r.data.col(0).to_vec(),
                name: r.names[0].clone(),
            },
        ));
    } else {
        let (columns, idx) = thinned_columns(&r.data, MAX_SCATTER);
        out.push(Figure::new(
            "assignments",
            "The data by MAP assignment",
            "scatter coloured by MAP assignment with each component's location (cross) and 1- and 2-sigma ellipses",
            PairGrid {
                columns,
                names: r.names.clone(),
                groups: Some((idx.iter().map(|&i| cl.assignments[i]).collect(), r.model.k)),
                ellipses: ellipses(&r.model, &r.params),
                title: format!(
                    "Data by MAP assignment ({} components){}",
                    r.model.k,
                    thin_note(idx.len(), r.data.n())
                ),
            },
        ));
    }
    if r.data.d() == 1 {
        let idx = thin(r.data.n(), MAX_SWARM);
        let x: Vec<f64> = idx.iter().map(|&i| r.data.col(0)[i]).collect();
        let z: Vec<usize> = idx.iter().map(|&i| cl.assignments[i]).collect();
        out.push(Figure::new(
            "swarm",
            "The data by MAP assignment",
            "swarm plots of the data, then of each cluster's points (seed 002's two swarmplots)",
            Swarm {
                x,
                name: r.names[0].clone(),
                groups: Some((z, r.model.k)),
                title: format!(
                    "{} by MAP assignment z{}",
                    r.names[0],
                    thin_note(idx.len(), r.data.n())
                ),
            },
        ));
    }
    Ok(out)
}

/// Figures of a classification (1-D data; none for more dimensions).
pub fn classify_figures(r: &ClassifyRun) -> Vec<Figure> {
    if r.data.d() != 1 {
        return vec![];
    }
    let k = r.probs.first().map_or(0, Vec::len);
    let labels = (0..k)
        .map(|c| match &r.locs {
            Some(l) if l.len() == k => format!("component with mean {:.3}", l[c]),
            _ => format!("component {c}"),
        })
        .collect();
    let posterior = r.record.method == "posterior";
    let (title, about) = if posterior {
        ("Posterior assignments", "the most probable component of each point under the posterior (its assignment probabilities averaged over the run's draws) against x, a line broken where there is no data, above those probabilities (seed 001's 'Mixture assignment probabilities')")
    } else if r.sampled {
        ("Sampled assignments", "one assignment drawn from each point's posterior, in the colour of the component drawn (seed 001's 'Random posterior assignment' near the boundary), above the assignment probabilities (seed 001's 'Mixture assignment probabilities')")
    } else {
        ("MAP assignments", "the MAP assignment against x (seed 001's 'MAP assignment' on a grid), a line broken where there is no data, above the assignment probabilities (seed 001's 'Mixture assignment probabilities')")
    };
    vec![Figure::new(
        "classify",
        title,
        about,
        Classification {
            x: r.data.col(0).to_vec(),
            z: r.z.clone(),
            probs: r.probs.clone(),
            sampled: r.sampled,
            labels,
            name: r.names[0].clone(),
        },
    )]
}

/// Posterior predictive values per dimension: one data set of the data's size from each of
/// at most `PREDICTIVE_DRAWS` evenly spaced draws (seeded: the same every time).
pub fn predictive_values(model: &Model, draws: &[Params], n: usize) -> Result<Vec<Vec<f64>>> {
    let idx = thin(draws.len(), PREDICTIVE_DRAWS);
    let mut cols = vec![Vec::with_capacity(idx.len() * n); model.d];
    for (s, &i) in idx.iter().enumerate() {
        let mut rng = bgmm::chain_rng(0, s);
        let (_, d) = bgmm::draw_data(model, &draws[i], n, &mut rng).map_err(|e| anyhow!("{e}"))?;
        for (j, c) in cols.iter_mut().enumerate() {
            c.extend_from_slice(d.col(j));
        }
    }
    Ok(cols)
}

/// Figures of a sampling run.
pub fn sample_figures(r: &SampleRun) -> Result<Vec<Figure>> {
    let names = r.model.constrained_names();
    let flat: Chains = r
        .chains
        .iter()
        .map(|c| c.iter().map(Params::flat).collect())
        .collect();
    let method = r.record.method();
    let mut out = vec![
        Figure::new(
            "trace",
            "Trace plots",
            "one row per site: each chain's density of each entry over its draws, and the draws against iteration; entries in colours, chains in line styles (seed 003's az.plot_trace(compact=True))",
            Trace {
                names: names.clone(),
                chains: flat.clone(),
            },
        ),
        Figure::new(
            "rank",
            "Rank plots",
            "histogram of each chain's ranks among all draws: flat when the chains mix (ArviZ's plot_rank)",
            Rank {
                names: names.clone(),
                chains: flat.clone(),
            },
        ),
        Figure::new(
            "posterior",
            "Marginal posteriors",
            "histogram of each parameter with its mean and 90 % HDI (seed 003's az.plot_posterior(kind='hist'))",
            Histograms {
                names: names.clone(),
                chains: flat.clone(),
            },
        ),
    ];
    if r.model.k >= 2 {
        let a = if r.model.d == 1 {
            "locs[0]"
        } else {
            "locs[0,0]"
        };
        let b = if r.model.d == 1 {
            "locs[1]"
        } else {
            "locs[1,0]"
        };
        let ia = names.iter().position(|n| n == a);
        let ib = names.iter().position(|n| n == b);
        if let (Some(ia), Some(ib)) = (ia, ib) {
            let all = flat.iter().flatten();
            let (x, y): (Vec<f64>, Vec<f64>) = all.map(|d| (d[ia], d[ib])).unzip();
            let dim = if r.model.d == 1 { "" } else { ", dimension 0" };
            out.push(Figure::new(
                "joint_locs",
                "Joint posterior of two locations",
                "2-D histogram with density contours of locs[0] against locs[1] (seed 001's 'Posterior density as estimated by collapsed NUTS')",
                Joint {
                    x,
                    y,
                    xname: format!("loc of component 0{dim}"),
                    yname: format!("loc of component 1{dim}"),
                },
            ));
        }
    }
    if let Some((data, dnames)) = &r.data {
        let draws = r.chains.concat();
        let pred = predictive_values(&r.model, &draws, data.n())?;
        out.push(Figure::new(
            "predictive",
            "Posterior predictive check",
            "histograms and kernel densities of the data and of posterior predictive data (seed 003's 'original' against 'posterior')",
            Predictive {
                data: data.columns().to_vec(),
                predictive: pred,
                names: dnames.clone(),
                what: format!(
                    "{} data sets of {} points from {} draws",
                    thin(draws.len(), PREDICTIVE_DRAWS).len(),
                    data.n(),
                    if method == "vi" { "VI" } else { "NUTS" }
                ),
            },
        ));
    }
    Ok(out)
}

pub fn figures(run: &Run) -> Result<Vec<Figure>> {
    match run {
        Run::Fit(r) => fit_figures(r),
        Run::Classify(r) => Ok(classify_figures(r)),
        Run::Sample(r) => sample_figures(r),
        Run::Select(s) => Ok(select_figures(&s.record)),
    }
}

/// The figure of a model selection: its criterion against K for each family.
pub fn select_figures(r: &SelectRecord) -> Vec<Figure> {
    let name = crate::plot::select::criterion_label(r.criterion);
    let failed = r
        .table
        .iter()
        .filter(|row| row.value(r.criterion).is_none())
        .count();
    let gaps = match failed {
        0 => String::new(),
        1 => "; 1 failed fit is a gap".to_string(),
        f => format!("; {f} failed fits are gaps"),
    };
    let curves = crate::plot::select::CriterionCurves {
        criterion: r.criterion,
        families: r.families(),
        points: r
            .table
            .iter()
            .map(|row| (row.k, row.covariance, row.value(r.criterion)))
            .collect(),
        best: r.best.as_ref().map(|b| (b.k, b.covariance)),
        title: format!(
            "{name} by number of components: {} ({} points{gaps})",
            r.data.source, r.n
        ),
    };
    vec![Figure::new(
        &format!("select-{}", r.criterion.name()),
        &format!("{name} of every model"),
        &format!("the {name} of each number of components K and covariance family (the family's name with mclust's code), lower is better; a failed fit leaves a gap in its family's line; the best model is ringed, on the dashed line at its K (mclust's BIC plot, whose criterion is the negative: higher is better there)"),
        curves,
    )]
}

/// Where a model selection's picture comes from, for the files' metadata: the bgmm version,
/// the command (it holds the seed) and what was fitted.
pub fn select_provenance(s: &SelectRun) -> String {
    let r = &s.record;
    let ks: Vec<String> = r.ks().iter().map(usize::to_string).collect();
    let families: Vec<&str> = r.families().iter().map(|f| f.name()).collect();
    let command = if r.command.is_empty() {
        "?"
    } else {
        &r.command
    };
    format!(
        "drawn by bgmm {} from the run in '{}', made by: {command}; models: the default model of K = {} with the {} covariances, chosen by {}",
        env!("CARGO_PKG_VERSION"),
        s.dir.display(),
        ks.join(", "),
        families.join(", "),
        r.criterion.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seen while writing the fuzz target `run_dir`: a classification whose probability rows
    /// differ in length loaded, and drawing it (`bgmm plot`) indexed past the shorter row.
    #[test]
    fn ragged_assignment_probabilities_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("classify.json");
        std::fs::write(
            &file,
            r#"{"data": {"source": "builtin:tutorial", "columns": ["x"]},
                "assignments": [0, 0, 1, 1, 1],
                "probs": [[1, 0], [1, 0], [0.5], [0, 1], [0, 1]]}"#,
        )
        .unwrap();
        let e = bgmm_io::find_runs(dir.path()).err().unwrap().to_string();
        assert_eq!(
            e,
            format!(
                "'{}': point 3 has 1 assignment probabilities, point 1 has 2",
                file.display()
            )
        );
        // the same rows of equal length load and draw
        std::fs::write(
            &file,
            r#"{"data": {"source": "builtin:tutorial", "columns": ["x"]},
                "assignments": [0, 0, 1, 1, 1],
                "probs": [[1, 0], [1, 0], [0.5, 0.5], [0, 1], [0, 1]]}"#,
        )
        .unwrap();
        let runs = bgmm_io::find_runs(dir.path()).unwrap();
        let figs = figures(&runs[0]).unwrap();
        assert_eq!(figs.len(), 1);
        assert!(figs[0].render.svg().unwrap().contains("<svg"));
    }
}
