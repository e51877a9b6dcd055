//! Tests of a model selection's figure and of finding selections among runs, on a selection
//! made by hand (the report's tests use it too).

use bgmm_io::SelectRecord;

/// A model selection made by hand (tests): 200 points in 2-D, K = 1–4 × shared, component and
/// tied; tied's K = 3 collapsed; the best is component with K = 3 (BIC 301.25), then tied with
/// K = 4 (309.87) and component with K = 4 (318.08).
#[cfg(test)]
pub(crate) fn example_record(criterion: bgmm::Criterion) -> SelectRecord {
    use bgmm::CovarianceFamily::*;
    use bgmm::RowStatus;
    let bics = [
        (
            Shared,
            [Some(420.13), Some(380.57), Some(350.91), Some(347.22)],
        ),
        (
            Component,
            [Some(420.13), Some(371.46), Some(301.25), Some(318.08)],
        ),
        (Tied, [Some(431.72), Some(366.34), None, Some(309.87)]),
    ];
    let n = 200usize;
    let mut table = Vec::new();
    for k in 1..=4usize {
        for (f, values) in &bics {
            let scales = match f {
                Shared => 1,
                Component => k,
                _ => 3,
            };
            let n_params = k - 1 + 2 * k + scales;
            let bic = values[k - 1];
            table.push(bgmm_io::SelectTableRow {
                k,
                covariance: *f,
                status: if bic.is_some() {
                    RowStatus::Ok
                } else {
                    RowStatus::Collapsed
                },
                message: if bic.is_some() {
                    String::new()
                } else {
                    "every candidate collapsed onto a point".into()
                },
                n_params,
                loglik: bic.map(|b| (n_params as f64 * (n as f64).ln() - b) / 2.0),
                bic,
                icl: bic.map(|b| b + 5.0),
                aic: bic.map(|b| b - 20.0),
                warnings: if k == 4 && *f == Shared {
                    vec!["a local mode".into()]
                } else {
                    vec![]
                },
                posterior: None,
            });
        }
    }
    let mut rec = SelectRecord {
        criterion,
        n,
        table,
        best: None,
        compare: Vec::new(),
        data: bgmm_io::DataInfo {
            source: "blobs.csv".into(),
            columns: vec!["x".into(), "y".into()],
            n,
            missing: vec![0, 0],
            drop_missing: false,
        },
        options: bgmm_io::FitOptionsRecord::of(&bgmm::FitOptions::default(), 0),
        bgmm_version: "0.1.0".into(),
        command: "bgmm select blobs.csv -k 1-4 --out sel".into(),
    };
    rec.best = rec.ranked().first().map(|&i| rec.table[i].clone());
    rec
}

/// Write `rec` as the `select.json` of `dir` (made when missing), as a test's run directory.
pub(crate) fn write_selection(dir: &std::path::Path, rec: &SelectRecord) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("select.json"),
        serde_json::to_string_pretty(rec).unwrap(),
    )
    .unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::{select_figures, select_provenance};
    use crate::plot::svg_check::*;
    use bgmm::Criterion;
    use bgmm_io::Run;
    use bgmm_io::SelectRun;
    use std::path::Path;
    use std::path::PathBuf;

    /// The runs `find_runs` finds in `dir`: the selections, and the others.
    fn find_runs_with_selections(dir: &Path) -> anyhow::Result<(Vec<Run>, Vec<SelectRun>)> {
        let mut others = Vec::new();
        let mut selections = Vec::new();
        for run in bgmm_io::find_runs(dir)? {
            match run {
                Run::Select(s) => selections.push(*s),
                r => others.push(r),
            }
        }
        Ok((others, selections))
    }

    #[test]
    fn the_figure_of_a_selection_is_written_as_svg_and_png() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path().join("sel");
        write_selection(&run, &example_record(Criterion::Bic));
        let (runs, selections) = find_runs_with_selections(tmp.path()).unwrap();
        assert!(runs.is_empty());
        assert_eq!(selections.len(), 1);
        assert_eq!(selections[0].dir, run);
        let figs = select_figures(&selections[0].record);
        let prov = select_provenance(&selections[0]);
        assert!(prov.contains("bgmm select blobs.csv") && prov.contains("K = 1, 2, 3, 4"));
        let dest = tmp.path().join("pictures");
        let written = crate::figures::write_figures(&dest, &figs, &prov, true, true).unwrap();
        assert_eq!(written, ["select-bic.svg", "select-bic.png"]);
        let svg = std::fs::read_to_string(dest.join("select-bic.svg")).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("<metadata>drawn by bgmm"));
        let png = std::fs::read(dest.join("select-bic.png")).unwrap();
        assert!(png.len() > 1000 && png.starts_with(b"\x89PNG"));
        // another criterion, another file
        let figs = select_figures(&example_record(Criterion::Aic));
        let written = crate::figures::write_figures(&dest, &figs, &prov, true, false).unwrap();
        assert_eq!(written, ["select-aic.svg"]);
        assert!(
            std::fs::metadata(dest.join("select-aic.svg"))
                .unwrap()
                .len()
                > 1000
        );
    }

    #[test]
    fn the_figure_has_a_line_per_family_its_legend_and_the_best() {
        let rec = example_record(Criterion::Bic);
        let svg = select_figures(&rec)[0].render.svg().unwrap();
        let area = plot_areas(&svg)[0];
        let ticks = x_ticks(&svg, &area);
        for f in rec.families() {
            let label = crate::plot::select::family_label(f);
            assert!(texts(&svg).iter().any(|t| t.text == label), "{label}");
            let c = crate::plot::select::family_color(f);
            let hex = format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
            // the family's lines inside the plot, as (from K, to K) segments
            let mut segments: Vec<(i64, i64)> = polylines(&svg)
                .iter()
                .filter(|p| p.stroke == hex && p.points.iter().all(|q| area.contains(*q)))
                .flat_map(|p| {
                    p.points
                        .windows(2)
                        .map(|w| (w[0].0, w[1].0))
                        .collect::<Vec<_>>()
                })
                .map(|(a, b)| {
                    (
                        x_value(&ticks, a).round() as i64,
                        x_value(&ticks, b).round() as i64,
                    )
                })
                .collect();
            segments.sort();
            let expected: Vec<(i64, i64)> = if f == bgmm::CovarianceFamily::Tied {
                // K = 3 collapsed: a gap from 2 to 4
                vec![(1, 2)]
            } else {
                vec![(1, 2), (2, 3), (3, 4)]
            };
            assert_eq!(segments, expected, "{label}");
        }
        assert!(svg.contains("best: component (VII), K = 3"));
        assert!(svg.contains("BIC (lower is better)"));
        // the title names the data and the gap
        assert!(svg.contains(
            "BIC by number of components: blobs.csv (200 points; 1 failed fit is a gap)"
        ));
    }

    #[test]
    fn selections_are_found_beside_other_runs_and_alone() {
        let tmp = tempfile::tempdir().unwrap();
        // an empty directory is still no run
        let e = find_runs_with_selections(tmp.path()).err().unwrap();
        assert!(e.to_string().contains("holds no bgmm run"), "{e}");
        // a classification (of the tutorial's five points) in one subdirectory
        let c = tmp.path().join("c");
        std::fs::create_dir(&c).unwrap();
        std::fs::write(
            c.join("classify.json"),
            r#"{"data": {"source": "builtin:tutorial", "columns": ["x"]},
                "assignments": [0, 0, 1, 1, 1],
                "probs": [[1, 0], [1, 0], [0, 1], [0, 1], [0, 1]]}"#,
        )
        .unwrap();
        // a selection in the directory itself and another in a subdirectory; a run being
        // written (a staging directory) is passed over
        write_selection(tmp.path(), &example_record(Criterion::Bic));
        write_selection(&tmp.path().join("s2"), &example_record(Criterion::Icl));
        write_selection(
            &tmp.path().join(".s3.bgmm-stage-1-0"),
            &example_record(Criterion::Aic),
        );
        let (runs, selections) = find_runs_with_selections(tmp.path()).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].dir(), c);
        let found: Vec<(PathBuf, Criterion)> = selections
            .iter()
            .map(|s| (s.dir.clone(), s.record.criterion))
            .collect();
        assert_eq!(
            found,
            [
                (tmp.path().to_path_buf(), Criterion::Bic),
                (tmp.path().join("s2"), Criterion::Icl)
            ]
        );
        // a damaged selection is an error naming its file
        std::fs::write(tmp.path().join("s2").join("select.json"), "{ not json").unwrap();
        let e = find_runs_with_selections(tmp.path())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("s2/select.json") && e.contains("line 1"), "{e}");
    }
}
