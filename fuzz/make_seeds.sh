#!/bin/sh
# Writes the fuzz corpus seeds of tabular, collab and text models (fuzz/corpus/*.fcm): tiny models
# trained for one epoch on generated data by the fastc command, so that the fuzzer starts from
# valid files of every application. Usage: fuzz/make_seeds.sh [path/to/fastc] (default build/fastc).
set -eu
FASTC=${1:-build/fastc}
OUT=$(dirname "$0")/corpus
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# tabular: a category, an integer category, a continuous column with missing values, a class target
{
  echo "colour,size,x,y"
  for i in $(seq 1 60); do
    c=$(( i % 3 )); s=$(( i % 4 )); x=$(( (i * 37) % 100 ))
    [ $(( i % 7 )) -eq 0 ] && xv="" || xv="0.$x"
    [ $(( (x + c * 30) % 100 )) -gt 50 ] && y=hi || y=lo
    echo "c$c,$s,$xv,$y"
  done
} > "$TMP/tab.csv"
"$FASTC" train tabular "$TMP/tab.csv" --y y --cat colour,size --cont x --layers 4 --bs 16 -q -o "$OUT/tabular_tiny.fcm"

# collab: 12 users x 8 items
{
  echo "user,item,rating"
  for i in $(seq 1 80); do echo "u$(( i % 12 )),$(( (i * 5) % 8 )),$(( 1 + (i * 3) % 5 ))"; done
} > "$TMP/ratings.csv"
"$FASTC" train collab "$TMP/ratings.csv" --factors 2 --bs 16 -q -o "$OUT/collab_dot_tiny.fcm"
"$FASTC" train collab "$TMP/ratings.csv" --factors 2 --nn --bs 16 -q -o "$OUT/collab_nn_tiny.fcm"

# text: a classifier and a language model with a vocabulary of a few words
{
  echo "text,label"
  for i in $(seq 1 40); do
    if [ $(( i % 2 )) -eq 0 ]; then echo "\"the cat sat on the mat $i\",pos"; else echo "\"a dog ran to THE house $i\",neg"; fi
  done
} > "$TMP/texts.csv"
"$FASTC" train text "$TMP/texts.csv" --emb-sz 4 --n-hid 4 --n-layers 1 --seq-len 8 --bs 8 --min-freq 2 -q \
  -o "$OUT/text_clas_tiny.fcm"
"$FASTC" train text "$TMP/texts.csv" --lm --emb-sz 4 --n-hid 4 --n-layers 1 --seq-len 8 --bs 4 --min-freq 2 -q \
  -o "$OUT/text_lm_tiny.fcm"
ls -l "$OUT"
