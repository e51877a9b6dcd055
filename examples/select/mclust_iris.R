# mclust's BIC table on iris (4 columns), K = 1..9, the six structures bgmm shares with it,
# negated to bgmm's sign (lower is better): compare with `bgmm select builtin:iris`.
# Usage: Rscript mclust_iris.R   (Debian: apt-get install r-cran-mclust)
suppressMessages(library(mclust))
b <- mclustBIC(iris[, 1:4], G = 1:9)
print(summary(b))
print(round(-b[, c("EII", "VII", "EEI", "VVI", "EEE", "VVV")], 2))
