//! Data sets embedded in the library.

/// Fisher's iris data as CSV text: header `sepal_length,sepal_width,petal_length,petal_width,species`
/// and 150 rows.
pub const IRIS_CSV: &str = include_str!("../data/iris.csv");

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
}
