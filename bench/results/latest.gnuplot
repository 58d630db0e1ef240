set terminal png size 1200,500 font ",10"
set output "/work/main/bench/results/latest.png"
set multiplot layout 1,2 title "Reka gateway beside direct calls and nginx (2026-11-21 06:55 UTC)"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.8
set grid ytics
set xtics rotate by -30
set yrange [0:*]
set title "Throughput (requests/s, higher is better)"
plot "/work/main/bench/results/throughput.dat" using 2:xtic(1) notitle linecolor rgb "#3b7dd8"
set style histogram clustered gap 1
set title "Latency (ms, lower is better)"
set logscale y
set yrange [0.1:*]
plot "/work/main/bench/results/latency.dat" using 2:xtic(1) title "p50" linecolor rgb "#7fb77e", "" using 3 title "p99" linecolor rgb "#d8743b"
unset multiplot
