//! `bgmm demo` and `bgmm report`: the whole pipeline ends in one self-contained page that a
//! real browser (headless Chromium, installed by `.ci/run`) renders with every figure and no
//! console error.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_bgmm");

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn bgmm(args: &[&str]) -> Out {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("cannot run the bgmm binary");
    let o = Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    o
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn model(name: &str) -> String {
    s(&Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/models")
        .join(name))
}

/// The figures of the demo, by run directory.
const DEMO_FIGURES: [(&str, &[&str]); 4] = [
    ("1-fit", &["data", "loss", "grad_norm", "density", "swarm"]),
    ("2-classify-grid", &["classify"]),
    ("3-classify-boundary", &["classify"]),
    (
        "4-sample",
        &["trace", "rank", "posterior", "joint_locs", "predictive"],
    ),
];

fn demo(tmp: &TempDir) -> PathBuf {
    let out = tmp.path().join("demo");
    let r = bgmm(&["demo", "--out", &s(&out), "--quiet"]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    // it says where the report is, as an absolute path
    let report = std::fs::canonicalize(out.join("report.html")).unwrap();
    assert!(
        r.stdout
            .contains(&format!("Open the report:\n  {}", report.display())),
        "{}",
        r.stdout
    );
    // every step shows the command it runs
    for cmd in [
        "$ bgmm describe",
        "$ bgmm fit builtin:iris --columns petal_length",
        "$ bgmm classify",
        "--temperature 1",
        "$ bgmm sample builtin:iris",
        "--from-fit",
        "$ bgmm predict",
        "$ bgmm plot",
        "$ bgmm report",
    ] {
        assert!(r.stdout.contains(cmd), "missing {cmd}");
    }
    out
}

#[test]
fn demo_runs_the_pipeline_and_writes_every_picture_and_the_report() {
    let tmp = TempDir::new().unwrap();
    let out = demo(&tmp);
    for (dir, stems) in DEMO_FIGURES {
        for stem in stems {
            let svg = std::fs::read_to_string(out.join(dir).join(format!("{stem}.svg"))).unwrap();
            assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
            let png = std::fs::read(out.join(dir).join(format!("{stem}.png"))).unwrap();
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{dir}/{stem}.png");
        }
    }
    // the run directories record the commands that made them, not `bgmm demo`
    let fit = std::fs::read_to_string(out.join("1-fit/fit.json")).unwrap();
    assert!(fit.contains("\"command\": \"bgmm fit builtin:iris --columns petal_length"));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // the MAP of seed 002 and the posterior labelled like it (component 0: the small petals)
    assert!(
        html.contains("weights = [0.333154, 0.666846]"),
        "MAP missing"
    );
    assert!(html.contains("loss (negative log joint, assignments summed out) = 210.206322"));
    let total: usize = DEMO_FIGURES.iter().map(|(_, s)| s.len()).sum();
    assert_eq!(html.matches("<figure class=\"plot\"").count(), total);
    for section in [
        "The data: builtin:iris",
        "The model",
        "The MAP fit",
        "MAP assignments of grid:0,8,0.02",
        "Sampled assignments of grid:",
        "The posterior (collapsed NUTS)",
    ] {
        assert!(html.contains(section), "section {section} missing");
    }
    for p in ["weights[0]", "locs[1]", "scale[1]"] {
        assert!(
            html.contains(&format!("<td>{p}</td>")),
            "{p} not in the summary table"
        );
    }
    assert!(html.contains("No warnings"));
    // the two groups are far apart: every draw's assignments use both components
    assert!(
        html.contains("Non-empty components K₊") && html.contains("P(K₊ = 2) 1.000"),
        "K₊ missing"
    );
    // self-contained: nothing fetched from anywhere
    for bad in ["src=\"", "<link", "@import", "url(", "href=\"http"] {
        assert!(
            !html.contains(bad),
            "the page refers to an outside resource: {bad}"
        );
    }
}

#[test]
fn report_of_a_2d_fit_and_of_a_sampling_run_alone() {
    let tmp = TempDir::new().unwrap();
    let fit = tmp.path().join("fit");
    let r = bgmm(&[
        "fit",
        "builtin:iris",
        "-k",
        "3",
        "--scale",
        "diagonal",
        "--out",
        &s(&fit),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = bgmm(&["report", &s(&fit)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let html = std::fs::read_to_string(fit.join("report.html")).unwrap();
    // data pair grid, loss, gradient norms, assignments with ellipses (no 1-D figures)
    assert_eq!(html.matches("<figure class=\"plot\"").count(), 4);
    assert!(html.contains("ellipses: 1 sigma (solid), 2 sigma (dashed)"));
    assert!(!html.contains("swarm"));
    let run = tmp.path().join("run");
    let r = bgmm(&[
        "sample",
        "builtin:tutorial",
        &model("tutorial.toml"),
        "--chains",
        "2",
        "--warmup",
        "200",
        "--draws",
        "200",
        "--quiet",
        "--out",
        &s(&run),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let page = tmp.path().join("elsewhere/page.html");
    std::fs::create_dir_all(page.parent().unwrap()).unwrap();
    let r = bgmm(&["report", &s(&run), "--out", &s(&page)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("<figure class=\"plot\"").count(), 5);
    assert!(html.contains("2 chains × 200 draws after 200 warmup"));
}

/// The `<h2>` headings of a report page.
fn headings(html: &str) -> Vec<String> {
    html.split("<h2 ")
        .skip(1)
        .filter_map(|h| Some(h[h.find('>')? + 1..h.find("</h2>")?].to_string()))
        .collect()
}

#[test]
fn classification_sections_of_one_report_have_headings_of_their_own() {
    // the same data classified three ways: by the MAP fit in closed form (twice), by SVI
    // under that fit, and by the posterior of a sampling run; each section says which (issue
    // 11: sections all read "MAP assignments of builtin:tutorial")
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let fit = s(&dir.join("fit"));
    let run = s(&dir.join("run"));
    let tutorial = model("tutorial.toml");
    let (exact, again, svi, posterior) = (
        s(&dir.join("c-exact")),
        s(&dir.join("c-exact-again")),
        s(&dir.join("c-svi")),
        s(&dir.join("c-posterior")),
    );
    let sample = [
        "sample",
        "builtin:tutorial",
        &tutorial,
        "--chains",
        "2",
        "--warmup",
        "100",
        "--draws",
        "100",
        "--quiet",
        "--out",
        &run,
    ];
    for args in [
        &["fit", "builtin:tutorial", &tutorial, "--out", &fit][..],
        &sample[..],
        &["classify", &fit, "builtin:tutorial", "--out", &exact],
        &["classify", &fit, "builtin:tutorial", "--out", &again],
        &[
            "classify",
            &fit,
            "builtin:tutorial",
            "--method",
            "svi",
            "--svi-steps",
            "300",
            "--out",
            &svi,
        ],
        &["classify", &run, "builtin:tutorial", "--out", &posterior],
    ] {
        let r = bgmm(args);
        assert_eq!(r.code, Some(0), "{args:?}: {}", r.stderr);
    }
    let r = bgmm(&["report", &s(dir)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let h = headings(&html);
    let classify: Vec<&str> = h
        .iter()
        .filter(|t| t.contains("assignments"))
        .map(String::as_str)
        .collect();
    // by directory name: c-exact, c-exact-again, c-posterior, c-svi; the second of two
    // identical classifications is told apart by its directory
    assert_eq!(
        classify,
        [
            "MAP assignments of builtin:tutorial",
            "MAP assignments of builtin:tutorial (c-exact-again)",
            "Posterior assignments of builtin:tutorial (average over 200 draws)",
            "MAP assignments of builtin:tutorial (SVI)",
        ],
        "{h:?}"
    );
    let mut unique = h.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), h.len(), "repeated headings: {h:?}");
}

#[test]
fn report_errors_are_one_line_and_write_nothing() {
    let tmp = TempDir::new().unwrap();
    let r = bgmm(&["report", &s(tmp.path())]);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.starts_with("error: ") && r.stderr.contains("holds no bgmm run"));
    assert_eq!(r.stderr.lines().count(), 1);
    assert!(!tmp.path().join("report.html").exists());
    let r = bgmm(&["report", &s(&tmp.path().join("missing"))]);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("not a directory"), "{}", r.stderr);
    // a damaged run: the error names the file
    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("fit.json"), "{ not json").unwrap();
    let r = bgmm(&["report", &s(&bad)]);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.contains("fit.json") && r.stderr.contains("line 1"),
        "{}",
        r.stderr
    );
    assert!(!bad.join("report.html").exists());
}

// ---------------------------------------------------------------------------------------------
// the browser

/// Chromium, if this machine has it. `.ci/run` installs it and sets BGMM_REQUIRE_BROWSER=1, so
/// in CI a missing browser fails the test instead of skipping it.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .filter_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
        .next();
    if found.is_none() && std::env::var("BGMM_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!("BGMM_REQUIRE_BROWSER=1 but no chromium on PATH");
    }
    found
}

/// What the browser saw: the figures the page counted and found rendered, and every console
/// message (errors and uncaught exceptions included).
struct Seen {
    figures: Option<usize>,
    rendered: Option<usize>,
    console: Vec<String>,
}

fn browse(browser: &Path, page: &Path, screenshot: Option<&Path>) -> Seen {
    let profile = TempDir::new().unwrap();
    let url = format!("file://{}", std::fs::canonicalize(page).unwrap().display());
    // the flags this machine's closed network needs (no background connections)
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--virtual-time-budget=5000",
    ];
    let out = Command::new(browser)
        .args(common)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(&url)
        .output()
        .expect("cannot run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let attr = |name: &str| -> Option<usize> {
        let key = format!("{name}=\"");
        let i = dom.find("<body")?;
        let body = &dom[i..i + dom[i..].find('>')?];
        let j = body.find(&key)? + key.len();
        body[j..].split('"').next()?.parse().ok()
    };
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(String::from)
        .collect();
    if let Some(shot) = screenshot {
        let profile = TempDir::new().unwrap();
        let st = Command::new(browser)
            .args(common)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--window-size=1200,2400"])
            .arg(format!("--screenshot={}", shot.display()))
            .arg(&url)
            .output()
            .expect("cannot run chromium");
        assert!(st.status.success());
    }
    Seen {
        figures: attr("data-figures"),
        rendered: attr("data-rendered"),
        console,
    }
}

#[test]
fn the_report_renders_in_a_real_browser_with_every_figure_and_no_console_error() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no chromium on PATH (CI installs it)");
        return;
    };
    let tmp = TempDir::new().unwrap();
    let out = demo(&tmp);
    // the screenshot is kept out of git, in cargo's target directory
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let seen = browse(&browser, &out.join("report.html"), Some(&shot));
    let total: usize = DEMO_FIGURES.iter().map(|(_, s)| s.len()).sum();
    assert_eq!(seen.figures, Some(total), "the page's own count of figures");
    assert_eq!(
        seen.rendered,
        Some(total),
        "figures drawn with a non-empty size"
    );
    assert!(
        seen.console.is_empty(),
        "console messages: {:?}",
        seen.console
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // the check can fail: a page with a script error, a console error and an empty figure
    let bad = tmp.path().join("bad.html");
    let html = std::fs::read_to_string(out.join("report.html"))
        .unwrap()
        .replacen(
            "<figure class=\"plot\"",
            "<figure class=\"plot\"><svg width=\"0\" height=\"0\"></svg></figure><figure class=\"plot\"",
            1,
        )
        .replacen("<script>", "<script>console.error('broken'); notAFunction();</script><script>", 1);
    std::fs::write(&bad, html).unwrap();
    let seen = browse(&browser, &bad, None);
    assert_eq!(seen.figures, Some(total + 1));
    assert_eq!(
        seen.rendered,
        Some(total),
        "the empty figure is not counted as rendered"
    );
    assert!(
        seen.console.iter().any(|l| l.contains("broken")),
        "{:?}",
        seen.console
    );
    assert!(
        seen.console.iter().any(|l| l.contains("notAFunction")),
        "{:?}",
        seen.console
    );
}

/// What the browser measured on a page at a window width: the page's scroll width and the
/// smallest figure text in screen pixels (with what it says).
struct Measured {
    scroll_width: f64,
    min_text: f64,
    min_text_of: String,
}

/// Measures the report at `width` pixels with a script of the test's own (not the page's).
fn measure(browser: &Path, page: &Path, width: u32) -> Measured {
    let script = "<script>
window.addEventListener('load', function () {
  var min = 1e9, where = '';
  document.querySelectorAll('figure svg text').forEach(function (t) {
    if (!t.textContent.trim()) { return; }
    var m = t.getScreenCTM();
    var px = parseFloat(window.getComputedStyle(t).fontSize) * Math.sqrt(m.a * m.a + m.b * m.b);
    if (px < min) { min = px; where = t.textContent.trim(); }
  });
  document.body.setAttribute('data-min-text', String(min));
  document.body.setAttribute('data-min-text-of', where);
  document.body.setAttribute('data-scroll-width', String(document.documentElement.scrollWidth));
});
</script></body>";
    let copy = page.with_file_name("measured.html");
    let html = std::fs::read_to_string(page)
        .unwrap()
        .replace("</body>", script);
    std::fs::write(&copy, html).unwrap();
    let profile = TempDir::new().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={width},2000"))
        .arg(format!(
            "file://{}",
            std::fs::canonicalize(&copy).unwrap().display()
        ))
        .output()
        .expect("cannot run chromium");
    assert!(out.status.success());
    let dom = String::from_utf8_lossy(&out.stdout);
    let body = &dom[dom.find("<body").unwrap()..];
    let body = &body[..body.find('>').unwrap()];
    let attr = |name: &str| -> String {
        let key = format!("{name}=\"");
        let j = body
            .find(&key)
            .unwrap_or_else(|| panic!("no {name} in {body}"))
            + key.len();
        body[j..].split('"').next().unwrap().to_string()
    };
    Measured {
        scroll_width: attr("data-scroll-width").parse().unwrap(),
        min_text: attr("data-min-text").parse().unwrap(),
        min_text_of: attr("data-min-text-of"),
    }
}

#[test]
fn the_report_reads_at_800_pixels_wide() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no chromium on PATH (CI installs it)");
        return;
    };
    let tmp = TempDir::new().unwrap();
    let out = demo(&tmp);
    // issue 11: at 800 px the summary table ran off the page and figure text shrank to 6 px
    let m = measure(&browser, &out.join("report.html"), 800);
    assert!(
        m.scroll_width <= 800.0,
        "the page is {} px wide in an 800 px window",
        m.scroll_width
    );
    assert!(
        m.min_text >= 9.9,
        "figure text of {:.2} px ('{}')",
        m.min_text,
        m.min_text_of
    );
    // and a wide window shows the figures at least as large
    let m = measure(&browser, &out.join("report.html"), 1400);
    assert!(m.scroll_width <= 1400.0 && m.min_text >= 9.9);
}
