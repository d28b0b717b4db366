
set terminal pngcairo size 900,500 font ',10' noenhanced
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.6 border -1
set grid ytics
set key top right
