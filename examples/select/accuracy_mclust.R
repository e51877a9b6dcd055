# One data set for accuracy.py: mclust by BIC over K = 1..7 and the six families bgmm has.
# usage: Rscript accuracy_mclust.R DATA.csv OUT.json (R packages mclust and jsonlite)
suppressPackageStartupMessages({library(mclust); library(jsonlite)})
a <- commandArgs(TRUE)
X <- as.matrix(read.csv(a[1]))
t0 <- proc.time()[["elapsed"]]
m <- Mclust(X, G = 1:7, modelNames = c("EII","VII","EEI","VVI","EEE","VVV"), verbose = FALSE)
secs <- proc.time()[["elapsed"]] - t0
B <- m$BIC
bic <- list()
for (g in rownames(B)) for (mn in colnames(B)) {
  v <- B[g, mn]; bic[[paste0(g, "_", mn)]] <- if (is.na(v)) NULL else unname(v)
}
out <- list(G = m$G, modelName = m$modelName, bic = m$bic, loglik = m$loglik, secs = secs, bic_table = bic)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null"), a[2])
