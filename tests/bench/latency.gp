# Per-container `run` latency distributions (CDF) of nyx, crun and runc, from the samples
# scripts/bench.sh collects (one µs value a line). Usage: gnuplot -e "outdir='DIR'" latency.gp
set terminal pngcairo size 800,450 font ",10" noenhanced
set output outdir."/latency.png"
set title "run /bin/true: per-container latency (back-to-back, this machine)"
set xlabel "ms per container (log scale)"
set ylabel "fraction of containers"
set logscale x
set grid
set key bottom right
set yrange [0:1]
cdf(f) = sprintf("< sort -n %s/samples.%s | awk '{a[NR]=$1} END {for (i=1;i<=NR;i++) print a[i]/1000, i/NR}'", outdir, f)
plot cdf("nyx") using 1:2 with lines lw 2 title "nyx-runtime", \
     cdf("crun") using 1:2 with lines lw 2 title "crun 1.8.1", \
     cdf("runc") using 1:2 with lines lw 2 title "runc 1.1.5"
