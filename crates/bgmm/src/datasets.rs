//! Data sets embedded in the library.

/// Fisher's iris data as CSV text: header `sepal_length,sepal_width,petal_length,petal_width,species`
/// and 150 rows.
pub const IRIS_CSV: &str = include_str!("../data/iris.csv");

/// Old Faithful geyser eruptions (R's `datasets::faithful`, Azzalini and Bowman 1990): header
/// `eruptions,waiting` (eruption time and waiting time to the next, in minutes), 272 rows.
pub const FAITHFUL_CSV: &str = include_str!("../data/faithful.csv");

/// Palmer penguins (Gorman, Williams and Fraser 2014; the `palmerpenguins` package, CC0), the
/// 342 birds with every measurement: header
/// `bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,species`.
pub const PENGUINS_CSV: &str = include_str!("../data/penguins.csv");

/// The UCI wine recognition data (Forina et al.; as scikit-learn's `load_wine`): 13 chemical
/// measurements of 178 wines and their `cultivar` (`class_0`, `class_1`, `class_2`).
pub const WINE_CSV: &str = include_str!("../data/wine.csv");

/// The embedded CSV data sets by name: `iris`, `faithful`, `penguins`, `wine`.
pub fn csv(name: &str) -> Option<&'static str> {
    match name {
        "iris" => Some(IRIS_CSV),
        "faithful" => Some(FAITHFUL_CSV),
        "penguins" => Some(PENGUINS_CSV),
        "wine" => Some(WINE_CSV),
        _ => None,
    }
}

/// The five points of Pyro's GMM tutorial.
pub const TUTORIAL: [f64; 5] = [0.0, 1.0, 10.0, 11.0, 12.0];

/// Names of iris's four numeric columns.
pub const IRIS_COLUMNS: [&str; 4] = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

/// One numeric iris column by name (`petal_length`, …), 150 values; `None` for another name.
pub fn iris_column(name: &str) -> Option<Vec<f64>> {
    let j = IRIS_COLUMNS.iter().position(|c| *c == name)?;
    Some(
        IRIS_CSV
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                l.split(',')
                    .nth(j)
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(f64::NAN)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn iris_petal_length() {
        let v = super::iris_column("petal_length").unwrap();
        assert_eq!(v.len(), 150);
        assert!((v.iter().sum::<f64>() - 563.7).abs() < 1e-9);
        assert!(super::iris_column("species").is_none());
    }

    #[test]
    fn embedded_tables_have_their_rows() {
        // rows and columns, and a checksum of the first numeric column
        for (name, rows, cols, sum0) in [
            ("faithful", 272, 2, 948.677),
            ("penguins", 342, 5, 15021.3),
            ("wine", 178, 14, 2314.11),
        ] {
            let text = super::csv(name).unwrap();
            let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
            assert_eq!(lines.len(), rows + 1, "{name}");
            assert!(lines.iter().all(|l| l.split(',').count() == cols), "{name}");
            let s: f64 = lines[1..]
                .iter()
                .map(|l| l.split(',').next().unwrap().parse::<f64>().unwrap())
                .sum();
            assert!((s - sum0).abs() < 1e-6, "{name}: {s}");
        }
    }
}
