set terminal pngcairo size 1320,560 font 'DejaVu Sans,10' noenhanced
set output "/work/main/bench/results/timers.png"
set datafile missing '?'
set style data histogram
set style histogram errorbars gap 1.5 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left horizontal
set grid ytics mytics lc rgb '#dddddd'
set bars front
set xtics nomirror
set ytics nomirror
set tmargin 6.5
set multiplot layout 1,2 title "100,000 x receive after 10 ms (lower is better)
2 cores, Intel(R) Xeon(R) Processor  |  Erlang OTP 25/erts-13.1.5, Go 1.19.8, CAF 0.17.6, g++ 12.2.0, coproc 2f78dbc-dirty  |  2026-11-28"
set size 0.6667,0.86
set origin 0.0000,0.0
set ylabel "lateness (us) (log scale)"
set logscale y
set yrange [100:10000000]
set format y '%.0s%c'
plot "/work/main/bench/results/timers.0.dat" using 2:3:4:xtic(1) title "coproc" lc rgb '#d62728', \
     "/work/main/bench/results/timers.0.dat" using 5:6:7 title "Erlang/OTP" lc rgb '#9467bd', \
     "/work/main/bench/results/timers.0.dat" using 8:9:10 title "Go" lc rgb '#17becf', \
     "/work/main/bench/results/timers.0.dat" using 11:12:13 title "CAF" lc rgb '#ff7f0e', \
     "/work/main/bench/results/timers.0.labels" using 1:2:3 with labels offset 0,0.7 font ',8' notitle
unset key
set size 0.3333,0.86
set origin 0.6667,0.0
set ylabel "wall time (ms)"
unset logscale y
set yrange [0:922.79422]
set format y '%g'
plot "/work/main/bench/results/timers.1.dat" using 2:3:4:xtic(1) title "coproc" lc rgb '#d62728', \
     "/work/main/bench/results/timers.1.dat" using 5:6:7 title "Erlang/OTP" lc rgb '#9467bd', \
     "/work/main/bench/results/timers.1.dat" using 8:9:10 title "Go" lc rgb '#17becf', \
     "/work/main/bench/results/timers.1.dat" using 11:12:13 title "CAF" lc rgb '#ff7f0e', \
     "/work/main/bench/results/timers.1.labels" using 1:2:3 with labels offset 0,0.7 font ',8' notitle
unset multiplot
