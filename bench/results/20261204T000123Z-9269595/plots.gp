
set terminal pngcairo size 900,500 font ',10' noenhanced
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.6 border -1
set grid ytics
set key top right
set output 'throughput.png'
set title "Throughput protected / plain (median, min..max)\n9269595, 6.1.0-57-amd64 tcg"
set ylabel 'ratio'
set yrange [0:*]
plot 'throughput.dat' using 2:3:4:xtic(1) title 'protected / plain'
set output 'pairs.png'
set title "Frame pairs released per second (median, min..max)\n9269595, 6.1.0-57-amd64 tcg"
set ylabel 'pairs/s'
set logscale y
set yrange [*:*]
plot 'pairs.dat' using 2:3:4:xtic(1) title 'QEMU colo-compare (guest)', \
     '' using 5:6:7 title 'xt_COLO', '' using 8:9:10 title 'plain forwarding'
unset logscale y
set output 'cpu.png'
set title "CPU per pair, us (median, min..max)\n9269595, 6.1.0-57-amd64 tcg"
set ylabel 'us per pair'
set yrange [0:*]
plot 'cpu.dat' using 2:3:4:xtic(1) title 'QEMU colo-compare process', \
     '' using 5:6:7 title 'machine, QEMU colo-compare + feeder', \
     '' using 8:9:10 title 'machine, xt_COLO + feeder', \
     '' using 11:12:13 title 'machine, plain forwarding + feeder'
set output 'latency.png'
set title "UDP ping-pong round trip, us (median, min..max)\n9269595, 6.1.0-57-amd64 tcg"
set ylabel 'us'
set logscale y
set yrange [*:*]
plot 'latency.dat' using 2:3:4:xtic(1) title 'protected', '' using 5:6:7 title 'plain'
